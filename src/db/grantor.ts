// The grant engine, shared by the app, the sweeper and the CLI.
//
// Crash safety across two databases (state and target): the intent is committed to the ledger
// first, then — holding a row lock on it — preflight, GRANT, verify, mark active. A failure after
// the GRANT revokes it at once; a crash leaves an intent row and an app-granted membership, which
// reconcile() (at start and on every sweep) revokes, because pg_auth_members rows with
// grantor = the app role are the ground truth (I8) and none may live without an active ledger row.
import type pg from "pg";
import type { JitCode } from "../core/codes.ts";
import { decide, problem, type Decision, type Problem } from "../core/problem.ts";
import { buildGrantPlan, quoteRole, SqlIdentifierError, type Statement } from "../core/sql.ts";
import type { Policy } from "../core/types.ts";
import { applyGrant, applyRevoke, applyRevokeMany, ApplyError, membershipState, type AppliedRevoke, type MemberRevoke } from "./apply.ts";
import { appendEvent, appendEvents, type EventInput } from "./events.ts";
import { query } from "./executor.ts";
import type { Finding } from "./finding.ts";
import type { AppRoleScope } from "./inspect-app.ts";
import { inspectAppRole } from "./inspect-app.ts";
import {
  appendSql, clusterGrantors, findDue, getByKey, insertIntent, listActive, lockByKey, lockIdleIntents, lockMembership, lockOpenByIds, markActive,
  markFailed, markRevokedMany, nextExpiry, openRows, otherHolders, recordGrantor, recordMembership, type ActiveGrant, type ExecutedSql, type LedgerKey,
  type LedgerRow,
} from "./ledger.ts";
import { preflight } from "./preflight.ts";
import { inTransaction } from "./state.ts";
import { roleOid } from "./inspect-role.ts";
import { recordBinding, recordedBinding, type BindingKey, type TargetBinding } from "./target-binding.ts";
import { openWindows, recordActivity, recordTick, sampleActivity, sampleActivityMany, type ActivitySample } from "./activity.ts";
import { cleanWindowResidue, type ResidueReport } from "./window-residue.ts";
import { appRoleScope } from "./scope.ts";
import { TargetError, type TargetInfo, type Targets } from "./targets.ts";
import { isWindowStart, windowState } from "./window.ts";

export interface GrantInput extends LedgerKey {
  path: string;
  prNumber?: number | null;
  headSha?: string | null;
  mergeSha?: string | null;
  approvers?: string[];
  role: string;
  dbUser: string;
  durationMs: number;
  /**
   * `merged_at` of the PR from the API (I17): the window runs from it, so a late or replayed merge
   * grants only what is left and nothing once it has passed. Absent: the window opens at the grant.
   */
  mergedAt?: string | null;
  /** Who caused this (e.g. "github:merge:owner/repo#12", "cli:alice"). */
  actor: string;
}

export interface GrantDetails {
  row?: LedgerRow;
  /** True when the request had already been granted: nothing was executed by this call. */
  existing: boolean;
  findings: Finding[];
}

export interface RevokeDetails {
  row?: LedgerRow;
  /** True when the row was already closed: nothing was executed by this call. */
  alreadyClosed: boolean;
  applied?: AppliedRevoke;
  /** I14: what the grantee left on the bundle, undone or still there (JIT_WINDOW_RESIDUE). */
  residue?: ResidueReport;
}

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

export interface EngineHooks {
  /**
   * Runs after the GRANT is verified and before the ledger row is marked active. A fault-injection
   * seam for crash-safety tests (docs/security.md case 41); production leaves it unset.
   */
  afterGrant?: (row: LedgerRow) => Promise<void> | void;
  /** Runs after the membership lock is taken, before preflight: a seam for the I16 race tests. */
  beforeGrant?: (row: LedgerRow) => Promise<void> | void;
}

/** Members per batch REVOKE statement: bounds the statement (and each row's recorded SQL) in size. */
const BATCH_MEMBERS = 100;

const fail = <T>(details: T, code: JitCode, message: string): Decision<T> => decide(details, [problem(code, message)], "");

function codeOf(e: unknown, fallback: JitCode): JitCode {
  if (e instanceof TargetError) return e.code;
  if (e instanceof SqlIdentifierError) return "JIT_IDENTIFIER";
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string" && code.startsWith("JIT_")) return code as JitCode;
  return fallback;
}

