// Overlapping requests: which active (or in-flight) grants of the app already give this login this
// role on this cluster. The check and the merge refuse a second request for it (JIT_ALREADY_GRANTED)
// before any ledger row is written, so the new request id is not used up.
import type { HeldWindow } from "../core/overlap.ts";
import type { LedgerKey } from "./ledger.ts";
import type { Queryable } from "./state.ts";

export type HeldGrant = HeldWindow;

export async function activeHolders(q: Queryable, m: { clusterId: string; role: string; dbUser: string; except: LedgerKey }): Promise<HeldGrant[]> {
  const { rows } = await q.query<{ repository: string; database: string; request_id: string; status: "active" | "intent"; expires_at: Date | null; window_start: Date | null; duration_ms: string }>(
    `SELECT repository, database, request_id, status, expires_at, expires_at - duration_ms * interval '1 millisecond' AS window_start, duration_ms::int8 AS duration_ms FROM ledger
      WHERE cluster_id = $1 AND role = $2 AND db_user = $3 AND status IN ('active', 'intent')
        AND NOT (repository = $4 AND database = $5 AND request_id = $6)
      ORDER BY expires_at NULLS LAST, id`,
    [m.clusterId, m.role, m.dbUser, m.except.repository, m.except.database, m.except.requestId]);
  return rows.map((r) => ({ repository: r.repository, database: r.database, requestId: r.request_id, status: r.status, expiresAt: r.expires_at,
    windowStart: r.window_start, durationMs: Number(r.duration_ms) }));
}
