// `jit reconcile`: the database is ground truth (I8). Memberships the app's role granted without an
// active ledger row are revoked (sessions ended) and reported as JIT_DRIFT_ORPHAN_GRANT; members of
// grantable roles granted by anyone else are reported as standing access unless the policy lists
// them under standing_access (never touched: I7); active ledger rows whose membership is gone are
// listed too. The app runs the same reconciliation on every scheduled sweep.
// Exit 0: no drift; 1: drift or standing access found, or a target could not be checked; 2: usage.
import type { OrphanReport, ReconcileReport } from "../db/grantor.ts";
import { commandActor } from "./actor.ts";
import { parseCommand } from "./args.ts";
import type { CliIo } from "./io.ts";
import { openSweepSetup } from "./sweep-setup.ts";

const USAGE = `usage: jit reconcile [--repo DIR] [--format text|json]
       jit reconcile --merges [--format text|json]

Compares app-granted memberships on every configured target with the ledger: revokes orphans,
reports standing access to grantable roles that the policies do not list.
  --repo DIR      checkout holding policies/ (default: current directory)
  --format FMT    text (default) or json
  --merges        instead: find merged request PRs whose webhook was lost and grant them through the
                  merge path (needs APP_ID and PRIVATE_KEY too; exit 1 when one could not be handled)
Needs DATABASE_URL (the app's state database) and the connection variables the policies name.
Exit status: 0 no drift, 1 drift or standing access found (or a target unreachable), 2 usage or configuration error.`;

/** One orphan and what became of it; `jit expire` reports the ones its sweep found the same way. */
export function orphanLine(o: OrphanReport): string {
  return `JIT_DRIFT_ORPHAN_GRANT ${o.database}: "${o.role}" held by "${o.member}" through the app without an active grant: ${o.revoked ? `revoked, ${o.sessionsEnded} session(s) ended` : `NOT revoked: ${o.error}`}`;
}

export function renderReconcile(r: ReconcileReport): string[] {
  const lines = r.orphans.map(orphanLine);
  for (const s of r.standing) lines.push(`JIT_STANDING_ACCESS ${s.database}: "${s.member}" holds "${s.role}" (granted by ${s.grantor}) outside the app; list it under standing_access or revoke it`);
  for (const id of r.missing) lines.push(`ledger row ${id} is active but its membership is gone (revoked outside the app, or the user was dropped); the sweep closes it at expiry`);
  for (const id of r.abandonedIntents) lines.push(`ledger row ${id}: an interrupted grant that never reached GRANT, closed as failed`);
  for (const p of r.problems) lines.push(`${p.code}: ${p.message}`);
  if (lines.length === 0) lines.push("no drift: every app-granted membership has an active ledger row, and no unlisted standing access");
  return lines;
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parseCommand(argv, io, { command: "reconcile", usage: USAGE, options: { repo: { type: "string" }, merges: { type: "boolean" } }, formats: ["text", "json"] });
  if (typeof args === "number") return args;
  if (args.values.merges) return (await import("./reconcile-merges.ts")).runMerges(io, args.format);
  const { repo } = args.values;
  const setup = await openSweepSetup(io, "reconcile", repo ? { repo } : {});
  if (typeof setup === "number") return setup;
  try {
    const report = await setup.engines.engine(setup.policy).reconcile(commandActor(io, "reconcile"));
    if (args.format === "json") io.out(JSON.stringify(report, null, 2));
    else for (const l of renderReconcile(report)) io.out(l);
    const found = report.orphans.length + report.standing.length + report.missing.length + report.problems.length;
    return found > 0 ? 1 : 0;
  } finally {
    await setup.close();
  }
}
