// Scheduled grants (migration 018): merged requests whose start lies ahead. Nothing here touches a
// target database; the activation pass (src/scheduler/activation.ts) grants through the engine.
// Times are the state database's clock.
import type { JitCode } from "../core/codes.ts";
import { appendEvent } from "./events.ts";
import type { LedgerKey } from "./ledger.ts";
import type { Queryable } from "./state.ts";

export type ScheduledStatus = "scheduled" | "activated" | "cancelled" | "refused";

export interface ScheduledInput extends LedgerKey {
  path: string;
  prNumber: number;
  headSha: string;
  mergeSha: string | null;
  /** GitHub's merged_at (RFC 3339). */
  mergedAt: string;
  requester: string;
  approvers: string[];
  role: string;
  dbUser: string;
  durationMs: number;
  duration: string;
  reason: string;
  ticket: string | null;
  /** RFC 3339 with offset, as the request wrote it. */
  start: string;
  actor: string;
}

export interface ScheduledRow extends Omit<ScheduledInput, "start" | "mergedAt"> {
  id: number;
  mergedAt: Date;
  startsAt: Date;
  status: ScheduledStatus;
  closedAt: Date | null;
  closeCode: string | null;
  closeReason: string | null;
}

const COLUMNS = `id::int8 AS id, repository, path, database, request_id, pr_number, head_sha, merge_sha, merged_at, requester, approvers,
  role, db_user, duration_ms::int8 AS duration_ms, duration, reason, ticket, starts_at, status, closed_at, close_code, close_reason, actor`;

interface Raw {
  id: string; repository: string; path: string; database: string; request_id: string; pr_number: number; head_sha: string;
  merge_sha: string | null; merged_at: Date; requester: string; approvers: string[]; role: string; db_user: string; duration_ms: string; duration: string; reason: string; ticket: string | null;
  starts_at: Date; status: ScheduledStatus; closed_at: Date | null; close_code: string | null; close_reason: string | null; actor: string;
}

function toRow(r: Raw): ScheduledRow {
  return {
    id: Number(r.id), repository: r.repository, path: r.path, database: r.database, requestId: r.request_id, prNumber: r.pr_number,
    headSha: r.head_sha, mergeSha: r.merge_sha, mergedAt: r.merged_at, requester: r.requester, approvers: r.approvers, role: r.role,
    dbUser: r.db_user, durationMs: Number(r.duration_ms), duration: r.duration, reason: r.reason, ticket: r.ticket, startsAt: r.starts_at, status: r.status, closedAt: r.closed_at,
    closeCode: r.close_code, closeReason: r.close_reason, actor: r.actor,
  };
}

/** Records a scheduled grant once per request id; a second call (redelivery) returns the first row. */
export async function insertScheduled(q: Queryable, s: ScheduledInput): Promise<{ row: ScheduledRow; created: boolean }> {
  const { rows } = await q.query<Raw>(`
    INSERT INTO scheduled_grants (repository, path, database, request_id, pr_number, head_sha, merge_sha, merged_at, requester, approvers,
                                  role, db_user, duration_ms, duration, reason, ticket, starts_at, actor)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz, $9, $10, $11, $12, $13, $14, $15, $16, $17::timestamptz, $18)
    ON CONFLICT (repository, database, request_id) DO NOTHING RETURNING ${COLUMNS}`,
  [s.repository, s.path, s.database, s.requestId, s.prNumber, s.headSha, s.mergeSha, s.mergedAt, s.requester, s.approvers,
    s.role, s.dbUser, s.durationMs, s.duration, s.reason, s.ticket, s.start, s.actor]);
  if (rows[0]) {
    const row = toRow(rows[0]);
    await appendEvent(q, { repository: s.repository, database: s.database, requestId: s.requestId, actor: s.actor, kind: "scheduled",
      details: { role: s.role, dbUser: s.dbUser, durationMs: s.durationMs, startsAt: row.startsAt.toISOString(), prNumber: s.prNumber, approvers: s.approvers } });
    return { row, created: true };
  }
  return { row: (await getScheduled(q, s))!, created: false };
}