export class GrantEngine {
  private readonly state: pg.Pool;
  private readonly targets: Targets;
  private readonly policy: Policy;
  private readonly hooks: EngineHooks;

  constructor(state: pg.Pool, targets: Targets, policy: Policy, hooks: EngineHooks = {}) {
    this.state = state;
    this.targets = targets;
    this.policy = policy;
    this.hooks = hooks;
  }

  /** Roles the app may hold ADMIN on in this key's cluster, and those this key needs. */
  scopeFor(database: string): Promise<AppRoleScope> {
    return appRoleScope(this.targets, database);
  }

  /**
   * I16, at check time: reads (read-only) which role the login name denotes on the target and
   * records it for this head SHA; returns the recorded binding (the first for this head) and now.
   */
  async bindTarget(key: BindingKey): Promise<{ recorded: TargetBinding; current: TargetBinding }> {
    const info = await this.targets.info(key.database);
    const client = await this.targets.connect(key.database);
    let current: TargetBinding;
    try {
      current = { clusterId: info.clusterId, memberOid: (await roleOid(client, key.dbUser)) ?? null };
    } finally {
      client.release();
    }
    return { recorded: await recordBinding(this.state, key, current), current };
  }

  /** The statements a grant would run on this target: what a check run shows. */
  async plan(database: string, role: string, dbUser: string): Promise<Statement[]> {
    const info = await this.targets.info(database);
    const shared = (await this.targets.sharedRole(database, role))[0]; // I16, shown before the merge refuses it
    if (shared) throw new TargetError(shared.code, shared.message);
    return buildGrantPlan({ role, dbUser, appRole: info.appRole, pgMajor: info.pgMajor });
  }

