// What an actions-mode job reads back about the delivery it handed to the app (src/actions/run.ts).
import type { Queryable } from "./state.ts";

/** The recorded outcome of a delivery the app handled, or null when it was not handled. */
export async function deliveryOutcome(q: Queryable, id: string): Promise<string | null> {
  const { rows } = await q.query<{ outcome: string | null }>("SELECT outcome FROM deliveries WHERE delivery_id = $1", [id]);
  return rows[0]?.outcome ?? null;
}
