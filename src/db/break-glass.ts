// Break-glass grants (migration 018). The row is reserved before the GRANT, so the unique index on
// open rows per requester decides between two concurrent break-glass requests of one person.
import { appendEvent } from "./events.ts";
import type { LedgerKey } from "./ledger.ts";
import type { Queryable } from "./state.ts";

export interface BreakGlassRow extends LedgerKey {
  id: number;
  prNumber: number;
  requester: string;
  dbUser: string;
  headSha: string;
  deadline: Date;
  status: "open" | "confirmed" | "expired";
}

const COLUMNS = "id::int8 AS id, repository, database, request_id, pr_number, requester, db_user, head_sha, deadline, status";
type Raw = { id: string; repository: string; database: string; request_id: string; pr_number: number; requester: string; db_user: string; head_sha: string; deadline: Date; status: BreakGlassRow["status"] };
const toRow = (r: Raw): BreakGlassRow => ({
  id: Number(r.id), repository: r.repository, database: r.database, requestId: r.request_id, prNumber: r.pr_number, requester: r.requester,
  dbUser: r.db_user, headSha: r.head_sha, deadline: r.deadline, status: r.status,
});

export async function getBreakGlass(q: Queryable, key: LedgerKey): Promise<BreakGlassRow | undefined> {
  const { rows } = await q.query<Raw>(`SELECT ${COLUMNS} FROM break_glass_grants WHERE repository = $1 AND database = $2 AND request_id = $3`,
    [key.repository, key.database, key.requestId]);
  return rows[0] ? toRow(rows[0]) : undefined;
}

/**
 * Reserves a break-glass grant (deadline = now + retro window, database clock). "exists": this
 * request id already has one (nothing new happens); "busy": the requester has another open one.
 */
export async function reserveBreakGlass(q: Queryable, r: Omit<BreakGlassRow, "id" | "deadline" | "status"> & { retroMs: number }): Promise<{ result: "reserved" | "exists" | "busy"; row?: BreakGlassRow }> {
  const { rows } = await q.query<Raw>(`
    INSERT INTO break_glass_grants (repository, database, request_id, pr_number, requester, db_user, head_sha, deadline)
    VALUES ($1, $2, $3, $4, $5, $6, $7, clock_timestamp() + $8::bigint * interval '1 millisecond')
    ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
  [r.repository, r.database, r.requestId, r.prNumber, r.requester, r.dbUser, r.headSha, r.retroMs]);
  if (rows[0]) return { result: "reserved", row: toRow(rows[0]) };
  const existing = await getBreakGlass(q, r);
  return existing ? { result: "exists", row: existing } : { result: "busy" };
}

/** A reservation whose GRANT did not happen: nothing to settle, the person may try again. */
export async function dropReservation(q: Queryable, id: number): Promise<void> {
  await q.query("DELETE FROM break_glass_grants WHERE id = $1 AND status = 'open'", [id]);
}

/** The merge path granted it after eligible approval: it continues as a normal grant. */
export async function confirmBreakGlass(q: Queryable, key: LedgerKey, actor: string): Promise<boolean> {
  const { rowCount } = await q.query(`UPDATE break_glass_grants SET status = 'confirmed', closed_at = clock_timestamp()
     WHERE repository = $1 AND database = $2 AND request_id = $3 AND status = 'open'`, [key.repository, key.database, key.requestId]);
  if (rowCount) await appendEvent(q, { ...key, actor, kind: "break_glass_confirmed" });
  return (rowCount ?? 0) > 0;
}

/** Open rows past their deadline (database clock), locked for this pass. */
export async function lockExpiredBreakGlass(q: Queryable, limit: number): Promise<BreakGlassRow[]> {
  const { rows } = await q.query<Raw>(`SELECT ${COLUMNS} FROM break_glass_grants WHERE status = 'open' AND deadline <= clock_timestamp()
     ORDER BY deadline, id LIMIT $1 FOR UPDATE SKIP LOCKED`, [limit]);
  return rows.map(toRow);
}

export async function markBreakGlassExpired(q: Queryable, id: number): Promise<void> {
  await q.query("UPDATE break_glass_grants SET status = 'expired', closed_at = clock_timestamp() WHERE id = $1 AND status = 'open'", [id]);
}

/** Open break-glass grants, soonest deadline first (jit status). */
export async function listOpenBreakGlass(q: Queryable): Promise<BreakGlassRow[]> {
  const { rows } = await q.query<Raw>(`SELECT ${COLUMNS} FROM break_glass_grants WHERE status = 'open' ORDER BY deadline, id`);
  return rows.map(toRow);
}
