// Senders of pull_request deliveries that changed a PR's head or base (I13): recorded before the
// delivery is evaluated, read by every later evaluation of that PR (check and merge).
import type { Pusher } from "../core/context.ts";
import type { Queryable } from "./state.ts";

export interface PusherRecord extends Pusher {
  repository: string;
  prNumber: number;
  deliveryId: string;
}

/** Idempotent: a redelivery or a second replica adds nothing. */
export async function recordPusher(q: Queryable, p: PusherRecord): Promise<void> {
  await q.query(
    `INSERT INTO pushers (repository, pr_number, login, action, head_sha, delivery_id) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT DO NOTHING`,
    [p.repository, p.prNumber, p.login.toLowerCase(), p.action, p.headSha, p.deliveryId]);
}

/** Everyone recorded for one PR, oldest first. */
export async function pushersOf(q: Queryable, repository: string, prNumber: number): Promise<Pusher[]> {
  const { rows } = await q.query<{ login: string; action: string; head_sha: string }>(
    "SELECT login, action, head_sha FROM pushers WHERE repository = $1 AND pr_number = $2 ORDER BY recorded_at, login",
    [repository, prNumber]);
  return rows.map((r) => ({ login: r.login, action: r.action, headSha: r.head_sha }));
}