  async grant(input: GrantInput): Promise<Decision<GrantDetails>> {
    const none: GrantDetails = { existing: false, findings: [] };
    const db = Object.hasOwn(this.policy.databases, input.database) ? this.policy.databases[input.database] : undefined;
    if (!db) return fail(none, "JIT_DATABASE_UNKNOWN", `no policy defines database "${input.database}"`);
    const rolePolicy = Object.hasOwn(db.roles, input.role) ? db.roles[input.role] : undefined;
    if (!rolePolicy) return fail(none, "JIT_ROLE_NOT_ALLOWED", `role "${input.role}" is not grantable on "${input.database}"`);
    if (!Number.isSafeInteger(input.durationMs) || input.durationMs <= 0) return fail(none, "JIT_DURATION_INVALID", "duration must be a positive number of milliseconds");
    if (input.durationMs > rolePolicy.maxDurationMs) return fail(none, "JIT_DURATION_TOO_LONG", `duration is over the policy maximum ${rolePolicy.maxDuration}`);

    try {
      quoteRole(input.role); // throws on arrays, numbers and anything not allowlisted, before any I/O
      quoteRole(input.dbUser);
    } catch (e) {
      return fail(none, "JIT_IDENTIFIER", (e as Error).message);
    }
    let info: TargetInfo;
    try {
      info = await this.targets.info(input.database);
    } catch (e) {
      return fail(none, codeOf(e, "JIT_DB_UNREACHABLE"), (e as Error).message);
    }
    if (input.dbUser === info.appRole) return fail(none, "JIT_USER_NOT_ELIGIBLE", `database user "${input.dbUser}" is the app's own role`);
    if (input.role === info.appRole || input.role === input.dbUser) return fail(none, "JIT_ROLE_NOT_ALLOWED", `role "${input.role}" cannot be granted to "${input.dbUser}"`);
    const shared = await this.targets.sharedRole(input.database, input.role); // I16
    if (shared.length) return decide(none, shared, "");

    let first: LedgerRow;
    let created: boolean;
    let client: pg.PoolClient;
    try {
      ({ row: first, created } = await insertIntent(this.state, {
        repository: input.repository, path: input.path, requestId: input.requestId, prNumber: input.prNumber ?? null,
        headSha: input.headSha ?? null, mergeSha: input.mergeSha ?? null, approvers: input.approvers ?? [], database: input.database,
        clusterId: info.clusterId, role: input.role, dbUser: input.dbUser, durationMs: input.durationMs, actor: input.actor,
      }));
      if (created) {
        await appendEvent(this.state, { ledgerId: first.id, repository: input.repository, database: input.database, requestId: input.requestId,
          actor: input.actor, kind: "grant_intent", details: { role: input.role, dbUser: input.dbUser, durationMs: input.durationMs } });
      }
      // I15: committed before the GRANT, so even a crash right after it leaves the grantor on record.
      await recordGrantor(this.state, first.id, {
        clusterId: info.clusterId, connectionEnv: this.targets.envName(input.database), grantorRole: info.appRole, grantorOid: info.appRoleOid,
      });
      client = await this.state.connect();
    } catch (e) {
      return fail(none, "JIT_DB_UNREACHABLE", `state database: ${(e as Error).message}`); // nothing granted; safe to retry
    }
    const ev = { ledgerId: first.id, repository: input.repository, database: input.database, requestId: input.requestId, actor: input.actor };
    let target: pg.PoolClient | undefined;
    let targetBroken = false;
    try {
      await client.query("BEGIN");
      const row = (await lockByKey(client, input))!;
      // The duration is not compared: an approved extension changes it on the active row, and a
      // redelivery of the original merge must still find "already granted".
      const same = row.role === input.role && row.dbUser === input.dbUser && row.clusterId === info.clusterId;
      if (!same || row.status === "revoked") {
        await client.query("COMMIT");
        return fail({ row, existing: true, findings: [] }, "JIT_REQUEST_ID_USED",
          `request id "${input.requestId}" was already used (${row.status}${same ? "" : ", for a different grant"}); request ids are single-use`);
      }
      if (row.status === "active") {
        await client.query("COMMIT");
        return decide({ row, existing: true, findings: [] }, [], `already granted until ${row.expiresAt?.toISOString()}`);
      }
      if (row.status === "failed") {
        await client.query("COMMIT");
        return fail({ row, existing: true, findings: [] }, (row.failureCode as JitCode | null) ?? "JIT_GRANT_FAILED", "this request was already refused or failed; request ids are single-use");
      }

      const closed = await this.refuseOutsideWindow(client, row, input, ev);
      if (closed) return closed;

      // I16: one grant of this (cluster, role, member) at a time, until this transaction ends.
      await lockMembership(client, { clusterId: info.clusterId, role: input.role, dbUser: input.dbUser });
      // Scope first: it needs a connection of its own, and holding one while waiting for another
      // could exhaust the pool under concurrent grants.
      const scope = await this.scopeFor(input.database);
      target = await this.targets.connect(input.database);
      if (!created) {
        // An intent nobody holds: a previous attempt crashed. Its GRANT may have happened.
        const m = await membershipState(target, info, input.role, input.dbUser);
        // I16: never take away a membership another active grant holds (PG15 has one row for both).
        const holders = m.appGranted ? await otherHolders(client, row.id, { clusterId: info.clusterId, role: input.role, dbUser: input.dbUser }) : [];
        if (m.appGranted && holders.length === 0) {
          const applied = await applyRevoke(target, info, input.role, input.dbUser);
          await appendEvent(client, { ...ev, kind: "drift_orphan_revoked", code: "JIT_DRIFT_ORPHAN_GRANT",
            details: { role: input.role, member: input.dbUser, reason: "left by an interrupted grant of this request", ...applied.verification } });
        }
      }

      // I16: the login the check showed for this head SHA (when one was recorded) must still be it.
      const expected = input.headSha ? await recordedBinding(client, { ...input, headSha: input.headSha }) : undefined;
      await this.hooks.beforeGrant?.(row);
      const pre = await preflight(target, { role: input.role, dbUser: input.dbUser, info, scope, ...(expected ? { expected } : {}) });
      if (!pre.ok) {
        const failed = await markFailed(client, row.id, { code: pre.code, sql: [], verification: { preflight: pre.problems } });
        await appendEvent(client, { ...ev, kind: "grant_refused", code: pre.code, details: { problems: pre.problems } });
        await client.query("COMMIT");
        return { ...pre, details: { row: failed, existing: false, findings: pre.details.findings } };
      }

      let sql: ExecutedSql[] = [];
      // Row locks taken before a savepoint survive a rollback to it: on failure the row stays ours
      // while the GRANT is taken back, so no retry of this request can interleave.
      await client.query("SAVEPOINT granted");
      try {
        const applied = await applyGrant(target, info, input.role, input.dbUser);
        sql = applied.sql;
        await recordMembership(client, row.id, { roleOid: applied.roleOid, memberOid: applied.memberOid });
        await this.hooks.afterGrant?.(row);
        const active = await markActive(client, row.id, { sql, verification: applied.verification, windowStart: input.mergedAt ?? null });
        await appendEvent(client, { ...ev, kind: "granted", details: { role: input.role, dbUser: input.dbUser, expiresAt: active.expiresAt, sql } });
        await client.query("COMMIT");
        // What the grantee did is measured from here (never in the way of the grant: nothing throws).
        await recordActivity(this.state, active.id, "grant", await sampleActivity(target, { dbUser: input.dbUser, memberOid: applied.memberOid }));
        return decide({ row: active, existing: false, findings: [] }, [], `granted "${input.role}" to "${input.dbUser}" until ${active.expiresAt?.toISOString()}`);
      } catch (e) {
        if (e instanceof ApplyError) sql = e.sql;
        const stateAlive = await client.query("ROLLBACK TO SAVEPOINT granted").then(() => true, () => false);
        const result = await this.compensate(row, info, sql, e, ev, target, stateAlive ? client : undefined);
        if (!stateAlive) await client.query("ROLLBACK").catch(() => {});
        targetBroken = result.targetBroken;
        return result.decision;
      }
    } catch (e) {
      targetBroken = true;
      await client.query("ROLLBACK").catch(() => {});
      return fail(none, codeOf(e, "JIT_GRANT_FAILED"), (e as Error).message);
    } finally {
      client.release();
      target?.release(targetBroken);
    }
  }

