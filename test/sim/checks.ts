// Check suites and check runs of the (single) simulated app, with the webhooks GitHub sends:
// check_suite.requested on every push, check_run.created / completed when the app writes runs.
import type { SimContext } from "./context.ts";
import { checkRunPayload, checkSuitePayload } from "./payloads.ts";
import { pullMinimalShape } from "./shapes.ts";
import { isPull, type Annotation, type CheckRun, type CheckSuite, type Repo } from "./state.ts";
import { HttpError } from "./world.ts";

type J = Record<string, unknown>;

/** Open PRs whose head is `sha` (GitHub's `pull_requests` on checks). */
export async function pullsForSha(ctx: SimContext, repo: Repo, sha: string): Promise<J[]> {
  const out: J[] = [];
  for (const i of repo.issues.values()) {
    if (!isPull(i) || i.state !== "open" || i.pull.headSha !== sha) continue;
    const base = (await repo.git.resolveCommit(i.pull.baseRef)) ?? sha;
    out.push(pullMinimalShape(ctx.w, repo, i, base));
  }
  return out;
}

function suiteFor(ctx: SimContext, repo: Repo, headSha: string, headBranch: string | null, before: string | null): { suite: CheckSuite; created: boolean } {
  for (const s of repo.checkSuites.values()) if (s.headSha === headSha) return { suite: s, created: false };
  const id = ctx.w.ids.next("check_suite", 700_000);
  const now = ctx.w.now();
  const suite: CheckSuite = { id, nodeId: ctx.w.ids.nodeId("CS_", id), headSha, headBranch, before, after: headSha, createdAt: now, updatedAt: now };
  repo.checkSuites.set(id, suite);
  return { suite, created: true };
}

const runsOf = (repo: Repo, suiteId: number) => [...repo.checkRuns.values()].filter((r) => r.suiteId === suiteId);

export async function requestCheckSuite(ctx: SimContext, repo: Repo, headSha: string, headBranch: string, before: string | null, sender: string, action: "requested" | "rerequested" = "requested"): Promise<CheckSuite> {
  const { suite, created } = suiteFor(ctx, repo, headSha, headBranch, before);
  if ((created || action === "rerequested") && ctx.w.installationFor(repo.owner)) {
    const head = await repo.git.readCommit(headSha);
    ctx.hooks.emit("check_suite", checkSuitePayload(ctx.w, repo, suite, runsOf(repo, suite.id), await pullsForSha(ctx, repo, headSha), head, action, sender));
  }
  return suite;
}

async function emitRun(ctx: SimContext, repo: Repo, run: CheckRun, action: string, sender: string): Promise<void> {
  if (!ctx.w.installationFor(repo.owner)) return;
  const suite = repo.checkSuites.get(run.suiteId)!;
  ctx.hooks.emit("check_run", checkRunPayload(ctx.w, repo, run, suite, runsOf(repo, suite.id), await pullsForSha(ctx, repo, run.headSha), action, sender));
}

export interface CheckRunInput {
  name?: string;
  head_sha?: string;
  details_url?: string;
  external_id?: string;
  status?: CheckRun["status"];
  started_at?: string;
  conclusion?: string;
  completed_at?: string;
  output?: { title?: string; summary?: string; text?: string; annotations?: Annotation[] };
}

function applyInput(ctx: SimContext, run: CheckRun, input: CheckRunInput): void {
  if (input.name !== undefined) run.name = input.name;
  if (input.details_url !== undefined) run.detailsUrl = input.details_url;
  if (input.external_id !== undefined) run.externalId = input.external_id;
  if (input.started_at !== undefined) run.startedAt = new Date(input.started_at);
  if (input.status !== undefined) run.status = input.status;
  if (input.conclusion !== undefined) {
    run.conclusion = input.conclusion;
    run.status = "completed";
  }
  if (run.status === "completed") {
    if (!run.conclusion) throw new HttpError(422, "Invalid request.\n\n\"conclusion\" wasn't supplied.");
    run.completedAt = input.completed_at ? new Date(input.completed_at) : run.completedAt ?? ctx.w.now();
  }
  if (input.output) {
    if (input.output.annotations && input.output.annotations.length > 50) throw new HttpError(422, "Invalid request.\n\nOnly 50 annotations are allowed per request.");
    run.output = {
      title: input.output.title ?? run.output.title,
      summary: input.output.summary ?? run.output.summary,
      text: input.output.text ?? run.output.text,
    };
    for (const a of input.output.annotations ?? []) {
      run.annotations.push({
        path: a.path, start_line: a.start_line, end_line: a.end_line, start_column: a.start_column ?? null, end_column: a.end_column ?? null,
        annotation_level: a.annotation_level, title: a.title ?? null, message: a.message, raw_details: a.raw_details ?? null,
      });
    }
  }
}

export async function createCheckRun(ctx: SimContext, repo: Repo, input: CheckRunInput, sender: string): Promise<CheckRun> {
  const headSha = input.head_sha ?? "";
  const commit = await repo.git.resolveCommit(headSha);
  if (!commit || commit !== headSha) throw new HttpError(422, `No commit found for SHA: ${headSha}`);
  const { suite } = suiteFor(ctx, repo, headSha, null, null);
  const id = ctx.w.ids.next("check_run", 9_000_000);
  const run: CheckRun = {
    id, nodeId: ctx.w.ids.nodeId("CR_", id), suiteId: suite.id, headSha, name: input.name ?? "", status: "queued", conclusion: null,
    startedAt: ctx.w.now(), completedAt: null, detailsUrl: `${ctx.w.baseUrl}/apps/${ctx.w.app.slug}/home`, externalId: "", output: { title: null, summary: null, text: null }, annotations: [],
  };
  applyInput(ctx, run, input);
  repo.checkRuns.set(id, run);
  suite.updatedAt = ctx.w.now();
  await emitRun(ctx, repo, run, "created", sender);
  if (run.status === "completed") await emitRun(ctx, repo, run, "completed", sender);
  return run;
}

export async function updateCheckRun(ctx: SimContext, repo: Repo, run: CheckRun, input: CheckRunInput, sender: string): Promise<CheckRun> {
  const wasCompleted = run.status === "completed";
  applyInput(ctx, run, input);
  repo.checkSuites.get(run.suiteId)!.updatedAt = ctx.w.now();
  if (!wasCompleted && run.status === "completed") await emitRun(ctx, repo, run, "completed", sender);
  return run;
}

/** A person presses "Re-run" on a check run. */
export async function rerequestCheckRun(ctx: SimContext, repo: Repo, run: CheckRun, sender: string): Promise<void> {
  await emitRun(ctx, repo, run, "rerequested", sender);
}
