// One expiry sweep, shared by the in-app scheduler and `jit expire`. Level-triggered: whatever is
// past its expiry by the STATE DATABASE's clock (expires_at <= now()) is revoked, however late —
// after three hours of downtime the first sweep catches up on all of it. The app's clock decides
// nothing here.
//
// Several sweepers may run at once (two replicas, the backstop workflow): due rows are claimed with
// FOR UPDATE SKIP LOCKED (rows a revoke is holding are skipped, not waited for) and held by a
// session advisory lock per row on this sweep's own connection, which the server drops if this
// process dies. The engine's revoke locks the row again and is idempotent, so even a lost claim
// cannot revoke twice. The revert PR is queued in the outbox only after the revoke is recorded;
// GitHub never delays a revoke.
//
// Each due row becomes an expiry action (src/core/action.ts) and is revoked through the one
// applier (usecases/apply-action.ts); the claims' SQL lives in src/db/sweep-claims.ts.
import type pg from "pg";
import { expiryAction, NO_POLICY, type RevokeAction } from "../core/action.ts";
import type { JitCode } from "../core/codes.ts";
import { problem, type Decision, type Problem } from "../core/problem.ts";
import type { Policy } from "../core/types.ts";
import type { OrphanReport, ReconcileReport, RevokeDetails, StandingAccess } from "../db/grantor.ts";
import type { LedgerKey } from "../db/ledger.ts";
import { recoverReverts } from "../db/reverts.ts";
import { claimDue, databaseNow, recordSweepRow, releaseClaims, type DueRow } from "../db/sweep-claims.ts";
import { applyRevokes, type ApplyEnv } from "../usecases/apply-action.ts";
import { lagSummary } from "./config.ts";
import { LeaderLostError, type Leadership } from "./leader.ts";
import type { PolicySource } from "./policy-source.ts";

export { EXPIRY_REASON } from "../core/action.ts";
export { enqueueRevert, enqueueReverts, recoverReverts, revertKey, REVERT_PR_KIND } from "../db/reverts.ts";
export { CLAIM_CLASS } from "../db/sweep-claims.ts";

/** The applier logs nothing for the sweep: the sweep's report says what happened. */
const QUIET = { info: () => {}, warn: () => {}, error: () => {} };

/** What a sweep needs from the grant engine (GrantEngine has it). */
export interface SweepEngine {
  revoke(key: LedgerKey, opts: { reason: string; actor: string }): Promise<Decision<RevokeDetails>>;
  /** Many due rows of one (cluster, role) at once (issue 16); without it the sweep revokes one by one. */
  revokeMany?(ids: number[], opts: { reason: string; actor: string }): Promise<{ id: number; decision: Decision<RevokeDetails> }[]>;
  reconcile(actor?: string): Promise<ReconcileReport>;
  /** The tick's activity sample of open windows (src/db/activity.ts); optional, never throws. */
  sampleOpenWindows?(): Promise<number>;
}


export interface SweepDeps {
  state: pg.Pool;
  engines: { engine(policy: Policy): SweepEngine };
  policies: PolicySource;
  /** Who revokes, as the ledger records it, e.g. "scheduler:host:pid" or "cli:expire". */
  actor: string;
  /** Checked before every side effect (the leader lock); NO_LEADER for `jit expire`. */
  leadership: Leadership;
}

export interface SweepOptions {
  batchSize?: number;
  parallel?: number;
  /** Also reconcile app-granted memberships against the ledger (I8). */
  reconcile?: boolean;
  /** Also queue revert PRs that a crash between revoke and queueing left out. */
  recoverReverts?: boolean;
}

export interface RevokedGrant {
  ledgerId: number;
  repository: string;
  database: string;
  requestId: string;
  role: string;
  dbUser: string;
  expiresAt: string;
  revokedAt: string;
  /** revoked_at - expires_at, both by the database clock. */
  lagMs: number;
  sessionsEnded: number;
  outcome: string;
  /** I14: what the grantee left on the bundle that the app could not undo (JIT_WINDOW_RESIDUE). */
  residue: { message: string; fix: string[] }[];
}

export interface FailedGrant {
  ledgerId: number;
  repository: string;
  database: string;
  requestId: string;
  code: JitCode;
  message: string;
}

export interface SweepReconcile {
  orphans: (OrphanReport & { repository: string })[];
  standing: (StandingAccess & { repository: string })[];
  missing: number[];
  abandonedIntents: number[];
}

export interface SweepReport {
  actor: string;
  startedAt: string;
  finishedAt: string;
  /** Due rows this sweep claimed (others may have been claimed by another sweeper). */
  claimed: number;
  revoked: RevokedGrant[];
  /** Claimed, but closed meanwhile by someone else (another sweeper, an early revoke). */
  alreadyClosed: number;
  failed: FailedGrant[];
  revertsQueued: number;
  lag: { p50: number; p99: number; max: number; count: number } | null;
  leaderLost: boolean;
  reconcile?: SweepReconcile;
  problems: Problem[];
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : "");