export async function getScheduled(q: Queryable, key: LedgerKey): Promise<ScheduledRow | undefined> {
  const { rows } = await q.query<Raw>(`SELECT ${COLUMNS} FROM scheduled_grants WHERE repository = $1 AND database = $2 AND request_id = $3`,
    [key.repository, key.database, key.requestId]);
  return rows[0] ? toRow(rows[0]) : undefined;
}

/** Pending rows whose start has come (database clock), oldest first, locked for this pass. */
export async function lockDue(q: Queryable, limit: number): Promise<ScheduledRow[]> {
  const { rows } = await q.query<Raw>(`
    SELECT ${COLUMNS} FROM scheduled_grants WHERE status = 'scheduled' AND starts_at <= clock_timestamp()
     ORDER BY starts_at, id LIMIT $1 FOR UPDATE SKIP LOCKED`, [limit]);
  return rows.map(toRow);
}

/**
 * Milliseconds until the next pending start or break-glass deadline (null: none), by the database clock. A start that is
 * already due (a merge handled after it, a pass that failed) counts once a second for a minute, so
 * it is not left to the periodic tick, without a tight loop when it keeps failing.
 */
export async function msUntilNextStart(q: Queryable): Promise<number | null> {
  const { rows } = await q.query<{ ms: number | null }>(`
    SELECT (extract(epoch FROM min(CASE WHEN starts_at > now() THEN starts_at - now() ELSE interval '1 second' END)) * 1000)::float8 AS ms
      FROM (SELECT starts_at FROM scheduled_grants WHERE status = 'scheduled' AND starts_at > now() - interval '1 minute'
            UNION ALL -- break-glass deadlines (src/db/break-glass.ts) share the timer
            SELECT deadline FROM break_glass_grants WHERE status = 'open' AND deadline > now() - interval '1 minute') e`);
  return rows[0]?.ms ?? null;
}

/** Closes a pending row (only a pending one: a row closed by another pass stays as it is). */
export async function closeScheduled(q: Queryable, id: number, c: { status: Exclude<ScheduledStatus, "scheduled">; code?: JitCode | null; reason: string; actor: string }): Promise<ScheduledRow | undefined> {
  const { rows } = await q.query<Raw>(`
    UPDATE scheduled_grants SET status = $2, closed_at = clock_timestamp(), close_code = $3, close_reason = $4
     WHERE id = $1 AND status = 'scheduled' RETURNING ${COLUMNS}`, [id, c.status, c.code ?? null, c.reason]);
  const row = rows[0] ? toRow(rows[0]) : undefined;
  if (row) {
    const kind = c.status === "activated" ? "schedule_activated" : c.status === "cancelled" ? "schedule_cancelled" : "schedule_refused";
    await appendEvent(q, { repository: row.repository, database: row.database, requestId: row.requestId, actor: c.actor, kind,
      code: c.code ?? null, details: { reason: c.reason, startsAt: row.startsAt.toISOString() } });
  }
  return row;
}

/** Pending scheduled grants, soonest first, with the time to their start by the database clock (jit status). */
export async function listScheduled(q: Queryable, repository?: string): Promise<(ScheduledRow & { startsInMs: number })[]> {
  const { rows } = await q.query<Raw & { starts_in_ms: number }>(`SELECT ${COLUMNS}, (extract(epoch FROM starts_at - now()) * 1000)::float8 AS starts_in_ms
      FROM scheduled_grants WHERE status = 'scheduled' AND ($1::text IS NULL OR repository = $1) ORDER BY starts_at, id`, [repository ?? null]);
  return rows.map((r) => ({ ...toRow(r), startsInMs: Number(r.starts_in_ms) }));
}

/** Whether start + duration has passed by the database clock (then nothing is granted). */
export async function windowPassed(q: Queryable, row: Pick<ScheduledRow, "startsAt" | "durationMs">): Promise<boolean> {
  const { rows } = await q.query<{ passed: boolean }>(
    "SELECT $1::timestamptz + $2::bigint * interval '1 millisecond' <= clock_timestamp() AS passed", [row.startsAt, row.durationMs]);
  return rows[0]!.passed;
}
