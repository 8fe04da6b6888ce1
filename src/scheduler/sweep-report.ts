// What the scheduler says about a finished sweep: a log line per revoke and failure, alerts for
// residue left on a bundle (I14) and for orphan grants (I8), standing access logged when it changes.
import { visible } from "../core/inert.ts";
import { orphanGrantAlert, windowResidueAlert } from "../core/messages.ts";
import type { Alerter } from "../usecases/alerting.ts";
import type { UseCaseLogger } from "../usecases/context.ts";
import type { SweepReport } from "./sweep.ts";

export class SweepReporter {
  /** Standing access as last logged: logged again only when it changes. */
  private lastStanding = "";
  private readonly log: UseCaseLogger;
  private readonly alerter: Alerter;

  constructor(log: UseCaseLogger, alerter: Alerter) {
    this.log = log;
    this.alerter = alerter;
  }

  async report(r: SweepReport): Promise<void> {
    const log = this.log;
    for (const g of r.revoked) {
      log.info({ ledgerId: g.ledgerId, repository: g.repository, database: g.database, requestId: g.requestId, role: g.role, dbUser: g.dbUser,
        expiresAt: g.expiresAt, revokedAt: g.revokedAt, lagMs: g.lagMs, sessionsEnded: g.sessionsEnded, outcome: g.outcome }, "revoked at expiry");
      if (g.residue.length) {
        await this.alerter.alert(g.repository, windowResidueAlert(g));
      }
    }
    for (const f of r.failed) log.error({ code: f.code, ledgerId: f.ledgerId, database: f.database, requestId: f.requestId, error: f.message }, "revoke at expiry failed; retried next sweep");
    for (const p of r.problems) if (p.code !== "JIT_LEADER_LOST") log.warn({ code: p.code }, p.message);
    for (const o of r.reconcile?.orphans ?? []) {
      const repository = o.repository.includes("/") ? o.repository : null;
      await this.alerter.alert(repository, orphanGrantAlert({ ...o, sweptAt: r.startedAt }));
    }
    const standing = JSON.stringify(r.reconcile?.standing.map((s) => [s.database, s.role, s.member]) ?? null);
    if (r.reconcile && standing !== this.lastStanding) {
      this.lastStanding = standing;
      for (const s of r.reconcile.standing) log.warn({ code: "JIT_STANDING_ACCESS", database: s.database, role: visible(s.role), member: visible(s.member), grantor: visible(s.grantor) }, "standing access to a grantable role outside the app");
    }
  }
}
