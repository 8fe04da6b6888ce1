// A merged pull request is handled once: `pull_request.closed` and the `push` it causes may reach
// two replicas at the same moment, and GitHub may redeliver either. Handling is serialised per PR
// by an advisory lock, and the outcome is recorded, so whoever comes second finds it and does
// nothing (docs/security.md case 28).
//
// The lock lives on its own short-lived connection, not one borrowed from the state pool: a burst
// of merges would otherwise hold every pooled connection while waiting for the one the grant needs.
import type pg from "pg";
import { claimedPayload, claimOnce } from "../db/outbox.ts";
import { dedicatedClient, lockKey } from "../db/state.ts";

export interface Recorded<T> {
  outcome: T;
  /** True when this call did the work; false when it found an earlier outcome. */
  fresh: boolean;
}

export async function oncePerMerge<T extends object>(
  state: pg.Pool, key: string, fn: () => Promise<{ outcome: T; record: boolean }>,
): Promise<Recorded<T>> {
  const client = dedicatedClient(state, "jit-access-merge-lock");
  await client.connect();
  try {
    // Ending the session releases the lock, also when this process dies mid-way.
    await lockKey(client, key);
    const earlier = await claimedPayload(client, key);
    if (earlier) return { outcome: earlier as T, fresh: false };
    const { outcome, record } = await fn();
    if (record) await claimOnce(client, "merge", key, outcome);
    return { outcome, fresh: true };
  } finally {
    await client.end().catch(() => {});
  }
}
