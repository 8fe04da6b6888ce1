// `jit status [--format text|json]`: active grants with their expiry, by the database clock.
import { listActive } from "../db/ledger.ts";
import { recentPendingClosed } from "../db/pending-ttl.ts";
import { parseCommand } from "./args.ts";
import type { CliIo } from "./io.ts";
import { openStateForCli } from "./state-access.ts";

const USAGE = `usage: jit status [--format text|json]

Lists active grants from the ledger (DATABASE_URL, or the embedded database under ./.data), and
the request pull requests the app closed in the last 7 days because they were open longer than
their pending_ttl.
Exit status: 0 listed, 2 usage error or the state database cannot be reached.`;

function remaining(ms: number): string {
  if (ms <= 0) return "overdue";
  const m = Math.ceil(ms / 60_000);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m` : `${m}m`;
}

const PENDING_WINDOW_MS = 7 * 86_400_000;

export async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parseCommand(argv, io, { command: "status", usage: USAGE, options: {}, formats: ["text", "json"] });
  if (typeof args === "number") return args;
  const state = await openStateForCli(io, "status");
  if (state === 2) return 2;
  try {
    const grants = await listActive(state.pool);
    const pending = await recentPendingClosed(state.pool, PENDING_WINDOW_MS);
    if (args.format === "json") {
      io.out(JSON.stringify({
        pendingClosed: pending.map((p) => ({ at: p.at.toISOString(), repository: p.repository, prNumber: p.prNumber, database: p.database, requestId: p.requestId, pendingTtlMs: p.ttlMs })),
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
    if (args.format !== "json" && pending.length) {
      io.out("");
      io.out("closed after pending_ttl (last 7 days):");
      for (const p of pending) io.out(`  ${p.repository}#${p.prNumber}  ${p.database ?? "?"}/${p.requestId ?? "?"}  ${p.at.toISOString()}`);
    }
    return 0;
  } finally {
    await state.close();
  }
}
