// pending_ttl bookkeeping (src/jobs/pending-ttl.ts): each request PR the app closed for waiting too
// long is an event, so `jit status` can list them beside the active grants.
import { appendEvent } from "./events.ts";
import type { Queryable } from "./state.ts";

export interface PendingClosed {
  at: Date;
  repository: string;
  database: string | null;
  requestId: string | null;
  prNumber: number;
  ttlMs: number;
}

export async function recordPendingClosed(q: Queryable, c: Omit<PendingClosed, "at"> & { actor: string; author: string }): Promise<void> {
  await appendEvent(q, { kind: "pending_closed", code: "JIT_PENDING_TTL_EXPIRED", repository: c.repository, database: c.database, requestId: c.requestId,
    actor: c.actor, details: { prNumber: c.prNumber, ttlMs: c.ttlMs, author: c.author } });
}

/** Closures of the last `withinMs` (by the database clock), newest first. */
export async function recentPendingClosed(q: Queryable, withinMs: number): Promise<PendingClosed[]> {
  const { rows } = await q.query<{ at: Date; repository: string; database: string | null; request_id: string | null; details: { prNumber?: number; ttlMs?: number } }>(
    `SELECT at, repository, database, request_id, details FROM events
      WHERE kind = 'pending_closed' AND at > now() - $1 * interval '1 millisecond' ORDER BY id DESC LIMIT 200`, [withinMs]);
  return rows.map((r) => ({ at: r.at, repository: r.repository, database: r.database, requestId: r.request_id, prNumber: Number(r.details.prNumber), ttlMs: Number(r.details.ttlMs) }));
}
