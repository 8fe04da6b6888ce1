// Extension: a merged, freshly approved PR that edits `duration` of an active request moves its
// expiry. The membership stays; only the ledger changes, by the database clock. The duration in the
// file is the whole window, so the extension keeps the original anchor (I17): the window still opens
// at the first merge (expires_at - duration_ms, which is merged_at for grants anchored there), and
// the extension's own merge only has to land while the grant is active (a late or replayed extension
// of a grant that has ended is refused). The policy maximum and the approvals were checked by the core for the role and
// user the request names; the ledger row must be that very grant, or the check was about another
// role (say, a file rewritten in a rebased commit or a direct push) and nothing is extended.
import type pg from "pg";
import { decide, problem, type Decision } from "../core/problem.ts";
import { appendEvent } from "./events.ts";
import type { LedgerKey } from "./ledger.ts";
import { inTransaction } from "./state.ts";

/** The window's start (where the grant was anchored) plus the new duration ($4). */
const NEW_END = "expires_at - duration_ms * interval '1 millisecond' + $4 * interval '1 millisecond'";

export interface ExtendDetails {
  expiresAt: Date;
  /** True when the ledger already had this duration (a redelivery): nothing changed. */
  unchanged: boolean;
}

export async function extendGrant(
  state: pg.Pool, key: LedgerKey, opts: {
    durationMs: number; role: string; dbUser: string; actor: string; prNumber: number; approvers: string[];
    /** An overlapping request (another request id): never shortens the grant, checked under the row lock. */
    onlyLonger?: boolean; byRequestId?: string;
  },
  /** Runs in the extension's transaction, before its COMMIT: the outbox items of its effects (transactional outbox). */
  beforeCommit?: (client: pg.PoolClient, d: ExtendDetails) => Promise<void>,
): Promise<Decision<ExtendDetails>> {
  const none = { expiresAt: new Date(0), unchanged: false };
  if (!Number.isSafeInteger(opts.durationMs) || opts.durationMs <= 0) {
    return decide(none, [problem("JIT_DURATION_INVALID", "duration must be a positive number of milliseconds")], "");
  }
  return inTransaction(state, async (client) => {
    const { rows } = await client.query(
      `SELECT id::int8 AS id, status, role, db_user, duration_ms::int8 AS duration_ms, expires_at, expires_at <= now() AS overdue,
              ${NEW_END} AS new_expires_at
         FROM ledger WHERE repository = $1 AND database = $2 AND request_id = $3 FOR UPDATE`,
      [key.repository, key.database, key.requestId, opts.durationMs]);
    const row = rows[0];
    if (!row || row.status !== "active") {
      return decide(none, [problem("JIT_EXTENSION_NOT_ALLOWED", `${key.database}/${key.requestId} has no active grant to extend`)], "");
    }
    if (row.role !== opts.role || row.db_user !== opts.dbUser) {
      return decide(none, [problem("JIT_EXTENSION_NOT_ALLOWED", `${key.database}/${key.requestId} is an active grant of ${row.role} to ${row.db_user}; the extension was evaluated for ${opts.role} to ${opts.dbUser}`)], "");
    }
    if (Number(row.duration_ms) === opts.durationMs) {
      return decide({ expiresAt: row.expires_at as Date, unchanged: true }, [], "already extended");
    }
    if (opts.onlyLonger && Number(row.duration_ms) > opts.durationMs) {
      return decide(none, [problem("JIT_ALREADY_GRANTED", `${key.database}/${key.requestId} already lasts longer than this request would; nothing changed`)], "");
    }
    if (row.overdue) {
      return decide(none, [problem("JIT_EXTENSION_NOT_ALLOWED", `${key.database}/${key.requestId} already expired; request a new grant`)], "");
    }
    const { rows: updated } = await client.query(
      "UPDATE ledger SET duration_ms = $2::bigint, expires_at = expires_at - duration_ms * interval '1 millisecond' + $2::bigint * interval '1 millisecond' WHERE id = $1 RETURNING expires_at",
      [row.id, opts.durationMs]);
    const expiresAt = updated[0]!.expires_at as Date;
    await appendEvent(client, {
      ledgerId: Number(row.id), kind: "extended", repository: key.repository, database: key.database, requestId: key.requestId,
      actor: opts.actor, details: { from: row.expires_at, to: expiresAt, durationMs: opts.durationMs, prNumber: opts.prNumber, approvers: opts.approvers,
        ...(opts.byRequestId ? { byRequestId: opts.byRequestId } : {}) },
    });
    await beforeCommit?.(client, { expiresAt, unchanged: false });
    return decide({ expiresAt, unchanged: false }, [], `extended until ${expiresAt.toISOString()}`);
  });
}
