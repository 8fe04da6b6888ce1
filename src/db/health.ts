// What /health reads from the state database: sweeps, overdue grants, by the database clock.
import type { Queryable } from "./state.ts";

export interface SweepRow {
  sweeper: string;
  lastSuccessAt: Date | null;
  lastFailureAt: Date | null;
  lastError: string | null;
  ageMs: number | null;
}

export interface OverdueRow {
  id: number;
  repository: string;
  database: string;
  requestId: string;
  expiresAt: Date;
  overdueMs: number;
}

export interface HealthFacts {
  now: Date;
  /** Most recent success first. */
  sweeps: SweepRow[];
  due: { count: number; oldestMs: number | null };
  /** At most 50, past expiry by more than the threshold, most overdue first. */
  late: OverdueRow[];
}

export async function healthFacts(q: Queryable, overdueAfterMs: number): Promise<HealthFacts> {
  const { rows: [now] } = await q.query<{ now: Date }>("SELECT now() AS now");
  const { rows: sweeps } = await q.query<{ sweeper: string; last_success_at: Date | null; last_failure_at: Date | null; last_error: string | null; age_ms: string | null }>(
    `SELECT sweeper, last_success_at, last_failure_at, last_error, (extract(epoch FROM now() - last_success_at) * 1000)::int8 AS age_ms
       FROM sweeps ORDER BY last_success_at DESC NULLS LAST`);
  const { rows: [due] } = await q.query<{ n: number; oldest_ms: string | null }>(
    `SELECT count(*)::int AS n, (extract(epoch FROM now() - min(expires_at)) * 1000)::int8 AS oldest_ms
       FROM ledger WHERE status = 'active' AND expires_at <= now()`);
  const { rows: late } = await q.query<{ id: string; repository: string; database: string; request_id: string; expires_at: Date; overdue_ms: string }>(
    `SELECT id, repository, database, request_id, expires_at, (extract(epoch FROM now() - expires_at) * 1000)::int8 AS overdue_ms
       FROM ledger WHERE status = 'active' AND expires_at <= now() - $1 * interval '1 millisecond' ORDER BY expires_at LIMIT 50`, [overdueAfterMs]);
  return {
    now: now!.now,
    sweeps: sweeps.map((s) => ({ sweeper: s.sweeper, lastSuccessAt: s.last_success_at, lastFailureAt: s.last_failure_at, lastError: s.last_error, ageMs: s.age_ms == null ? null : Number(s.age_ms) })),
    due: { count: due!.n, oldestMs: due!.oldest_ms == null ? null : Number(due!.oldest_ms) },
    late: late.map((r) => ({ id: Number(r.id), repository: r.repository, database: r.database, requestId: r.request_id, expiresAt: r.expires_at, overdueMs: Number(r.overdue_ms) })),
  };
}

/** Repositories with active grants: where a stalled sweeper is alerted. */
export async function repositoriesWithActiveGrants(q: Queryable): Promise<string[]> {
  const { rows } = await q.query<{ repository: string }>("SELECT DISTINCT repository FROM ledger WHERE status = 'active'");
  return rows.map((r) => r.repository);
}

/** Milliseconds to the next future expiry by the database clock (null: none), for the scheduler's timer. */
export async function msToNextExpiry(q: Queryable): Promise<number | null> {
  const { rows } = await q.query<{ ms: number | null }>(
    "SELECT (extract(epoch FROM min(expires_at) - now()) * 1000)::float8 AS ms FROM ledger WHERE status = 'active' AND expires_at > now()");
  return rows[0]?.ms ?? null;
}

/**
 * Distinct repositories of the ledger by a loose index scan over ledger_request_once, so the cost
 * is one index probe per repository, not one row per grant ever made.
 */
export async function ledgerRepositories(q: Queryable): Promise<string[]> {
  const { rows } = await q.query<{ repository: string }>(`
    WITH RECURSIVE r AS (
      (SELECT repository FROM ledger ORDER BY repository LIMIT 1)
      UNION ALL
      SELECT (SELECT l.repository FROM ledger l WHERE l.repository > r.repository ORDER BY l.repository LIMIT 1) FROM r WHERE r.repository IS NOT NULL
    ) SELECT repository FROM r WHERE repository IS NOT NULL`);
  return rows.map((r) => r.repository);
}
