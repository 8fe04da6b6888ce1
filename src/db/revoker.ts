// Revokes: one grant (an early revoke, `jit revoke`, a single due row) or many due grants of one
// (cluster, role) at once (issue 16). REVOKE only the app's own grant (never another grantor's),
// end the grantee's sessions, verify, then record — by the recorded connection and grantor (I15),
// whatever today's policy says.
import type pg from "pg";
import { decide, type Decision } from "../core/problem.ts";
import type { Policy } from "../core/types.ts";
import { recordActivity, sampleActivityMany, type ActivitySample } from "./activity.ts";
import { applyRevokeMany, ApplyError, type AppliedRevoke, type MemberRevoke } from "./apply.ts";
import { codeOf, fail } from "./engine-result.ts";
import { appendEvents, type EventInput } from "./events.ts";
import { appendSql, clusterGrantors, lockByKey, lockOpenByIds, markRevokedMany, type LedgerKey, type LedgerRow } from "./ledger.ts";
import { inTransaction } from "./state.ts";
import { TargetError, type TargetInfo, type Targets } from "./targets.ts";
import { cleanWindowResidue, type ResidueReport } from "./window-residue.ts";

export interface RevokeDetails {
  row?: LedgerRow;
  /** True when the row was already closed: nothing was executed by this call. */
  alreadyClosed: boolean;
  applied?: AppliedRevoke;
  /** I14: what the grantee left on the bundle, undone or still there (JIT_WINDOW_RESIDUE). */
  residue?: ResidueReport;
}

/** Members per batch REVOKE statement: bounds the statement (and each row's recorded SQL) in size. */
const BATCH_MEMBERS = 100;

export class Revoker {
  private readonly state: pg.Pool;
  private readonly targets: Targets;
  private readonly policy: Policy;

  constructor(state: pg.Pool, targets: Targets, policy: Policy) {
    this.state = state;
    this.targets = targets;
    this.policy = policy;
  }

  async revoke(key: LedgerKey, opts: { reason: string; actor: string }): Promise<Decision<RevokeDetails>> {
    let client: pg.PoolClient;
    try {
      client = await this.state.connect();
    } catch (e) {
      return fail({ alreadyClosed: false }, "JIT_DB_UNREACHABLE", `state database: ${(e as Error).message}`);
    }
    try {
      await client.query("BEGIN");
      const row = await lockByKey(client, key);
      if (!row) {
        await client.query("COMMIT");
        return fail({ alreadyClosed: false }, "JIT_GRANT_NOT_FOUND", `no grant recorded for ${key.database}/${key.requestId} in ${key.repository}`);
      }
      if (row.status === "revoked" || row.status === "failed") {
        await client.query("COMMIT");
        return decide({ row, alreadyClosed: true }, [], row.status === "revoked" ? `already revoked (${row.revokeReason})` : "never granted");
      }
      const [d] = await this.revokeLocked(client, [row], opts);
      await client.query("COMMIT");
      return d!.decision;
    } catch (e) {
      await client.query("ROLLBACK").catch(() => {});
      return fail({ alreadyClosed: false }, codeOf(e, "JIT_REVOKE_FAILED"), (e as Error).message);
    } finally {
      client.release();
    }
  }

  /**
   * Issue 16: revokes many due grants at once. Locks the rows still active among `ids` (others were
   * closed meanwhile and are left out), then per (cluster, role) one batch: one REVOKE, one
   * termination statement per round, one verification query, one UPDATE and one INSERT of events,
   * exactly the ledger rows and events a revoke of each one alone records.
   */
  async revokeMany(ids: number[], opts: { reason: string; actor: string }): Promise<{ id: number; decision: Decision<RevokeDetails> }[]> {
    return inTransaction(this.state, async (client) => this.revokeLocked(client, await lockOpenByIds(client, ids), opts));
  }

