// `jit expire`: one expiry sweep with the same code as the app's scheduler: everything past its
// expiry by the state database's clock is revoked (sessions ended, verified, recorded), drift is
// reconciled, and revert PRs are queued in the outbox. This command holds no GitHub credentials
// (the backstop workflow runs with `contents: read`), so the app opens those PRs when it drains the
// outbox. It needs no leader lock: row claims keep it apart from the app's sweeper.
// Exit 0: swept, nothing failed; 1: a revoke failed or drift was found; 2: usage or configuration.
import { NO_LEADER } from "../scheduler/leader.ts";
import { recordSweep, sweep, type SweepReport } from "../scheduler/sweep.ts";
import { commandActor } from "./actor.ts";
import { parseCommand } from "./args.ts";
import type { CliIo } from "./io.ts";
import { orphanLine } from "./reconcile.ts";
import { humanMs, openSweepSetup } from "./sweep-setup.ts";

const USAGE = `usage: jit expire [--repo DIR] [--repository OWNER/NAME] [--format text|json]

Revokes every grant past its expiry (by the state database's clock), ends the grantees' sessions,
verifies, reconciles app-granted memberships, and queues revert PRs for the app to open.
  --repo DIR                 checkout holding policies/ (default: current directory)
  --repository OWNER/NAME    only grants of this repository (default: $GITHUB_REPOSITORY, else all
                             grants whose database the local policies define)
  --format FMT               text (default) or json
Needs DATABASE_URL (the app's state database) and the connection variables the policies name.
Exit status: 0 nothing failed, 1 a revoke failed or drift was found, 2 usage or configuration error.`;

export function renderExpire(r: SweepReport): string[] {
  const lines = [
    `swept at ${r.startedAt} (database clock): ${r.claimed} due, ${r.revoked.length} revoked, ${r.alreadyClosed} already closed, ${r.failed.length} failed, ${r.revertsQueued} revert PR(s) queued`,
  ];
  for (const g of r.revoked) {
    lines.push(`  revoked ${g.database}/${g.requestId}: ${g.role} from ${g.dbUser}, expired ${g.expiresAt}, revoked ${g.revokedAt} (${humanMs(g.lagMs)} after expiry), ${g.sessionsEnded} session(s) ended${g.outcome === "revoked" ? "" : ` [${g.outcome}]`}`);
  }
  for (const f of r.failed) lines.push(`  FAILED ${f.database}/${f.requestId}: ${f.code}: ${f.message}`);
  if (r.lag) lines.push(`lag from expiry to verified revoke: p50 ${humanMs(r.lag.p50)}, p99 ${humanMs(r.lag.p99)}, max ${humanMs(r.lag.max)}`);
  for (const o of r.reconcile?.orphans ?? []) {
    lines.push(`  ${orphanLine(o)}`);
  }
  for (const p of r.problems) lines.push(`  ${p.code}: ${p.message}`);
  if (r.revertsQueued > 0) lines.push("revert PRs are opened by the app from its outbox (this command has no GitHub credentials)");
  return lines;
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parseCommand(argv, io, {
    command: "expire", usage: USAGE, options: { repo: { type: "string" }, repository: { type: "string" } }, formats: ["text", "json"],
  });
  if (typeof args === "number") return args;
  const { values } = args;
  const setup = await openSweepSetup(io, "expire", { ...(values.repo ? { repo: values.repo } : {}), ...(values.repository ? { repository: values.repository } : {}) });
  if (typeof setup === "number") return setup;
  try {
    let report: SweepReport;
    try {
      report = await sweep(
        { state: setup.state.pool, engines: setup.engines, policies: setup.policies, actor: commandActor(io, "expire"), leadership: NO_LEADER },
        { reconcile: true, recoverReverts: true });
    } catch (e) {
      await recordSweep(setup.state.pool, "cli", { error: (e as Error).message }).catch(() => {});
      io.err(`jit expire: sweep failed: ${(e as Error).message}`);
      return 1;
    }
    await recordSweep(setup.state.pool, "cli", { report });
    if (args.format === "json") io.out(JSON.stringify(report, null, 2));
    else for (const l of renderExpire(report)) io.out(l);
    const drift = report.reconcile?.orphans.length ?? 0;
    return report.failed.length > 0 || drift > 0 || report.problems.length > 0 ? 1 : 0;
  } finally {
    await setup.close();
  }
}
