// What the app wrote for a refused merge's removal PR (branch, commit, PR), remembered as events
// without a ledger row (a refused merge has none), so a retry continues its own attempt (I11).
import type { RevertAttempt } from "../github/revert-pr.ts";
import { appendEvent } from "./events.ts";
import type { Queryable } from "./state.ts";

interface Key { repository: string; database: string; requestId: string }

export async function lastRefusalAttempt(q: Queryable, k: Key): Promise<RevertAttempt | undefined> {
  const { rows } = await q.query<{ details: RevertAttempt }>(
    `SELECT details FROM events WHERE kind = 'revert_pr_attempt' AND ledger_id IS NULL AND repository = $1 AND database = $2 AND request_id = $3
      ORDER BY id DESC LIMIT 1`, [k.repository, k.database, k.requestId]);
  return rows[0]?.details;
}

export async function recordRefusalAttempt(q: Queryable, k: Key, a: RevertAttempt): Promise<void> {
  await appendEvent(q, { ledgerId: null, kind: "revert_pr_attempt", repository: k.repository, database: k.database, requestId: k.requestId, actor: "outbox", details: { ...a, refused: true } });
}
