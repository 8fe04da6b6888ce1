// Webhook deliveries (X-GitHub-Delivery) and the job queue built on them (src/queue/). A delivery is
// stored once: the first insert wins, so GitHub's redelivery or a second replica adds no work.
// Workers claim with FOR UPDATE SKIP LOCKED and hold a lease; a worker that dies leaves a lease that
// expires, and the job is claimed again (attempts count every claim, so a job that kills its worker
// still ends as a dead letter). Times are the database's clock.
import type { Queryable } from "./state.ts";

/** The channel a stored delivery is announced on (LISTEN/NOTIFY wake-up; polling covers a lost one). */
export const DELIVERY_CHANNEL = "jit_deliveries";

export interface NewDelivery {
  id: string;
  event: string;
  action: string | null;
  payload: object;
  repository: string | null;
  orderingKey: string;
}

export interface ClaimedDelivery {
  id: string;
  event: string;
  payload: Record<string, unknown>;
  repository: string | null;
  attempts: number;
}

export type DeliveryState = "recorded" | "queued" | "running" | "done" | "dead";

export interface DeliveryRow {
  id: string;
  event: string;
  action: string | null;
  repository: string | null;
  state: DeliveryState;
  attempts: number;
  receivedAt: Date;
  nextAttemptAt: Date;
  lastError: string | null;
  outcome: string | null;
}

export interface QueueStats {
  /** Queued and running jobs. */
  depth: number;
  /** Age of the oldest queued or running job, ms (database clock). */
  oldestMs: number | null;
  dead: number;
}

/** Subscribes a dedicated client to the wake-up NOTIFY sent when a delivery is stored. */
export async function listenForDeliveries(client: Queryable): Promise<void> {
  await client.query(`LISTEN ${DELIVERY_CHANNEL}`);
}

/** Records a delivery; true when it is new, false when this id was seen before. */
export async function recordDelivery(q: Queryable, d: { id: string; event: string; action?: string | null }): Promise<boolean> {
  const { rowCount } = await q.query(
    "INSERT INTO deliveries (delivery_id, event, action) VALUES ($1, $2, $3) ON CONFLICT (delivery_id) DO NOTHING",
    [d.id, d.event, d.action ?? null]);
  return rowCount === 1;
}

export async function markDeliveryProcessed(q: Queryable, id: string, outcome: string): Promise<void> {
  await q.query("UPDATE deliveries SET processed_at = clock_timestamp(), outcome = $2 WHERE delivery_id = $1", [id, outcome.slice(0, 200)]);
}

/** Records the delivery if new; true when a previous run of it already finished (a redelivery does nothing). */
export async function deliveryProcessed(q: Queryable, d: { id: string; event: string; action?: string | null }): Promise<boolean> {
  await recordDelivery(q, d);
  const { rows } = await q.query<{ processed_at: Date | null }>("SELECT processed_at FROM deliveries WHERE delivery_id = $1", [d.id]);
  return rows[0]?.processed_at != null;
}

/** Stores a delivery as a queued job and wakes the workers; false when this id was already stored. */
export async function enqueueDelivery(q: Queryable, d: NewDelivery): Promise<boolean> {
  const { rowCount } = await q.query(
    `WITH stored AS (
       INSERT INTO deliveries (delivery_id, event, action, payload, repository, ordering_key, state)
       VALUES ($1, $2, $3, $4, $5, $6, 'queued') ON CONFLICT (delivery_id) DO NOTHING RETURNING 1)
     SELECT pg_notify('${DELIVERY_CHANNEL}', '') FROM stored`,
    [d.id, d.event, d.action, JSON.stringify(d.payload), d.repository, d.orderingKey]);
  return rowCount === 1;
}

/**
 * Claims the oldest runnable job: queued and due, or running with an expired lease (its worker
 * died). A job waits while an older one with the same ordering key is open, so the deliveries of
 * one pull request run in arrival order, whichever replica takes them.
 */
export async function claimDelivery(q: Queryable, worker: string, leaseMs: number): Promise<ClaimedDelivery | null> {
  const { rows } = await q.query<{ delivery_id: string; event: string; payload: Record<string, unknown>; repository: string | null; attempts: number }>(
    `WITH next AS (
       SELECT d.delivery_id FROM deliveries d
        WHERE ((d.state = 'queued' AND d.next_attempt_at <= clock_timestamp())
               OR (d.state = 'running' AND d.lease_until < clock_timestamp()))
          AND NOT EXISTS (SELECT 1 FROM deliveries e
                           WHERE e.ordering_key = d.ordering_key AND e.seq < d.seq AND e.state IN ('queued', 'running'))
        ORDER BY d.seq LIMIT 1 FOR UPDATE SKIP LOCKED)
     UPDATE deliveries d SET state = 'running', attempts = d.attempts + 1, locked_by = $1,
            lease_until = clock_timestamp() + $2 * interval '1 millisecond'
       FROM next WHERE d.delivery_id = next.delivery_id
     RETURNING d.delivery_id, d.event, d.payload, d.repository, d.attempts`,
    [worker, leaseMs]);
  const r = rows[0];
  return r ? { id: r.delivery_id, event: r.event, payload: r.payload, repository: r.repository, attempts: r.attempts } : null;
}