export async function sweep(deps: SweepDeps, opts: SweepOptions = {}): Promise<SweepReport> {
  const batchSize = opts.batchSize ?? 1000;
  const parallel = Math.max(1, opts.parallel ?? 4);
  const report: SweepReport = {
    actor: deps.actor, startedAt: "", finishedAt: "", claimed: 0, revoked: [], alreadyClosed: 0, failed: [], revertsQueued: 0,
    lag: null, leaderLost: false, problems: [],
  };
  const policyCache = new Map<string, Promise<Decision<Policy | null>>>();
  const policyFor = (r: DueRow) => {
    const k = `${r.repository}\u0000${r.database}\u0000${r.mergeSha ?? ""}`;
    let p = policyCache.get(k);
    if (!p) {
      p = deps.policies.policyFor({ repository: r.repository, database: r.database, mergeSha: r.mergeSha });
      policyCache.set(k, p);
    }
    return p;
  };

  const client = await deps.state.connect();
  let broken = false;
  try {
    report.startedAt = await databaseNow(client);
    const attempted: number[] = [];
    for (;;) {
      await deps.leadership.assertLeader();
      const { mine: due, seen } = await claimDue(client, batchSize, attempted, report.startedAt);
      if (seen.length === 0) break;
      // Rows another sweeper holds are left to it and not looked at again in this sweep.
      attempted.push(...seen);
      report.claimed += due.length;

      await revokeBatches(deps, groupDue(due), parallel, report, policyFor);
      // The batch is done (revoked rows are no longer due): give its claims back.
      await releaseClaims(client);
      // Loop until a claim finds nothing new: grants that expired while this page was being
      // revoked (a backlog takes seconds) are taken now, not left to the next cron tick.
    }

    if (opts.recoverReverts) {
      await deps.leadership.assertLeader();
      report.revertsQueued += await recoverReverts(deps.state);
    }
    if (opts.reconcile) report.reconcile = await reconcileAll(deps, report);
  } catch (e) {
    if (!(e instanceof LeaderLostError)) {
      broken = true;
      throw e;
    }
    report.leaderLost = true;
    report.problems.push(problem("JIT_LEADER_LOST", e.message));
  } finally {
    // Never hand a connection with claims still held back to the pool.
    if (!broken) {
      try {
        report.finishedAt = await releaseClaims(client);
      } catch {
        broken = true;
      }
    }
    client.release(broken);
  }
  report.lag = lagSummary(report.revoked.map((g) => g.lagMs));
  return report;
}

/**
 * Issue 16: due rows grouped per (cluster, repository, connection, role) — one batch REVOKE, one
 * termination per round and one verification each — and the groups of each cluster run `parallel`
 * at a time while clusters run side by side, so a cluster that fails or hangs holds up only its
 * own grants.
 */
