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
import type pg from "pg";
import type { JitCode } from "../core/codes.ts";
import { problem, type Decision, type Problem } from "../core/problem.ts";
import type { Policy } from "../core/types.ts";
import type { OrphanReport, ReconcileReport, RevokeDetails, StandingAccess } from "../db/grantor.ts";
import type { LedgerKey } from "../db/ledger.ts";
import { lagSummary } from "./config.ts";
import { LeaderLostError, LOCK_CLASS, type Leadership } from "./leader.ts";
import type { PolicySource } from "./policy-source.ts";

/** Recorded as the ledger's revoke_reason; also how a revert PR is recognised as due. */
export const EXPIRY_REASON = "expired";
export const REVERT_PR_KIND = "revert_pr";
/** Per-row claims: advisory lock class next to the leader's. */
export const CLAIM_CLASS = LOCK_CLASS + 1;

/** What a sweep needs from the grant engine (GrantEngine has it). */
export interface SweepEngine {
  revoke(key: LedgerKey, opts: { reason: string; actor: string }): Promise<Decision<RevokeDetails>>;
  /** Many due rows of one (cluster, role) at once (issue 16); without it the sweep revokes one by one. */
  revokeMany?(ids: number[], opts: { reason: string; actor: string }): Promise<{ id: number; decision: Decision<RevokeDetails> }[]>;
  reconcile(actor?: string): Promise<ReconcileReport>;
  /** The tick's activity sample of open windows (src/db/activity.ts); optional, never throws. */
  sampleOpenWindows?(): Promise<number>;
}

/**
 * I15: a revoke whose grant recorded its connection variable needs no policy at all; when no policy
 * defines the grant's database any more (key deleted, repository gone) it runs with this one, which
 * names no database: the engine connects through the recorded variable, or any configured one that
 * reaches the recorded cluster.
 */
export const NO_POLICY: Policy = { databases: {}, identities: {} };

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

interface DueRow {
  id: number;
  repository: string;
  database: string;
  requestId: string;
  path: string;
  mergeSha: string | null;
  clusterId: string;
  role: string;
  connectionEnv: string | null;
}

/**
 * Claims up to `limit` due rows: row locks (SKIP LOCKED) for the duration of the claim, then a
 * session advisory lock per row that outlives the transaction and dies with the connection.
 */
async function claimDue(client: pg.PoolClient, limit: number, exclude: number[], since: string): Promise<{ mine: DueRow[]; seen: number[] }> {
  await client.query("BEGIN");
  try {
    // The database clock decides what is due. Grants that fell due after this sweep started come
    // first (a handful per page: they would otherwise wait behind a whole backlog), then the
    // backlog, most overdue first.
    const { rows: due } = await client.query<{ id: string; repository: string; database: string; request_id: string; path: string; merge_sha: string | null;
      cluster_id: string; role: string; connection_env: string | null }>(
      `SELECT id, repository, database, request_id, path, merge_sha, cluster_id, role, connection_env FROM ledger
        WHERE status = 'active' AND expires_at <= now() AND NOT (id = ANY($2::int8[]))
        ORDER BY expires_at > $3::timestamptz DESC, expires_at LIMIT $1 FOR UPDATE SKIP LOCKED`, [limit, exclude, since]);
    let held = new Set<string>();
    if (due.length > 0) {
      // The lock function runs over exactly these ids (never in a WHERE the planner could push
      // down to a scan of the whole ledger). Keys are int4: ids 2^31 apart share one, which at
      // worst leaves a row to the next sweep.
      const { rows } = await client.query<{ id: string }>(
        "SELECT c.id FROM unnest($1::int8[]) AS c(id) WHERE pg_try_advisory_lock($2::int, (c.id % 2147483648)::int)",
        [due.map((r) => r.id), CLAIM_CLASS]);
      held = new Set(rows.map((r) => String(r.id)));
    }
    await client.query("COMMIT");
    const mine = due.filter((r) => held.has(String(r.id)))
      .map((r) => ({ id: Number(r.id), repository: r.repository, database: r.database, requestId: r.request_id, path: r.path, mergeSha: r.merge_sha,
        clusterId: r.cluster_id, role: r.role, connectionEnv: r.connection_env }));
    return { mine, seen: due.map((r) => Number(r.id)) };
  } catch (e) {
    await client.query("ROLLBACK").catch(() => {});
    throw e;
  }
}

/** enqueueRevert for many grants in one statement; returns how many were queued now. */
export async function enqueueReverts(q: Pick<pg.Pool, "query">, gs: { id: number; repository: string; database: string; requestId: string; path: string }[]): Promise<number> {
  if (gs.length === 0) return 0;
  const { rowCount } = await q.query(
    `INSERT INTO outbox (kind, dedupe_key, payload) SELECT $1, k, p FROM unnest($2::text[], $3::jsonb[]) AS u(k, p) ON CONFLICT (dedupe_key) DO NOTHING`,
    [REVERT_PR_KIND, gs.map(revertKey), gs.map((g) => JSON.stringify({ ledgerId: g.id, repository: g.repository, database: g.database, requestId: g.requestId, path: g.path }))]);
  return rowCount ?? 0;
}

/** Queues the revert PR of an expired grant; one per request however often it is called. */
export async function enqueueRevert(q: Pick<pg.Pool, "query">, g: { id: number; repository: string; database: string; requestId: string; path: string }): Promise<boolean> {
  const { rowCount } = await q.query(
    `INSERT INTO outbox (kind, dedupe_key, payload) VALUES ($1, $2, $3) ON CONFLICT (dedupe_key) DO NOTHING`,
    [REVERT_PR_KIND, revertKey(g), JSON.stringify({ ledgerId: g.id, repository: g.repository, database: g.database, requestId: g.requestId, path: g.path })]);
  return rowCount === 1;
}

