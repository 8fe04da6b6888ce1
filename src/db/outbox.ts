// GitHub side effects (revert PRs, comments) are written here and retried until done, so a revoke
// never waits for GitHub and a 5xx only delays the side effect. One entry per dedupe key.
import type pg from "pg";
import type { Queryable } from "./state.ts";

export interface OutboxItem {
  id: number;
  kind: string;
  dedupeKey: string;
  payload: Record<string, unknown>;
  /** Attempts before this one. */
  attempts: number;
}

/** Enqueues once per dedupe key; true when this call created the entry. */
export async function enqueue(q: Queryable, item: { kind: string; dedupeKey: string; payload: Record<string, unknown> }): Promise<boolean> {
  const { rowCount } = await q.query(
    "INSERT INTO outbox (kind, dedupe_key, payload) VALUES ($1, $2, $3) ON CONFLICT (dedupe_key) DO NOTHING",
    [item.kind, item.dedupeKey, JSON.stringify(item.payload)]);
  return rowCount === 1;
}

/**
 * Enqueues once per dedupe key and returns the new item's id (null: the key exists, queued or done).
 * `holdMs` keeps the drain away while the caller tries the side effect itself right away.
 */
export async function enqueueItem(q: Queryable, item: { kind: string; dedupeKey: string; payload: Record<string, unknown> }, holdMs = 0): Promise<number | null> {
  const { rows } = await q.query<{ id: string }>(
    `INSERT INTO outbox (kind, dedupe_key, payload, next_attempt_at) VALUES ($1, $2, $3, clock_timestamp() + $4 * interval '1 millisecond')
     ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
    [item.kind, item.dedupeKey, JSON.stringify(item.payload), holdMs]);
  return rows[0] ? Number(rows[0].id) : null;
}

/**
 * Claims due items inside the caller's transaction (FOR UPDATE SKIP LOCKED: replicas never work on
 * the same item); the caller completes or fails each before committing.
 */
export async function claimDue(client: pg.PoolClient, limit: number, o: { kinds?: readonly string[]; exclude?: readonly number[] } = {}): Promise<OutboxItem[]> {
  const { rows } = await client.query(
    `SELECT id::int8 AS id, kind, dedupe_key, payload, attempts FROM outbox
      WHERE NOT done AND next_attempt_at <= clock_timestamp()
        AND ($2::text[] IS NULL OR kind = ANY($2::text[])) AND NOT (id = ANY($3::int8[]))
      ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED`, [limit, o.kinds ?? null, o.exclude ?? []]);
  return rows.map((r) => ({ id: Number(r.id), kind: r.kind, dedupeKey: r.dedupe_key, payload: r.payload, attempts: r.attempts }));
}

export async function complete(q: Queryable, id: number): Promise<void> {
  await q.query("UPDATE outbox SET done = true, done_at = clock_timestamp(), attempts = attempts + 1, last_error = NULL WHERE id = $1", [id]);
}

/**
 * Records a failed attempt: retried after `retryInMs`, or by default with exponential backoff
 * (30 s doubling, capped at one hour).
 */
export async function fail(q: Queryable, id: number, error: string, retryInMs?: number): Promise<void> {
  await q.query(
    `UPDATE outbox SET attempts = attempts + 1, last_error = left($2, 2000),
            next_attempt_at = clock_timestamp() + coalesce($3 * interval '1 millisecond',
                                                           least(interval '1 hour', interval '30 seconds' * power(2, attempts)))
      WHERE id = $1`, [id, error, retryInMs ?? null]);
}

/**
 * Items not done yet, and how long the oldest has waited (database clock), for health. The
 * dashboard refresh (src/jobs/dashboard.ts) is a view, asked for again on every tick, not a side
 * effect owed: it is not backlog.
 */
export async function outboxBacklog(q: Queryable): Promise<{ pending: number; oldestMs: number | null }> {
  const { rows } = await q.query<{ pending: number; oldest_ms: string | null }>(
    `SELECT count(*)::int AS pending, (extract(epoch FROM now() - min(created_at)) * 1000)::int8 AS oldest_ms FROM outbox
      WHERE NOT done AND kind <> 'dashboard'`);
  return { pending: rows[0]?.pending ?? 0, oldestMs: rows[0]?.oldest_ms == null ? null : Number(rows[0].oldest_ms) };
}

/** A side effect done once across replicas and redeliveries: true for exactly one caller per key; the row stays as the record. */
export async function claimOnce(q: Queryable, kind: string, dedupeKey: string, payload: object): Promise<boolean> {
  const { rowCount } = await q.query(
    "INSERT INTO outbox (kind, dedupe_key, payload, done, done_at) VALUES ($1, $2, $3, true, clock_timestamp()) ON CONFLICT (dedupe_key) DO NOTHING",
    [kind, dedupeKey, JSON.stringify(payload)],
  );
  return rowCount === 1;
}

/** The payload a claim recorded (e.g. a merge's outcome), if the key was claimed. */
export async function claimedPayload(q: Queryable, dedupeKey: string): Promise<unknown> {
  const { rows } = await q.query<{ payload: unknown }>("SELECT payload FROM outbox WHERE dedupe_key = $1", [dedupeKey]);
  return rows[0]?.payload;
}

/**
 * One due item in a transaction of its own: claimed (SKIP LOCKED), handed to `fn` (which completes
 * or fails it on the same client), committed. Null when nothing is due. An error from `fn` rolls
 * back (the item stays due) and the connection is not reused.
 */
export async function withDueItem<T>(
  state: pg.Pool, o: { kinds?: readonly string[]; exclude?: readonly number[] }, fn: (item: OutboxItem, client: pg.PoolClient) => Promise<T>,
): Promise<{ item: OutboxItem; result: T } | null> {
  const client = await state.connect();
  let broken = false;
  try {
    await client.query("BEGIN");
    const [item] = await claimDue(client, 1, o);
    if (!item) {
      await client.query("COMMIT");
      return null;
    }
    const result = await fn(item, client);
    await client.query("COMMIT");
    return { item, result };
  } catch (e) {
    broken = true;
    await client.query("ROLLBACK").catch(() => {});
    throw e;
  } finally {
    client.release(broken);
  }
}
