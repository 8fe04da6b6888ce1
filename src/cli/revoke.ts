// `jit revoke <database>/<request-id> --reason TEXT`: emergency revoke of one active grant, with
// the same engine the sweeper uses (REVOKE the app's grant, end sessions, verify, record). Revoking
// only ever reduces privilege, so it needs no approval; the reason and the caller are recorded.
// Exit 0 revoked (or already closed), 1 not found or not verified, 2 usage or configuration error.
import { userInfo } from "node:os";
import { parseArgs } from "node:util";
import { GrantEngine } from "../db/grantor.ts";
import { findByRequest } from "../db/ledger.ts";
import { Targets } from "../db/targets.ts";
import { DATABASE_KEY_PATTERN, REQUEST_ID_PATTERN } from "../core/request-path.ts";
import { loadPolicies } from "../policy-loader.ts";
import type { CliIo } from "./io.ts";
import { openStateForCli } from "./state-access.ts";

const USAGE = `usage: jit revoke <database>/<request-id> --reason TEXT [--repository OWNER/NAME] [--repo DIR]

Revokes an active grant now: REVOKE, end the user's sessions, verify, record who and why.
  --reason TEXT            why (recorded in the ledger and events; required)
  --repository OWNER/NAME  which access repository, when several use the same state database
  --repo DIR               checkout holding policies/ (default: current directory)
Exit status: 0 revoked or already closed, 1 not found or not verified, 2 usage or configuration error.`;

const REVOKE_TARGET = new RegExp(`^(${DATABASE_KEY_PATTERN.source.slice(1, -1)})/(${REQUEST_ID_PATTERN.source.slice(1, -1)})$`);

export async function run(argv: string[], io: CliIo): Promise<number> {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: { reason: { type: "string" }, repository: { type: "string" }, repo: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    }));
  } catch (e) {
    io.err(`jit revoke: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const target = positionals.length === 1 ? REVOKE_TARGET.exec(positionals[0]!) : null;
  const reason = values.reason?.trim();
  if (!target || !reason || reason.length > 500) {
    io.err(`jit revoke: ${!target ? "give exactly one <database>/<request-id>" : "--reason TEXT (at most 500 characters) is required"}\n${USAGE}`);
    return 2;
  }
  const [, database, requestId] = target as unknown as [string, string, string];

  const loaded = await loadPolicies(values.repo ?? io.cwd);
  if (!loaded.ok || !loaded.details) {
    for (const p of loaded.problems) io.err(`jit revoke: ${p.path ? `${p.path}: ` : ""}${p.code}: ${p.message}`);
    return 2;
  }
  let state;
  try {
    state = await openStateForCli(io, "revoke");
  } catch (e) {
    io.err(`jit revoke: JIT_DB_UNREACHABLE: ${(e as Error).message}`);
    return 2;
  }
  const targets = new Targets(loaded.details, io.env, 1);
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
    const actor = `cli:${io.env.USER || io.env.LOGNAME || userInfo().username}`;
    const engine = new GrantEngine(state.pool, targets, loaded.details);
    const d = await engine.revoke({ repository: row.repository, database, requestId }, { reason, actor });
    if (!d.ok) {
      io.err(`jit revoke: ${d.code}: ${d.message}`);
      return d.code === "JIT_CONFIG_MISSING_ENV" || d.code === "JIT_DATABASE_UNKNOWN" ? 2 : 1;
    }
    io.out(`${database}/${requestId}: ${d.message}`);
    for (const s of d.details.applied?.sql ?? []) io.out(`  ${s.text}${s.params.length ? `  -- $1 = ${s.params.join(", ")}` : ""}`);
    return 0;
  } finally {
    await targets.close();
    await state.close();
  }
}