export function revertKey(g: { repository: string; database: string; requestId: string }): string {
  return `${REVERT_PR_KIND}:${g.repository}:${g.database}/${g.requestId}`;
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
    report.startedAt = (await client.query<{ now: Date }>("SELECT clock_timestamp() AS now")).rows[0]!.now.toISOString();
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
      await client.query("SELECT pg_advisory_unlock_all()");
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
        report.finishedAt = (await client.query<{ now: Date }>("SELECT pg_advisory_unlock_all(), clock_timestamp() AS now")).rows[0]!.now.toISOString();
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
  const engineFor = async (r: DueRow): Promise<SweepEngine | null> => {
    const policy = await policyFor(r);
    if (policy.ok && policy.details) return deps.engines.engine(policy.details);
    // I15: an edited or deleted policy never stops a revoke whose grant recorded its connection
    // variable, as long as this sweeper serves the grant's repository at all.
    if (r.connectionEnv && (deps.policies.serves?.(r.repository) ?? true)) return deps.engines.engine(NO_POLICY);
    fail(r, policy.code, policy.message);
    return null;
  };
  const opts = { reason: EXPIRY_REASON, actor: deps.actor };
  const first = await engineFor(rows[0]!);
  if (rows.length > 1 && first?.revokeMany) {
    await deps.leadership.assertLeader(); // before the side effect: REVOKE and ending sessions
    const byId = new Map(rows.map((r) => [r.id, r]));
    const outcomes = await first.revokeMany(rows.map((r) => r.id), opts);
    // Rows closed meanwhile (another sweeper, an early revoke) are not locked by revokeMany.
    const seen = new Set(outcomes.map((o) => o.id));
    report.alreadyClosed += rows.filter((r) => !seen.has(r.id)).length;
    const reverts: { id: number; repository: string; database: string; requestId: string; path: string }[] = [];
    for (const { id, decision: d } of outcomes) {
      record(report, byId.get(id)!, d, fail);
      const row = d.details.row;
      if (d.ok && row?.status === "revoked" && row.revokeReason === EXPIRY_REASON) reverts.push({ id: row.id, repository: row.repository, database: row.database, requestId: row.requestId, path: row.path });
    }
    // After the revokes, never before; the outbox is drained by other work, never in this loop.
    await deps.leadership.assertLeader();
    report.revertsQueued += await enqueueReverts(deps.state, reverts);
    return;
  }
  for (const [i, r] of rows.entries()) {
    const engine = i === 0 ? first : await engineFor(r);
    if (!engine) continue;
    await deps.leadership.assertLeader(); // before the side effect: REVOKE and ending sessions
    const d = await engine.revoke({ repository: r.repository, database: r.database, requestId: r.requestId }, opts);
    record(report, r, d, fail);
    // After the revoke, never before; also when another sweeper closed it for expiry (idempotent).
    const row = d.details.row;
    if (row?.status === "revoked" && row.revokeReason === EXPIRY_REASON) {
      await deps.leadership.assertLeader();
      report.revertsQueued += await enqueueReverts(deps.state, [{ id: row.id, repository: row.repository, database: row.database, requestId: row.requestId, path: row.path }]);
    }
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

/** Expired grants of the last day without a revert PR queued: a crash hit between revoke and queueing. */
export async function recoverReverts(state: pg.Pool): Promise<number> {
  const { rows } = await state.query<{ id: string; repository: string; database: string; request_id: string; path: string }>(
    `SELECT l.id, l.repository, l.database, l.request_id, l.path FROM ledger l
      WHERE l.status = 'revoked' AND l.revoked_at > now() - interval '1 day' AND l.revoke_reason = $1
        AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.dedupe_key = $2 || ':' || l.repository || ':' || l.database || '/' || l.request_id)`,
    [EXPIRY_REASON, REVERT_PR_KIND]);
  let n = 0;
  for (const r of rows) {
    if (await enqueueRevert(state, { id: Number(r.id), repository: r.repository, database: r.database, requestId: r.request_id, path: r.path })) n++;
  }
  return n;
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
    await state.query(
      `INSERT INTO sweeps (sweeper, last_started_at, last_success_at, last_report) VALUES ($1, $2, clock_timestamp(), $3)
       ON CONFLICT (sweeper) DO UPDATE SET last_started_at = excluded.last_started_at, last_success_at = excluded.last_success_at,
         last_report = excluded.last_report`,
      [sweeper, outcome.report.startedAt || null, JSON.stringify(summary)]);
  } else {
    await state.query(
      `INSERT INTO sweeps (sweeper, last_failure_at, last_error, last_report) VALUES ($1, clock_timestamp(), $2, $3)
       ON CONFLICT (sweeper) DO UPDATE SET last_failure_at = excluded.last_failure_at, last_error = excluded.last_error,
         last_report = excluded.last_report`,
      [sweeper, (outcome.error ?? outcome.report?.problems[0]?.message ?? "").slice(0, 1000), JSON.stringify(summary)]);
  }
}

export function summarize(r: SweepReport): Record<string, unknown> {
  return {
    actor: r.actor, startedAt: r.startedAt, finishedAt: r.finishedAt, claimed: r.claimed, revoked: r.revoked.length, alreadyClosed: r.alreadyClosed,
    failed: r.failed.length, revertsQueued: r.revertsQueued, lag: r.lag, leaderLost: r.leaderLost,
    orphans: r.reconcile?.orphans.length ?? null, standing: r.reconcile?.standing.length ?? null, problems: r.problems.map((p) => p.code),
  };
}
