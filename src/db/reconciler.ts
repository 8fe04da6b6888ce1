// Drift reconciliation (I8): the target's catalog is the ground truth. Every membership granted by
// the app role must be covered by an active ledger row (or a grant in flight); an orphan is revoked
// and recorded. Memberships granted by anyone else are reported as standing access, never revoked
// (I7). Runs at start and on every sweep that reconciles.
import type pg from "pg";
import { problem, type Problem } from "../core/problem.ts";
import { SqlIdentifierError } from "../core/sql.ts";
import type { Policy } from "../core/types.ts";
import { applyRevoke } from "./apply.ts";
import { codeOf } from "./engine-result.ts";
import { appendEvent } from "./events.ts";
import { query } from "./executor.ts";
import { lockIdleIntents, markFailed, openRows } from "./ledger.ts";
import type { TargetInfo, Targets } from "./targets.ts";

export interface OrphanReport {
  database: string;
  clusterId: string;
  role: string;
  member: string;
  revoked: boolean;
  sessionsEnded: number;
  error?: string;
}

export interface StandingAccess {
  database: string;
  role: string;
  member: string;
  grantor: string;
}

export interface ReconcileReport {
  orphans: OrphanReport[];
  standing: StandingAccess[];
  abandonedIntents: number[];
  /** Active ledger rows whose membership is gone (revoked by someone else, user dropped). */
  missing: number[];
  problems: Problem[];
}

export class DriftReconciler {
  private readonly state: pg.Pool;
  private readonly targets: Targets;
  private readonly policy: Policy;

  constructor(state: pg.Pool, targets: Targets, policy: Policy) {
    this.state = state;
    this.targets = targets;
    this.policy = policy;
  }

  /**
   * I8: every pg_auth_members row with grantor = the app role must be covered by an active ledger
   * row (or a grant in flight). Others are drift: revoked, with a JIT_DRIFT_ORPHAN_GRANT event.
   * Memberships of grantable roles granted by anyone else are reported (JIT_STANDING_ACCESS)
   * unless the policy lists them under standing_access; the app never revokes those (I7).
   */
  async reconcile(actor = "reconcile"): Promise<ReconcileReport> {
    const report: ReconcileReport = { orphans: [], standing: [], abandonedIntents: [], missing: [], problems: [] };
    const clusters = new Map<string, { key: string; info: TargetInfo; keys: string[] }>();
    for (const key of this.targets.keys()) {
      if (!this.targets.configured(key)) {
        report.problems.push(problem("JIT_CONFIG_MISSING_ENV", `database "${key}": environment variable ${this.targets.envName(key)} is not set; not reconciled`));
        continue;
      }
      try {
        const info = await this.targets.info(key);
        const c = clusters.get(info.clusterId);
        if (c) c.keys.push(key);
        else clusters.set(info.clusterId, { key, info, keys: [key] });
      } catch (e) {
        report.problems.push(problem(codeOf(e, "JIT_DB_UNREACHABLE"), (e as Error).message));
      }
    }
    for (const c of clusters.values()) {
      try {
        await this.reconcileCluster(c.key, c.info, c.keys, report, actor);
      } catch (e) {
        report.problems.push(problem(codeOf(e, "JIT_DB_UNREACHABLE"), `database "${c.key}": ${(e as Error).message}`));
      }
    }
    return report;
  }

