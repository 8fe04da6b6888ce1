// The expiry sweep's SQL: claiming due ledger rows across concurrent sweepers, giving the claims
// back, and the database clock the sweep reports in. Due rows are claimed with FOR UPDATE SKIP
// LOCKED (rows a revoke is holding are skipped, not waited for) and held by a session advisory lock
// per row on the sweep's own connection, which the server drops if the process dies.
import type pg from "pg";
import { LOCK_CLASS } from "./leader-lock.ts";
import type { Queryable } from "./state.ts";

/** Per-row claims: advisory lock class next to the leader's. */
export const CLAIM_CLASS = LOCK_CLASS + 1;

export interface DueRow {
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

/** The claim's statement ($1 limit, $2 ids to skip, $3 the sweep's start); exported for bench/expiry.bench.ts's EXPLAIN. */
export const CLAIM_DUE_SQL = `SELECT id, repository, database, request_id, path, merge_sha, cluster_id, role, connection_env FROM ledger
        WHERE status = 'active' AND expires_at <= now() AND NOT (id = ANY($2::int8[]))
        ORDER BY expires_at > $3::timestamptz DESC, expires_at LIMIT $1 FOR UPDATE SKIP LOCKED`;

/** The database's clock now (clock_timestamp: not the transaction's start). */
export async function databaseNow(q: Queryable): Promise<string> {
  return (await q.query<{ now: Date }>("SELECT clock_timestamp() AS now")).rows[0]!.now.toISOString();
}

/**
 * Claims up to `limit` due rows: row locks (SKIP LOCKED) for the duration of the claim, then a
 * session advisory lock per row that outlives the transaction and dies with the connection.
 */
export async function claimDue(client: pg.PoolClient, limit: number, exclude: number[], since: string): Promise<{ mine: DueRow[]; seen: number[] }> {
  await client.query("BEGIN");
  try {
    // The database clock decides what is due. Grants that fell due after this sweep started come
    // first (a handful per page: they would otherwise wait behind a whole backlog), then the
    // backlog, most overdue first.
    const { rows: due } = await client.query<{ id: string; repository: string; database: string; request_id: string; path: string; merge_sha: string | null;
      cluster_id: string; role: string; connection_env: string | null }>(CLAIM_DUE_SQL, [limit, exclude, since]);
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

/** Gives every claim of this connection back; returns the database clock (the sweep's end). */
export async function releaseClaims(client: pg.PoolClient): Promise<string> {
  return (await client.query<{ now: Date }>("SELECT pg_advisory_unlock_all(), clock_timestamp() AS now")).rows[0]!.now.toISOString();
}

/** Records a sweep for health and JIT_SWEEP_STALE; the time is the database's. */
export async function recordSweepRow(q: Queryable, sweeper: string, o: { ok: true; startedAt: string | null; summary: object } | { ok: false; error: string; summary: object }): Promise<void> {
  if (o.ok) {
    await q.query(
      `INSERT INTO sweeps (sweeper, last_started_at, last_success_at, last_report) VALUES ($1, $2, clock_timestamp(), $3)
       ON CONFLICT (sweeper) DO UPDATE SET last_started_at = excluded.last_started_at, last_success_at = excluded.last_success_at,
         last_report = excluded.last_report`,
      [sweeper, o.startedAt, JSON.stringify(o.summary)]);
  } else {
    await q.query(
      `INSERT INTO sweeps (sweeper, last_failure_at, last_error, last_report) VALUES ($1, clock_timestamp(), $2, $3)
       ON CONFLICT (sweeper) DO UPDATE SET last_failure_at = excluded.last_failure_at, last_error = excluded.last_error,
         last_report = excluded.last_report`,
      [sweeper, o.error.slice(0, 1000), JSON.stringify(o.summary)]);
  }
}
