// Webhook deliveries by X-GitHub-Delivery: a delivery that was processed is not processed again.
// One that failed or is still in flight may run again; every use case is idempotent anyway.
import type pg from "pg";

export async function alreadyProcessed(state: pg.Pool, id: string, event: string, action: string | undefined): Promise<boolean> {
  await state.query("INSERT INTO deliveries (delivery_id, event, action) VALUES ($1, $2, $3) ON CONFLICT (delivery_id) DO NOTHING", [id, event, action ?? null]);
  const { rows } = await state.query("SELECT processed_at FROM deliveries WHERE delivery_id = $1", [id]);
  return rows[0]?.processed_at != null;
}

export async function markProcessed(state: pg.Pool, id: string, outcome: string): Promise<void> {
  await state.query("UPDATE deliveries SET processed_at = clock_timestamp(), outcome = $2 WHERE delivery_id = $1", [id, outcome.slice(0, 200)]);
}
