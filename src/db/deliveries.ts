// Webhook deliveries seen (X-GitHub-Delivery). GitHub redelivers; the first insert wins, so a
// handler can tell a redelivery from a new event and stay idempotent.
import type { Queryable } from "./state.ts";

/** Records a delivery; true when it is new, false when this id was seen before. */
export async function recordDelivery(q: Queryable, d: { id: string; event: string; action?: string | null }): Promise<boolean> {
  const { rowCount } = await q.query(
    "INSERT INTO deliveries (delivery_id, event, action) VALUES ($1, $2, $3) ON CONFLICT (delivery_id) DO NOTHING",
    [d.id, d.event, d.action ?? null]);
  return rowCount === 1;
}

export async function markDeliveryProcessed(q: Queryable, id: string, outcome: string): Promise<void> {
  await q.query("UPDATE deliveries SET processed_at = clock_timestamp(), outcome = $2 WHERE delivery_id = $1", [id, outcome]);
}