/** Extends a lease while the job runs; false when the job is no longer this worker's. */
export async function renewLease(q: Queryable, id: string, worker: string, leaseMs: number): Promise<boolean> {
  const { rowCount } = await q.query(
    "UPDATE deliveries SET lease_until = clock_timestamp() + $3 * interval '1 millisecond' WHERE delivery_id = $1 AND locked_by = $2 AND state = 'running'",
    [id, worker, leaseMs]);
  return rowCount === 1;
}

export async function finishDelivery(q: Queryable, id: string, worker: string): Promise<void> {
  await q.query(
    `UPDATE deliveries SET state = 'done', finished_at = clock_timestamp(), lease_until = NULL, last_error = NULL,
            processed_at = coalesce(processed_at, clock_timestamp()), outcome = coalesce(outcome, 'done')
      WHERE delivery_id = $1 AND locked_by = $2 AND state = 'running'`,
    [id, worker]);
}

/** Records a failed attempt: queued again after `retryInMs`, or dead once `maxAttempts` were made. */
export async function failDelivery(q: Queryable, id: string, worker: string, o: { error: string; retryInMs: number; maxAttempts: number }): Promise<DeliveryState | null> {
  const { rows } = await q.query<{ state: DeliveryState }>(
    `UPDATE deliveries SET state = CASE WHEN attempts >= $4 THEN 'dead' ELSE 'queued' END,
            next_attempt_at = clock_timestamp() + $3 * interval '1 millisecond', last_error = $5,
            lease_until = NULL, locked_by = NULL, finished_at = CASE WHEN attempts >= $4 THEN clock_timestamp() END
      WHERE delivery_id = $1 AND locked_by = $2 AND state = 'running'
     RETURNING state`,
    [id, worker, o.retryInMs, o.maxAttempts, o.error.slice(0, 500)]);
  return rows[0]?.state ?? null;
}

export async function listDeliveries(q: Queryable, o: { states: DeliveryState[]; limit: number }): Promise<DeliveryRow[]> {
  const { rows } = await q.query<{ delivery_id: string; event: string; action: string | null; repository: string | null; state: DeliveryState; attempts: number; received_at: Date; next_attempt_at: Date; last_error: string | null; outcome: string | null }>(
    `SELECT delivery_id, event, action, repository, state, attempts, received_at, next_attempt_at, last_error, outcome
       FROM deliveries WHERE state = ANY($1) ORDER BY seq DESC LIMIT $2`,
    [o.states, o.limit]);
  return rows.map((r) => ({
    id: r.delivery_id, event: r.event, action: r.action, repository: r.repository, state: r.state, attempts: r.attempts,
    receivedAt: r.received_at, nextAttemptAt: r.next_attempt_at, lastError: r.last_error, outcome: r.outcome,
  }));
}

/** Puts a dead (or backing-off) job back in the queue now, with a fresh attempt budget. */
export async function retryDelivery(q: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await q.query(
    `WITH retried AS (
       UPDATE deliveries SET state = 'queued', attempts = 0, next_attempt_at = clock_timestamp(), finished_at = NULL
        WHERE delivery_id = $1 AND state IN ('dead', 'queued') RETURNING 1)
     SELECT pg_notify('${DELIVERY_CHANNEL}', '') FROM retried`,
    [id]);
  return rowCount === 1;
}

export async function queueStats(q: Queryable): Promise<QueueStats> {
  const { rows: [r] } = await q.query<{ depth: number; dead: number; oldest_ms: string | null }>(
    `SELECT count(*) FILTER (WHERE state IN ('queued', 'running'))::int AS depth,
            count(*) FILTER (WHERE state = 'dead')::int AS dead,
            (extract(epoch FROM clock_timestamp() - min(received_at) FILTER (WHERE state IN ('queued', 'running'))) * 1000)::int8 AS oldest_ms
       FROM deliveries WHERE state IN ('queued', 'running', 'dead')`);
  return { depth: r!.depth, dead: r!.dead, oldestMs: r!.oldest_ms == null ? null : Number(r!.oldest_ms) };
}