function groupDue(due: DueRow[]): Map<string, DueRow[][]> {
  const groups = new Map<string, DueRow[]>();
  for (const r of due) {
    const k = JSON.stringify([r.clusterId, r.repository, r.connectionEnv ?? r.database, r.role]);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const byCluster = new Map<string, DueRow[][]>();
  for (const g of groups.values()) byCluster.set(g[0]!.clusterId, [...(byCluster.get(g[0]!.clusterId) ?? []), g]);
  return byCluster;
}

type PolicyFor = (r: DueRow) => Promise<Decision<Policy | null>>;

async function revokeBatches(deps: SweepDeps, byCluster: Map<string, DueRow[][]>, parallel: number, report: SweepReport, policyFor: PolicyFor): Promise<void> {
  let abort = false;
  const lane = async (queue: DueRow[][]) => {
    for (let g = queue.shift(); g && !abort; g = queue.shift()) {
      try {
        await revokeGroup(deps, g, report, policyFor);
      } catch (e) {
        abort = true;
        throw e;
      }
    }
  };
  const lanes = [...byCluster.values()].flatMap((groups) => {
    const queue = [...groups];
    return Array.from({ length: Math.min(parallel, groups.length) }, () => lane(queue));
  });
  const results = await Promise.allSettled(lanes);
  const rejected = results.find((x): x is PromiseRejectedResult => x.status === "rejected");
  if (rejected) throw rejected.reason;
}

async function revokeGroup(deps: SweepDeps, rows: DueRow[], report: SweepReport, policyFor: PolicyFor): Promise<void> {
  const fail = (r: DueRow, code: JitCode, message: string) => report.failed.push({ ledgerId: r.id, repository: r.repository, database: r.database, requestId: r.requestId, code, message });
  const serves = (r: DueRow) => deps.policies.serves?.(r.repository) ?? true;
  const actionFor = (r: DueRow, policy: Decision<Policy | null>) => expiryAction({ ledgerId: r.id, key: { repository: r.repository, database: r.database, requestId: r.requestId },
    connectionEnv: r.connectionEnv }, policy, serves(r), deps.actor);
  const env: ApplyEnv = { state: deps.state, log: QUIET, engine: (p) => deps.engines.engine(p), now: () => 0, leadership: deps.leadership };
  const first = actionFor(rows[0]!, await policyFor(rows[0]!));
  // One batch with the first row's policy when the engine can (the group shares repository,
  // cluster, connection and role); otherwise row by row, each with its own policy.
  const batch = first.kind === "revoke" && rows.length > 1 && Boolean(deps.engines.engine(first.policy ?? NO_POLICY).revokeMany);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const apply = async (actions: RevokeAction[]) => {
    const { revertsQueued } = await applyRevokes(env, actions, (action, applied) => {
      // Rows closed meanwhile (another sweeper, an early revoke) are not locked by a batch.
      if (!applied?.revoke) report.alreadyClosed++;
      else record(report, byId.get(action.ledgerId!)!, applied.revoke, fail);
    });
    report.revertsQueued += revertsQueued;
  };
  if (batch && first.kind === "revoke") {
    await apply(rows.map((r) => ({ ...first, ledgerId: r.id, key: { repository: r.repository, database: r.database, requestId: r.requestId } })));
    return;
  }
  for (const [i, r] of rows.entries()) {
    const action = i === 0 ? first : actionFor(r, await policyFor(r));
    if (action.kind === "refuse") fail(r, action.code, action.problems[0]!.message);
    else await apply([action]);
  }
}

function record(report: SweepReport, r: DueRow, d: Decision<RevokeDetails>, fail: (r: DueRow, code: JitCode, message: string) => void): void {
  if (!d.ok) {
    fail(r, d.code, d.message);
    return;
  }
  const row = d.details.row;
  if (d.details.alreadyClosed) report.alreadyClosed++;
  else if (row) {
    report.revoked.push({
      ledgerId: row.id, repository: row.repository, database: row.database, requestId: row.requestId, role: row.role, dbUser: row.dbUser,
      expiresAt: iso(row.expiresAt), revokedAt: iso(row.revokedAt),
      lagMs: row.revokedAt && row.expiresAt ? row.revokedAt.getTime() - row.expiresAt.getTime() : 0,
      sessionsEnded: d.details.applied?.sessionsEnded ?? 0, outcome: d.details.applied?.outcome ?? "revoked",
      residue: (d.details.residue?.remaining ?? []).map((f) => ({ message: f.message, fix: f.fix })),
    });
  }
}

async function reconcileAll(deps: SweepDeps, report: SweepReport): Promise<SweepReconcile> {
  const out: SweepReconcile = { orphans: [], standing: [], missing: [], abandonedIntents: [] };
  for (const { repository, policy } of await deps.policies.policiesToReconcile()) {
    await deps.leadership.assertLeader();
    const r = await deps.engines.engine(policy).reconcile(deps.actor);
    out.orphans.push(...r.orphans.map((o) => ({ ...o, repository })));
    out.standing.push(...r.standing.map((s) => ({ ...s, repository })));
    out.missing.push(...r.missing);
    out.abandonedIntents.push(...r.abandonedIntents);
    report.problems.push(...r.problems);
  }
  out.missing = [...new Set(out.missing)];
  return out;
}

/** Records the sweep for health and JIT_SWEEP_STALE; the time is the database's. */
export async function recordSweep(state: Pick<pg.Pool, "query">, sweeper: string, outcome: { report?: SweepReport; error?: string }): Promise<void> {
  const summary = outcome.report ? summarize(outcome.report) : {};
  if (outcome.error === undefined && outcome.report && !outcome.report.leaderLost) {
    await recordSweepRow(state, sweeper, { ok: true, startedAt: outcome.report.startedAt || null, summary });
  } else {
    await recordSweepRow(state, sweeper, { ok: false, error: outcome.error ?? outcome.report?.problems[0]?.message ?? "", summary });
  }
}

export function summarize(r: SweepReport): Record<string, unknown> {
  return {
    actor: r.actor, startedAt: r.startedAt, finishedAt: r.finishedAt, claimed: r.claimed, revoked: r.revoked.length, alreadyClosed: r.alreadyClosed,
    failed: r.failed.length, revertsQueued: r.revertsQueued, lag: r.lag, leaderLost: r.leaderLost,
    orphans: r.reconcile?.orphans.length ?? null, standing: r.reconcile?.standing.length ?? null, problems: r.problems.map((p) => p.code),
  };
}