  /**
   * I17: before any GRANT, a merge whose window has passed (by the database clock) is refused and
   * its request id used up; a merge without a usable `merged_at` fails closed. Commits and returns
   * the refusal, or null when the grant may go on.
   */
  private async refuseOutsideWindow(
    client: pg.PoolClient, row: LedgerRow, input: GrantInput, ev: Omit<Parameters<typeof appendEvent>[1], "kind">,
  ): Promise<Decision<GrantDetails> | null> {
    if (input.mergedAt === undefined) return null;
    let code: JitCode;
    let message: string;
    let details: Record<string, unknown>;
    if (!isWindowStart(input.mergedAt)) {
      code = "JIT_MERGE_TIME_UNKNOWN";
      message = "the API reports no usable merge time for this pull request, so the grant window cannot be anchored; nothing granted";
      details = { mergedAt: typeof input.mergedAt === "string" ? input.mergedAt.slice(0, 40) : null };
    } else {
      const mergedAt = input.mergedAt as string;
      const w = await windowState(client, mergedAt, input.durationMs);
      if (w.remainingMs > 0) return null;
      code = "JIT_WINDOW_PASSED";
      message = `the ${Math.round(input.durationMs / 60_000)}-minute window that opened at the merge (${new Date(mergedAt).toISOString()}) ended at ${w.expiresAt.toISOString()}; nothing granted, and request id "${input.requestId}" is used up`;
      details = { mergedAt, windowEnd: w.expiresAt.toISOString(), durationMs: input.durationMs };
    }
    const failed = await markFailed(client, row.id, { code, sql: [], verification: { window: details } });
    await appendEvent(client, { ...ev, kind: "grant_refused", code, details: { window: details } });
    await client.query("COMMIT");
    return fail({ row: failed ?? row, existing: false, findings: [] }, code, message);
  }

