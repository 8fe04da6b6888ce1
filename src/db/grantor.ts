// The grant engine, shared by the app, the sweeper and the CLI: grants here; revokes in revoker.ts,
// drift reconciliation in reconciler.ts (the engine delegates to both).
//
// Crash safety across two databases (state and target): the intent is committed to the ledger
// first, then — holding a row lock on it — preflight, GRANT, verify, mark active. A failure after
// the GRANT revokes it at once; a crash leaves an intent row and an app-granted membership, which
// reconcile() (at start and on every sweep) revokes, because pg_auth_members rows with
// grantor = the app role are the ground truth (I8) and none may live without an active ledger row.
import type pg from "pg";
import type { JitCode } from "../core/codes.ts";
import { decide, type Decision } from "../core/problem.ts";
import { buildGrantPlan, quoteRole, type Statement } from "../core/sql.ts";
import type { Policy } from "../core/types.ts";
import { applyGrant, applyRevoke, ApplyError, membershipState, type AppliedRevoke } from "./apply.ts";
import { appendEvent } from "./events.ts";
import type { Finding } from "./finding.ts";
import type { AppRoleScope } from "./inspect-app.ts";
import { inspectAppRole } from "./inspect-app.ts";
import {
  findDue, getByKey, insertIntent, listActive, lockByKey, lockMembership, markActive, markFailed, nextExpiry, otherHolders, recordGrantor,
  recordMembership, type ActiveGrant, type ExecutedSql, type LedgerKey, type LedgerRow,
} from "./ledger.ts";
import { codeOf, fail } from "./engine-result.ts";
import { DriftReconciler, type OrphanReport, type ReconcileReport, type StandingAccess } from "./reconciler.ts";
import { Revoker, type RevokeDetails } from "./revoker.ts";
import { preflight } from "./preflight.ts";
import { inspectTarget, type TargetInspection } from "./inspect-target.ts";
import { roleOid } from "./inspect-role.ts";
import { recordBinding, recordedBinding, type BindingKey, type TargetBinding } from "./target-binding.ts";
import { openWindows, recordActivity, recordTick, sampleActivity, sampleActivityMany } from "./activity.ts";
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
  /** Runs in the transaction that marks the grant active, before its COMMIT: the outbox items of its effects (transactional outbox). */
  beforeCommit?: (client: pg.PoolClient, row: LedgerRow) => Promise<void>;
}

export interface GrantDetails {
  row?: LedgerRow;
  /** True when the request had already been granted: nothing was executed by this call. */
  existing: boolean;
  findings: Finding[];
}

export type { RevokeDetails };
export type { OrphanReport, ReconcileReport, StandingAccess };

export interface EngineHooks {
  /**
   * Runs after the GRANT is verified and before the ledger row is marked active. A fault-injection
   * seam for crash-safety tests (docs/security.md case 41); production leaves it unset.
   */
  afterGrant?: (row: LedgerRow) => Promise<void> | void;
  /** Runs after the membership lock is taken, before preflight: a seam for the I16 race tests. */
  beforeGrant?: (row: LedgerRow) => Promise<void> | void;
}

export class GrantEngine {
  private readonly state: pg.Pool;
  private readonly targets: Targets;
  private readonly policy: Policy;
  private readonly hooks: EngineHooks;
  private readonly revoker: Revoker;
  private readonly reconciler: DriftReconciler;

  constructor(state: pg.Pool, targets: Targets, policy: Policy, hooks: EngineHooks = {}) {
    this.state = state;
    this.targets = targets;
    this.policy = policy;
    this.hooks = hooks;
    this.revoker = new Revoker(state, targets, policy);
    this.reconciler = new DriftReconciler(state, targets, policy);
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

  /** The merge-time target checks, read-only: what the check shows and the merge refuses benignly on. */
  inspectTarget(key: LedgerKey, role: string, dbUser: string): Promise<TargetInspection> {
    return inspectTarget(this.state, this.targets, (k) => this.scopeFor(k), key, role, dbUser);
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
        await input.beforeCommit?.(client, active);
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
  /** Revokes one grant: REVOKE the app's grant, end sessions, verify, record (src/db/revoker.ts). */
  revoke(key: LedgerKey, opts: { reason: string; actor: string }): Promise<Decision<RevokeDetails>> {
    return this.revoker.revoke(key, opts);
  }

  /** Many due grants at once (issue 16; src/db/revoker.ts). */
  revokeMany(ids: number[], opts: { reason: string; actor: string }): Promise<{ id: number; decision: Decision<RevokeDetails> }[]> {
    return this.revoker.revokeMany(ids, opts);
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
  /** I8 drift: app grants without a ledger row, standing access, abandoned intents (src/db/reconciler.ts). */
  reconcile(actor = "reconcile"): Promise<ReconcileReport> {
    return this.reconciler.reconcile(actor);
  }
}
