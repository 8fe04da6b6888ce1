// `jit status [--format text|json]`: active grants with their expiry, by the database clock.
import { parseArgs } from "node:util";
import { listActive } from "../db/ledger.ts";
import type { CliIo } from "./io.ts";
import { openStateForCli } from "./state-access.ts";

const USAGE = `usage: jit status [--format text|json]

Lists active grants from the ledger (DATABASE_URL, or the embedded database under ./.data).
Exit status: 0 listed, 2 usage error or the state database cannot be reached.`;

function remaining(ms: number): string {
  if (ms <= 0) return "overdue";
  const m = Math.ceil(ms / 60_000);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m` : `${m}m`;
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { format: { type: "string", default: "text" }, help: { type: "boolean", short: "h" } }, strict: true }));
  } catch (e) {
    io.err(`jit status: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (values.format !== "text" && values.format !== "json") {
    io.err(`jit status: --format must be text or json\n${USAGE}`);
    return 2;
  }
  let state;
  try {
    state = await openStateForCli(io, "status");
  } catch (e) {
    io.err(`jit status: JIT_DB_UNREACHABLE: ${(e as Error).message}`);
    return 2;
  }
  try {
    const grants = await listActive(state.pool);
    if (values.format === "json") {
      io.out(JSON.stringify({
        grants: grants.map((g) => ({
          repository: g.repository, path: g.path, database: g.database, requestId: g.requestId, role: g.role, dbUser: g.dbUser,
          prNumber: g.prNumber, approvers: g.approvers, grantedAt: g.grantedAt?.toISOString() ?? null,
          expiresAt: g.expiresAt?.toISOString() ?? null, remainingMs: g.remainingMs,
        })),
      }, null, 2));
    } else if (!grants.length) {
      io.out("no active grants");
    } else {
      const rows = grants.map((g) => [`${g.database}/${g.requestId}`, g.role, g.dbUser, g.expiresAt?.toISOString() ?? "", remaining(g.remainingMs)]);
      const head = ["REQUEST", "ROLE", "USER", "EXPIRES (UTC)", "LEFT"];
      const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      for (const r of [head, ...rows]) io.out(r.map((c, i) => c.padEnd(width[i]!)).join("  ").trimEnd());
    }
    return 0;
  } finally {
    await state.close();
  }
}