  /**
   * After a failure past the GRANT: take the membership away now (on the grant's own target
   * connection, or a fresh one if that one failed), then record the failure.
   */
  private async compensate(
    row: LedgerRow, info: TargetInfo, sql: ExecutedSql[], error: unknown, ev: Record<string, unknown>, target: pg.PoolClient,
    /** The grant's state transaction, still holding the row lock, when it survived the failure. */
    tx?: pg.PoolClient,
  ): Promise<{ decision: Decision<GrantDetails>; targetBroken: boolean }> {
    let revoke: AppliedRevoke | undefined;
    let revokeError: string | undefined;
    let targetBroken = false;
    // I16: if another active grant holds this membership (PG15 keeps one row for both), the
    // GRANT here changed nothing and taking it back would end the other person's grant. If the
    // state database cannot say, revoke anyway: least privilege first, and reconcile reports a
    // holder whose membership went missing.
    const holders = await otherHolders(this.state, row.id, { clusterId: info.clusterId, role: row.role, dbUser: row.dbUser }).catch(() => []);
    const revokeOn = async (client: pg.PoolClient) => { revoke = await applyRevoke(client, info, row.role, row.dbUser); };
    if (holders.length > 0) {
      revokeError = `not revoked: held by active ledger row(s) ${holders.join(", ")}`;
    } else {
      try {
        await revokeOn(target);
      } catch {
        targetBroken = true;
        try {
          const fresh = await this.targets.connect(row.database);
          try {
            await revokeOn(fresh);
            fresh.release();
          } catch (e) {
            fresh.release(true);
            throw e;
          }
        } catch (e) {
          revokeError = (e as Error).message; // reconcile() will revoke it: no active row covers it
        }
      }
    }
    const verification = { error: (error as Error).message, compensation: revoke?.verification ?? { error: revokeError } };
    let failed: LedgerRow | undefined;
    try {
      if (tx) {
        failed = await markFailed(tx, row.id, { code: "JIT_GRANT_FAILED", sql: [...sql, ...(revoke?.sql ?? [])], verification });
        await appendEvent(tx, { ...ev, kind: "grant_compensated", code: "JIT_GRANT_FAILED", details: verification });
        await tx.query("COMMIT");
      } else {
        failed = await markFailed(this.state, row.id, { code: "JIT_GRANT_FAILED", sql: [...sql, ...(revoke?.sql ?? [])], verification });
        await appendEvent(this.state, { ...ev, kind: "grant_compensated", code: "JIT_GRANT_FAILED", details: verification });
      }
    } catch {
      // The state database is unreachable too; the intent row stays and reconcile() finishes the job.
      if (tx) await tx.query("ROLLBACK").catch(() => {});
    }
    const decision = fail({ row: failed ?? row, existing: false, findings: [] }, "JIT_GRANT_FAILED",
      `the grant failed after GRANT and was ${revoke?.verified ? "revoked again" : "left for reconcile to revoke"}: ${(error as Error).message}`);
    return { decision, targetBroken };
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

  /**
   * The sweep tick's activity sample of every open window (src/db/activity.ts), one connection per
   * recorded connection variable, only where it reaches the recorded cluster. Never throws; returns
   * how many samples were stored.
   */
  async sampleOpenWindows(): Promise<number> {
    const byEnv = new Map<string, Awaited<ReturnType<typeof openWindows>>>();
    for (const w of await openWindows(this.state).catch(() => [])) byEnv.set(w.connectionEnv, [...(byEnv.get(w.connectionEnv) ?? []), w]);
    let stored = 0;
    for (const [env, windows] of byEnv) {
      if (!this.targets.hasEnv(env)) continue;
      let target: pg.PoolClient | undefined;
      try {
        const info = await this.targets.infoVia(env, windows[0]!.database);
        const here = windows.filter((w) => w.clusterId === info.clusterId);
        if (!here.length) continue;
        target = await this.targets.connectVia(env, `database "${windows[0]!.database}"`);
        const samples = await sampleActivityMany(target, here.map((w) => ({ dbUser: w.dbUser, memberOid: w.memberOid })));
        target.release();
        target = undefined;
        for (const w of here) if (await recordTick(this.state, w.id, samples.get(w.dbUser)!)) stored++;
      } catch {
        target?.release(true); // evidence only: the next tick samples again
      }
    }
    return stored;
  }

  findDue(limit: number): Promise<LedgerRow[]> {
    return findDue(this.state, limit);
  }

  nextExpiry(): Promise<Date | null> {
    return nextExpiry(this.state);
  }

  status(): Promise<ActiveGrant[]> {
    return listActive(this.state);
  }

  get(key: LedgerKey): Promise<LedgerRow | undefined> {
    return getByKey(this.state, key);
  }

  /** I5 on every configured target; used at start (refuse on TOO_POWERFUL) and by `jit doctor`. */
  async checkAppRole(database: string): Promise<Finding[]> {
    const info = await this.targets.info(database);
    const scope = await this.scopeFor(database);
    const client = await this.targets.connect(database);
    try {
      return await inspectAppRole(client, info, scope);
    } finally {
      client.release();
    }
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
