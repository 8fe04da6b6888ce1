// The outbox worker: GitHub side effects queued by the sweep (revert PRs) are done here, later and
// with retries, so a GitHub outage (5xx, timeouts) delays a pull request, never a revoke. One item
// per transaction, row-locked with SKIP LOCKED so two workers never do the same item at once; the
// dedupe key already made sure it exists once.
import type pg from "pg";
import type { Leadership } from "./leader.ts";

export interface OutboxItem {
  id: number;
  kind: string;
  dedupeKey: string;
  payload: unknown;
  /** Attempts before this one. */
  attempts: number;
}

/** Does the side effect; throws to be retried later. What it returns is logged. */
export type OutboxHandler = (item: OutboxItem) => Promise<string | void>;

export interface DrainReport {
  done: { id: number; kind: string; result: string }[];
  retried: { id: number; kind: string; attempts: number; error: string; payload: unknown }[];
}

/** 30 s after the first failure, doubling, at most 30 minutes. */
export function backoffMs(attempts: number): number {
  return Math.min(30_000 * 2 ** Math.max(0, attempts - 1), 30 * 60_000);
}

export interface DrainOptions {
  /** At most this many items per call. */
  limit?: number;
  backoff?: (attempts: number) => number;
}

export async function drainOutbox(
  state: pg.Pool, handlers: Readonly<Record<string, OutboxHandler>>, leadership: Leadership, opts: DrainOptions = {},
): Promise<DrainReport> {
  const report: DrainReport = { done: [], retried: [] };
  const kinds = Object.keys(handlers);
  const backoff = opts.backoff ?? backoffMs;
  const tried: number[] = []; // one attempt per item per run, whatever the backoff says
  for (let n = 0; n < (opts.limit ?? 20); n++) {
    const client = await state.connect();
    let broken = false;
    try {
      await client.query("BEGIN");
      const { rows } = await client.query<{ id: string; kind: string; dedupe_key: string; payload: unknown; attempts: number }>(
        `SELECT id, kind, dedupe_key, payload, attempts FROM outbox
          WHERE NOT done AND next_attempt_at <= now() AND kind = ANY($1::text[]) AND NOT (id = ANY($2::int8[]))
          ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`, [kinds, tried]);
      const r = rows[0];
      if (!r) {
        await client.query("COMMIT");
        break;
      }
      const item: OutboxItem = { id: Number(r.id), kind: r.kind, dedupeKey: r.dedupe_key, payload: r.payload, attempts: r.attempts };
      tried.push(item.id);
      await leadership.assertLeader();
      try {
        const result = (await handlers[item.kind]!(item)) ?? "done";
        await client.query("UPDATE outbox SET done = true, done_at = clock_timestamp(), attempts = attempts + 1, last_error = NULL WHERE id = $1", [item.id]);
        report.done.push({ id: item.id, kind: item.kind, result });
      } catch (e) {
        const status = (e as { status?: unknown }).status;
        const error = `${typeof status === "number" ? `HTTP ${status}: ` : ""}${String((e as Error).message).split("\n")[0]}`.slice(0, 500);
        await client.query(
          "UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = clock_timestamp() + $3 * interval '1 millisecond' WHERE id = $1",
          [item.id, error, backoff(item.attempts + 1)]);
        report.retried.push({ id: item.id, kind: item.kind, attempts: item.attempts + 1, error, payload: item.payload });
      }
      await client.query("COMMIT");
    } catch (e) {
      broken = true;
      await client.query("ROLLBACK").catch(() => {});
      throw e;
    } finally {
      client.release(broken);
    }
  }
  return report;
}

/** Items not done yet, and how long the oldest has waited (database clock), for health. */
export async function outboxBacklog(state: Pick<pg.Pool, "query">): Promise<{ pending: number; oldestMs: number | null }> {
  const { rows } = await state.query<{ pending: number; oldest_ms: string | null }>(
    `SELECT count(*)::int AS pending, (extract(epoch FROM now() - min(created_at)) * 1000)::int8 AS oldest_ms FROM outbox WHERE NOT done`);
  return { pending: rows[0]?.pending ?? 0, oldestMs: rows[0]?.oldest_ms == null ? null : Number(rows[0].oldest_ms) };
}
