// GitHub's GraphQL endpoint, as far as the app uses it: the `pinIssue` mutation (the dashboard issue).
// Every document is validated against GitHub's published GraphQL schema (@octokit/graphql-schema)
// and executed against that same schema, so a field or argument GitHub does not have fails here as
// it would there. Anything else valid but not simulated is answered with an error, never invented.
import { buildClientSchema, execute, parse, type GraphQLSchema } from "graphql";
import { schema as published, validate as validateQuery } from "@octokit/graphql-schema";
import type { Actor } from "./auth.ts";
import type { SimContext } from "./context.ts";
import { isPull, PERMISSION_RANK, type Issue, type Repo } from "./state.ts";

let schema: GraphQLSchema | null = null;
function githubSchema(): GraphQLSchema {
  schema ??= buildClientSchema(published.json as never);
  return schema;
}

/** Only these root fields are simulated; other valid documents get an honest error. */
const SIMULATED = new Set(["pinIssue"]);

export interface GraphqlAnswer { status: number; body: unknown }

class GraphqlError extends Error {
  readonly type: string;
  constructor(type: string, message: string) {
    super(message);
    this.type = type;
  }
}

function findIssue(ctx: SimContext, nodeId: string): { repo: Repo; issue: Issue } | null {
  for (const repo of ctx.w.repos.values()) {
    for (const issue of repo.issues.values()) if (issue.nodeId === nodeId && !isPull(issue)) return { repo, issue };
  }
  return null;
}

function mayWrite(ctx: SimContext, actor: Actor, repo: Repo): boolean {
  if (actor.kind === "installation") {
    const inst = ctx.w.installations.get(actor.installationId);
    return !!inst && inst.account.toLowerCase() === repo.owner.toLowerCase();
  }
  if (actor.kind === "user") return PERMISSION_RANK[ctx.w.permission(repo, actor.login)] >= PERMISSION_RANK.triage;
  return false;
}

/** POST /graphql with `{ query, variables }`, already authenticated. */
export async function answerGraphql(ctx: SimContext, actor: Actor, body: unknown): Promise<GraphqlAnswer> {
  const b = (body ?? {}) as { query?: unknown; variables?: unknown };
  if (typeof b.query !== "string") return { status: 400, body: { message: "A query attribute must be specified and must be a string." } };
  let invalid: readonly { message: string }[];
  try {
    invalid = validateQuery(b.query);
  } catch (e) {
    return { status: 200, body: { errors: [{ message: (e as Error).message }] } };
  }
  if (invalid.length) return { status: 200, body: { errors: invalid.map((e) => ({ message: e.message })) } };
  const document = parse(b.query);
  const fields = document.definitions.flatMap((d) => (d.kind === "OperationDefinition" ? d.selectionSet.selections : []))
    .flatMap((s) => (s.kind === "Field" ? [s.name.value] : []));
  const missing = fields.filter((f) => !SIMULATED.has(f));
  if (missing.length) return { status: 200, body: { errors: [{ message: `the simulator does not implement ${missing.join(", ")}` }] } };

  const rootValue = {
    pinIssue: (args: { input: { issueId: string } }) => {
      const found = findIssue(ctx, args.input.issueId);
      if (!found) throw new GraphqlError("NOT_FOUND", `Could not resolve to a node with the global id of '${args.input.issueId}'`);
      if (!mayWrite(ctx, actor, found.repo)) throw new GraphqlError("FORBIDDEN", "Resource not accessible by integration");
      found.issue.pinned = true;
      return { clientMutationId: null, issue: { number: found.issue.number, title: found.issue.title, id: found.issue.nodeId, isPinned: true } };
    },
  };
  const result = await execute({ schema: githubSchema(), document, rootValue, variableValues: (b.variables ?? {}) as Record<string, unknown> });
  const errors = result.errors?.map((e) => ({
    message: e.message, path: e.path, ...(e.originalError instanceof GraphqlError ? { type: e.originalError.type } : {}),
  }));
  return { status: 200, body: { data: result.data ?? null, ...(errors?.length ? { errors } : {}) } };
}