  private async reconcileCluster(key: string, info: TargetInfo, keys: string[], report: ReconcileReport, actor: string): Promise<void> {
    const target = await this.targets.connect(key);
    let broken = false;
    const client = await this.state.connect();
    try {
      // Read memberships before the ledger: a grant in flight holds its row lock from before its
      // GRANT until its row is active, so any membership seen here is covered when the ledger is read.
      const memberships = (await query<{ role: string; member: string }>(target, `
        SELECT r.rolname::text AS role, m.rolname::text AS member FROM pg_auth_members am
          JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
         WHERE am.grantor = (SELECT oid FROM pg_roles WHERE rolname = current_user) ORDER BY 1, 2`)).rows;
      await client.query("BEGIN");
      const idle = await lockIdleIntents(client, info.clusterId);
      const idleIds = new Set(idle.map((r) => r.id));
      const open = await openRows(client, info.clusterId);
      const covered = (role: string, member: string) =>
        open.some((o) => o.role === role && o.dbUser === member && (o.status === "active" || !idleIds.has(o.id)));

      for (const m of memberships) {
        if (covered(m.role, m.member)) continue;
        const orphan: OrphanReport = { database: key, clusterId: info.clusterId, role: m.role, member: m.member, revoked: false, sessionsEnded: 0 };
        const intents = idle.filter((r) => r.role === m.role && r.dbUser === m.member);
        try {
          const applied = await applyRevoke(target, info, m.role, m.member);
          if (applied.outcome === "already_absent") continue; // revoked meanwhile by a regular revoke
          orphan.revoked = applied.verified;
          orphan.sessionsEnded = applied.sessionsEnded;
          for (const r of intents) {
            await markFailed(client, r.id, { code: "JIT_DRIFT_ORPHAN_GRANT", sql: applied.sql, verification: { reconcile: applied.verification } });
          }
          await appendEvent(client, {
            ledgerId: intents[0]?.id ?? null, kind: "drift_orphan_revoked", code: "JIT_DRIFT_ORPHAN_GRANT", database: key,
            requestId: intents[0]?.requestId ?? null, repository: intents[0]?.repository ?? null, actor,
            details: { clusterId: info.clusterId, role: m.role, member: m.member, sql: applied.sql, ...applied.verification },
          });
        } catch (e) {
          orphan.error = (e as Error).message;
          await appendEvent(client, { kind: "drift_orphan_revoked", code: "JIT_DRIFT_ORPHAN_GRANT", database: key, actor,
            details: { clusterId: info.clusterId, role: m.role, member: m.member, error: orphan.error } });
          report.problems.push(problem("JIT_DRIFT_ORPHAN_GRANT", `cannot revoke orphan grant of "${m.role}" to "${m.member}": ${orphan.error}`));
          // A name outside the identifier allowlist never reached the server; anything else may
          // have left the connection mid-plan, so stop using it.
          if (!(e instanceof SqlIdentifierError)) broken = true;
        }
        report.orphans.push(orphan);
        if (broken) break;
      }

      // Intents that never reached a GRANT (crash before it); young ones may be about to be locked.
      for (const r of idle) {
        const hasMembership = memberships.some((m) => m.role === r.role && m.member === r.dbUser);
        if (!hasMembership && r.stale) {
          await markFailed(client, r.id, { code: "JIT_GRANT_FAILED", sql: [], verification: { reconcile: "interrupted before GRANT" } });
          await appendEvent(client, { ledgerId: r.id, kind: "intent_abandoned", code: "JIT_GRANT_FAILED", database: r.database,
            repository: r.repository, requestId: r.requestId, actor, details: {} });
          report.abandonedIntents.push(r.id);
        }
      }
      for (const o of open) {
        if (o.status === "active" && !memberships.some((m) => m.role === o.role && m.member === o.dbUser)) report.missing.push(o.id);
      }
      await client.query("COMMIT");

      if (!broken) report.standing.push(...await this.standingAccess(target, info, keys));
    } catch (e) {
      broken = true;
      await client.query("ROLLBACK").catch(() => {});
      throw e;
    } finally {
      client.release();
      target.release(broken);
    }
  }

  private async standingAccess(target: pg.PoolClient, info: TargetInfo, keys: string[]): Promise<StandingAccess[]> {
    const roleKey = new Map<string, string>();
    const allowed = new Set<string>();
    for (const key of keys) {
      const db = this.policy.databases[key]!;
      for (const role of Object.keys(db.roles)) roleKey.set(role, key);
      for (const [role, logins] of Object.entries(db.standingAccess ?? {})) for (const l of logins) allowed.add(`${role}\u0000${l}`);
    }
    const { rows } = await query<{ role: string; member: string; grantor: string }>(target, `
      SELECT r.rolname::text AS role, m.rolname::text AS member, g.rolname::text AS grantor FROM pg_auth_members am
        JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member JOIN pg_roles g ON g.oid = am.grantor
       WHERE r.rolname = ANY($1::text[]) AND m.rolname <> current_user
         AND am.grantor <> (SELECT oid FROM pg_roles WHERE rolname = current_user)
       ORDER BY 1, 2`, [[...roleKey.keys()]]);
    return rows
      .filter((r) => !allowed.has(`${r.role}\u0000${r.member}`))
      .map((r) => ({ database: roleKey.get(r.role)!, role: r.role, member: r.member, grantor: r.grantor }));
  }
}
