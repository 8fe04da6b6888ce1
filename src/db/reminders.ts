// Grants that expire within the reminder window and whose reminder was not claimed yet.
import type { Queryable } from "./state.ts";

export const reminderKey = (g: { repository: string; database: string; requestId: string }) => `remind:${g.repository}:${g.database}/${g.requestId}`;

export interface ReminderDue {
  repository: string;
  database: string;
  requestId: string;
  /** The request file (the reminder says how to extend it). */
  path: string;
  prNumber: number;
  role: string;
  dbUser: string;
  expiresAt: Date;
  /** Left until expiry by the database clock. */
  leftMs: number;
}

export async function remindersDue(q: Queryable, remindBeforeMs: number): Promise<ReminderDue[]> {
  const { rows } = await q.query<{
    repository: string; database: string; request_id: string; path: string; pr_number: number; role: string; db_user: string; expires_at: Date; left_ms: string;
  }>(`SELECT repository, database, request_id, path, pr_number, role, db_user, expires_at, (extract(epoch FROM expires_at - now()) * 1000)::int8 AS left_ms
        FROM ledger l
       WHERE status = 'active' AND expires_at > now() AND expires_at <= now() + $1 * interval '1 millisecond' AND pr_number IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.dedupe_key = 'remind:' || l.repository || ':' || l.database || '/' || l.request_id)
       ORDER BY expires_at LIMIT 50`, [remindBeforeMs]);
  return rows.map((r) => ({ repository: r.repository, database: r.database, requestId: r.request_id, path: r.path, prNumber: r.pr_number, role: r.role, dbUser: r.db_user,
    expiresAt: r.expires_at, leftMs: Number(r.left_ms) }));
}
