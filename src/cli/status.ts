// `jit status [--format text|json]`: active grants with their expiry, by the database clock.
import { listActive } from "../db/ledger.ts";
import { recentPendingClosed } from "../db/pending-ttl.ts";
import { listScheduled } from "../db/scheduled.ts";
import { listOpenBreakGlass } from "../db/break-glass.ts";
import { parseCommand } from "./args.ts";
import type { CliIo } from "./io.ts";
import { openStateForCli } from "./state-access.ts";

const USAGE = `usage: jit status [--format text|json]

Lists active grants from the ledger (DATABASE_URL, or the embedded database under ./.data), and
the request pull requests the app closed in the last 7 days because they were open longer than
their pending_ttl; then scheduled grants not started yet and break-glass grants awaiting
retro-approval.
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
    const scheduled = await listScheduled(state.pool);
    const breakGlass = await listOpenBreakGlass(state.pool);
    if (args.format === "json") {
      io.out(JSON.stringify({
        pendingClosed: pending.map((p) => ({ at: p.at.toISOString(), repository: p.repository, prNumber: p.prNumber, database: p.database, requestId: p.requestId, pendingTtlMs: p.ttlMs })),
        grants: grants.map((g) => ({
          repository: g.repository, path: g.path, database: g.database, requestId: g.requestId, role: g.role, dbUser: g.dbUser,
          prNumber: g.prNumber, approvers: g.approvers, grantedAt: g.grantedAt?.toISOString() ?? null,
          expiresAt: g.expiresAt?.toISOString() ?? null, remainingMs: g.remainingMs,
        })),
        scheduled: scheduled.map((g) => ({
          repository: g.repository, path: g.path, database: g.database, requestId: g.requestId, role: g.role, dbUser: g.dbUser,
          prNumber: g.prNumber, approvers: g.approvers, startsAt: g.startsAt.toISOString(),
          expiresAt: new Date(g.startsAt.getTime() + g.durationMs).toISOString(), startsInMs: g.startsInMs,
        })),
        breakGlass: breakGlass.map((b) => ({
          repository: b.repository, database: b.database, requestId: b.requestId, prNumber: b.prNumber, requester: b.requester,
          dbUser: b.dbUser, retroApprovalDeadline: b.deadline.toISOString(),
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
    if (args.format !== "json" && scheduled.length) {
      const rows = scheduled.map((g) => [`${g.database}/${g.requestId}`, g.role, g.dbUser, g.startsAt.toISOString(),
        new Date(g.startsAt.getTime() + g.durationMs).toISOString(), g.startsInMs <= 0 ? "due" : `in ${remaining(g.startsInMs)}`]);
      const head = ["SCHEDULED", "ROLE", "USER", "STARTS (UTC)", "EXPIRES (UTC)", "STARTS"];
      const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      io.out("");
      for (const r of [head, ...rows]) io.out(r.map((c, i) => c.padEnd(width[i]!)).join("  ").trimEnd());
    }
    if (args.format !== "json" && breakGlass.length) {
      const rows = breakGlass.map((b) => [`${b.database}/${b.requestId}`, `#${b.prNumber}`, b.requester, b.dbUser, b.deadline.toISOString()]);
      const head = ["BREAK-GLASS", "PR", "REQUESTER", "USER", "APPROVE BY (UTC)"];
      const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      io.out("");
      for (const r of [head, ...rows]) io.out(r.map((c, i) => c.padEnd(width[i]!)).join("  ").trimEnd());
    }
    return 0;
  } finally {
    await state.close();
  }
}