  /**
   * I15: the connection a revoke uses. The variable recorded at grant time first (then, for rows
   * from before it was recorded, today's variable of the row's database key), then any other
   * configured variable: whichever reaches the cluster the grant was made on, by system identifier.
   * Today's policy is not consulted for anything else.
   */
  private async targetFor(row: LedgerRow): Promise<{ info: TargetInfo; env: string }> {
    const candidates: { env: string; key: string }[] = [];
    if (row.connectionEnv) candidates.push({ env: row.connectionEnv, key: row.database });
    else if (Object.hasOwn(this.policy.databases, row.database)) candidates.push({ env: this.targets.envName(row.database), key: row.database });
    for (const key of this.targets.keys()) candidates.push({ env: this.targets.envName(key), key });
    const tried: string[] = [];
    const seen = new Set<string>();
    let unreachable = false;
    for (const c of candidates) {
      if (seen.has(c.env)) continue;
      seen.add(c.env);
      if (!this.targets.hasEnv(c.env)) {
        tried.push(`${c.env} is not set`);
        continue;
      }
      try {
        const info = await this.targets.infoVia(c.env, c.key);
        if (info.clusterId === row.clusterId) return { info, env: c.env };
        tried.push(`${c.env} reaches another cluster`);
      } catch (e) {
        unreachable ||= e instanceof TargetError && e.code === "JIT_DB_UNREACHABLE";
        tried.push(`${(e as Error).message}`);
      }
    }
    // A server that does not answer is an outage (retried); no configured way to the cluster is a configuration problem.
    throw new TargetError(unreachable ? "JIT_DB_UNREACHABLE" : "JIT_REVOKE_TARGET_UNAVAILABLE",
      `no configured connection reaches the cluster "${row.database}" was granted on (${tried.join("; ") || "no candidates"}); refusing to record a revoke`);
  }

  /** Revokes locked open rows, grouped per (connection, role); records each row; never throws for a target failure. */
  private async revokeLocked(client: pg.PoolClient, rows: LedgerRow[], opts: { reason: string; actor: string }): Promise<{ id: number; decision: Decision<RevokeDetails> }[]> {
    const out: { id: number; decision: Decision<RevokeDetails> }[] = [];
    const groups = new Map<string, { rows: LedgerRow[]; target: Promise<{ info: TargetInfo; env: string }> }>();
    const resolved = new Map<string, Promise<{ info: TargetInfo; env: string }>>();
    for (const row of rows) {
      const where = `${row.clusterId}\u0000${row.connectionEnv ?? row.database}`;
      let target = resolved.get(where);
      if (!target) {
        target = this.targetFor(row);
        target.catch(() => {});
        resolved.set(where, target);
      }
      const k = `${where}\u0000${row.role}\u0000${row.roleOid ?? ""}`;
      const g = groups.get(k);
      if (g) g.rows.push(row);
      else groups.set(k, { rows: [row], target });
    }
    for (const g of groups.values()) {
      for (let i = 0; i < g.rows.length; i += BATCH_MEMBERS) out.push(...await this.revokeGroup(client, g.rows.slice(i, i + BATCH_MEMBERS), g.target, opts));
    }
    return out;
  }

