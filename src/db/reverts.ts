// Revert PRs of expired grants, queued in the outbox after the revoke is recorded (one per request
// however often they are queued), and the recovery of those a crash left unqueued.
import { EXPIRY_REASON } from "../core/action.ts";
import type { Queryable } from "./state.ts";

export const REVERT_PR_KIND = "revert_pr";

export interface RevertGrant {
  id: number;
  repository: string;
  database: string;
  requestId: string;
  path: string;
}

export function revertKey(g: { repository: string; database: string; requestId: string }): string {
  return `${REVERT_PR_KIND}:${g.repository}:${g.database}/${g.requestId}`;
}

/** Queues revert PRs in one statement; returns how many were queued now. */
export async function enqueueReverts(q: Queryable, gs: RevertGrant[]): Promise<number> {
  if (gs.length === 0) return 0;
  const { rowCount } = await q.query(
    `INSERT INTO outbox (kind, dedupe_key, payload) SELECT $1, k, p FROM unnest($2::text[], $3::jsonb[]) AS u(k, p) ON CONFLICT (dedupe_key) DO NOTHING`,
    [REVERT_PR_KIND, gs.map(revertKey), gs.map((g) => JSON.stringify({ ledgerId: g.id, repository: g.repository, database: g.database, requestId: g.requestId, path: g.path }))]);
  return rowCount ?? 0;
}

/** Queues one revert PR; true when it was queued now. */
export async function enqueueRevert(q: Queryable, g: RevertGrant): Promise<boolean> {
  return (await enqueueReverts(q, [g])) === 1;
}

/** Expired grants of the last day without a revert PR queued: a crash hit between revoke and queueing. */
export async function recoverReverts(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ id: string; repository: string; database: string; request_id: string; path: string }>(
    `SELECT l.id, l.repository, l.database, l.request_id, l.path FROM ledger l
      WHERE l.status = 'revoked' AND l.revoked_at > now() - interval '1 day' AND l.revoke_reason = $1
        AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.dedupe_key = $2 || ':' || l.repository || ':' || l.database || '/' || l.request_id)`,
    [EXPIRY_REASON, REVERT_PR_KIND]);
  let n = 0;
  for (const r of rows) if (await enqueueRevert(q, { id: Number(r.id), repository: r.repository, database: r.database, requestId: r.request_id, path: r.path })) n++;
  return n;
}
