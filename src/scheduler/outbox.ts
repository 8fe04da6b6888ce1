// The outbox worker: GitHub side effects queued by the sweep (revert PRs) are done here, later and
// with retries, so a GitHub outage (5xx, timeouts) delays a pull request, never a revoke. One item
// per transaction, row-locked with SKIP LOCKED so two workers never do the same item at once; the
// dedupe key already made sure it exists once.
import type pg from "pg";
import { complete, fail, withDueItem, type OutboxItem } from "../db/outbox.ts";
import type { Leadership } from "./leader.ts";

export type { OutboxItem };

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
    const claimed = await withDueItem(state, { kinds, exclude: tried }, async (item, client) => {
      tried.push(item.id);
      await leadership.assertLeader();
      try {
        const result = (await handlers[item.kind]!(item)) ?? "done";
        await complete(client, item.id);
        report.done.push({ id: item.id, kind: item.kind, result });
      } catch (e) {
        const status = (e as { status?: unknown }).status;
        const error = `${typeof status === "number" ? `HTTP ${status}: ` : ""}${String((e as Error).message).split("\n")[0]}`.slice(0, 500);
        await fail(client, item.id, error, backoff(item.attempts + 1));
        report.retried.push({ id: item.id, kind: item.kind, attempts: item.attempts + 1, error, payload: item.payload });
      }
    });
    if (!claimed) break;
  }
  return report;
}