  private async revokeGroup(client: pg.PoolClient, rows: LedgerRow[], where: Promise<{ info: TargetInfo; env: string }>, opts: { reason: string; actor: string }): Promise<{ id: number; decision: Decision<RevokeDetails> }[]> {
    const ev = (row: LedgerRow) => ({ ledgerId: row.id, repository: row.repository, database: row.database, requestId: row.requestId, actor: opts.actor });
    const first = rows[0]!;
    let target: pg.PoolClient | undefined;
    let results: MemberRevoke[];
    let residue: ResidueReport | undefined;
    let activity: Map<string, ActivitySample> | undefined;
    try {
      const { info, env } = await where;
      // Every app role on record for the cluster, and each row's own recorded grantor in any case.
      const grantors = [...new Set([...(await clusterGrantors(client, first.clusterId)).map((g) => g.oid), ...rows.flatMap((r) => (r.grantorOid ? [r.grantorOid] : []))])];
      target = await this.targets.connectVia(env, `database "${first.database}"`);
      // The window's activity, sampled while the grantee's sessions still exist (never throws).
      activity = await sampleActivityMany(target, rows.map((r) => ({ dbUser: r.dbUser, memberOid: r.memberOid })));
      ({ results } = await applyRevokeMany(target, info, {
        role: first.role, roleOid: first.roleOid, members: rows.map((r) => ({ name: r.dbUser, oid: r.memberOid })), grantors,
      }));
      // I14: after the verified revoke, undo or report what a grantee changed about the bundle (once
      // per batch: default privileges FOR ROLE it, and any login set to start as it).
      if (results.some((r) => r.verified && r.outcome === "revoked")) residue = await cleanWindowResidue(target, info, first.role);
      target.release();
      target = undefined;
    } catch (e) {
      target?.release(true);
      const code = codeOf(e, "JIT_REVOKE_FAILED");
      const sql = e instanceof ApplyError ? e.sql : [];
      for (const row of rows) if (sql.length) await appendSql(client, row.id, sql, { lastRevokeAttempt: { error: (e as Error).message } });
      await appendEvents(client, rows.map((row) => ({ ...ev(row), kind: "revoke_failed", code, details: { reason: opts.reason, error: (e as Error).message } })));
      return rows.map((row) => ({ id: row.id, decision: fail({ row, alreadyClosed: false }, code, (e as Error).message) }));
    }

    const out: { id: number; decision: Decision<RevokeDetails> }[] = [];
    const done: { row: LedgerRow; applied: MemberRevoke }[] = [];
    const events: EventInput[] = [];
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const applied = results[i]!;
      if (applied.verified) {
        done.push({ row, applied });
        events.push({ ...ev(row), kind: applied.outcome === "revoked" ? "revoked" : "revoke_noop", details: { reason: opts.reason, ...applied.verification } });
        continue;
      }
      const code = applied.code ?? "JIT_REVOKE_FAILED";
      await appendSql(client, row.id, applied.sql, { lastRevokeAttempt: { ...applied.verification, ...(applied.error ? { error: applied.error } : {}) } });
      events.push({ ...ev(row), kind: "revoke_failed", code, details: { reason: opts.reason, ...applied.verification, ...(applied.error ? { error: applied.error } : {}) } });
      out.push({ id: row.id, decision: fail({ row, alreadyClosed: false, applied }, code, applied.error ??
        `revoke not verified: membership ${applied.verification.membershipGone ? "gone" : "still present"}, ${applied.verification.sessionsLeft} session(s) left`) });
    }
    // The batch's residue is told once, on its first revoked row (one alert, one event).
    const carrier = residue ? done.find((d) => d.applied.outcome === "revoked")?.row : undefined;
    if (carrier && residue && (residue.undone.length || residue.remaining.length)) {
      events.push({ ...ev(carrier), kind: "window_residue", code: residue.remaining.length ? "JIT_WINDOW_RESIDUE" : null, details: { ...residue } });
    }
    const closed = await markRevokedMany(client, done.map(({ row, applied }) => ({
      id: row.id, reason: opts.reason, actor: opts.actor, sql: applied.sql, sessionsEnded: applied.sessionsEnded,
      verification: { revoke: applied.verification, ...(row === carrier ? { residue } : {}) },
    })));
    await appendEvents(client, events);
    const byId = new Map(closed.map((r) => [r.id, r]));
    for (const { row } of done) {
      const sample = activity?.get(row.dbUser);
      if (sample) await recordActivity(this.state, row.id, "revoke", sample); // outside this transaction: evidence, never a reason to fail
    }
    for (const { row, applied } of done) {
      const how = applied.outcome === "revoked" ? "revoked" : applied.outcome === "user_missing" ? "closed (the user no longer exists)" : "closed (membership was already gone)";
      const details: RevokeDetails = { row: byId.get(row.id) ?? row, alreadyClosed: false, applied, ...(row === carrier && residue ? { residue } : {}) };
      out.push({ id: row.id, decision: decide(details, [], `${how}; ${applied.sessionsEnded} session(s) ended`) });
    }
    return out;
  }
}
