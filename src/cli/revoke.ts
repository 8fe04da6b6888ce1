// `jit revoke <database>/<request-id> --reason TEXT`: emergency revoke of one active grant, with
// the same engine and the same applier (usecases/apply-action.ts) the sweeper uses (REVOKE the app's grant, end sessions, verify, record). Revoking
// only ever reduces privilege, so it needs no approval; the reason and the caller are recorded.
// Exit 0 revoked (or already closed), 1 not found or not verified, 2 usage or configuration error.
import { operatorRevokeAction } from "../core/action.ts";
import { GrantEngine } from "../db/grantor.ts";
import { applyAction } from "../usecases/apply-action.ts";
import { findByRequest } from "../db/ledger.ts";
import { Targets } from "../db/targets.ts";
import { DATABASE_KEY_PATTERN, REQUEST_ID_PATTERN } from "../core/request-path.ts";
import { localUser } from "./actor.ts";
import { parseCommand } from "./args.ts";
import type { CliIo } from "./io.ts";
import { loadPoliciesForCli } from "./load-policies.ts";
import { enqueueEndedComment } from "../scheduler/ended-job.ts";
import { openStateForCli } from "./state-access.ts";

const USAGE = `usage: jit revoke <database>/<request-id> --reason TEXT [--repository OWNER/NAME] [--repo DIR]

Revokes an active grant now: REVOKE, end the user's sessions, verify, record who and why, and
queue the revert pull request that deletes the request file (the app's outbox opens it).
  --reason TEXT            why (recorded in the ledger and events; required)
  --repository OWNER/NAME  which access repository, when several use the same state database
  --repo DIR               checkout holding policies/ (default: current directory)
Exit status: 0 revoked or already closed, 1 not found or not verified, 2 usage or configuration error.`;

/** The command prints what happened itself; the applier logs nothing more. */
const silent = { info: () => {}, warn: () => {}, error: () => {} };

const REVOKE_TARGET = new RegExp(`^(${DATABASE_KEY_PATTERN.source.slice(1, -1)})/(${REQUEST_ID_PATTERN.source.slice(1, -1)})$`);

export async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parseCommand(argv, io, {
    command: "revoke", usage: USAGE, positionals: true,
    options: { reason: { type: "string" }, repository: { type: "string" }, repo: { type: "string" } },
  });
  if (typeof args === "number") return args;
  const { values, positionals } = args;
  const target = positionals.length === 1 ? REVOKE_TARGET.exec(positionals[0]!) : null;
  const reason = values.reason?.trim();
  if (!target) return args.usageError("give exactly one <database>/<request-id>");
  if (!reason || reason.length > 500) return args.usageError("--reason TEXT (at most 500 characters) is required");
  const [, database, requestId] = target as unknown as [string, string, string];

  const policy = await loadPoliciesForCli(io, "revoke", values.repo ?? io.cwd);
  if (policy === 2) return 2;
  const state = await openStateForCli(io, "revoke");
  if (state === 2) return 2;
  const targets = new Targets(policy, io.env, 1);
  try {
    const rows = (await findByRequest(state.pool, database, requestId)).filter((r) => !values.repository || r.repository === values.repository);
    if (!rows.length) {
      io.err(`jit revoke: JIT_GRANT_NOT_FOUND: no grant recorded for ${database}/${requestId}`);
      return 1;
    }
    if (rows.length > 1) {
      io.err(`jit revoke: ${database}/${requestId} exists in several repositories (${rows.map((r) => r.repository).join(", ")}); pass --repository`);
      return 2;
    }
    const row = rows[0]!;
    const actor = `cli:${localUser(io)}`;
    const engine = new GrantEngine(state.pool, targets, policy);
    const action = operatorRevokeAction({ repository: row.repository, database, requestId }, reason, actor, policy);
    const { revoke: d } = await applyAction({ state: state.pool, log: silent, engine: () => engine, now: () => Date.now() }, action);
    if (!d) throw new Error("a revoke without the engine's answer");
    if (!d.ok) {
      io.err(`jit revoke: ${d.code}: ${d.message}`);
      return d.code === "JIT_CONFIG_MISSING_ENV" || d.code === "JIT_DATABASE_UNKNOWN" ? 2 : 1;
    }
    io.out(`${database}/${requestId}: ${d.message}`);
    // The request PR hears of it (its author mentioned) when the app's outbox runs next.
    if (!d.details.alreadyClosed) await enqueueEndedComment(state.pool, { repository: row.repository, database, requestId });
    for (const s of d.details.applied?.sql ?? []) io.out(`  ${s.text}${s.params.length ? `  -- $1 = ${s.params.join(", ")}` : ""}`);
    return 0;
  } finally {
    await targets.close();
    await state.close();
  }
}
