// Delivery queue and lost-merge reconciler settings from the environment. Pure: the caller passes
// the environment in; errors name variables, never values.
import { problem, type Problem } from "../core/problem.ts";
import { parseSetting } from "../scheduler/config.ts";

export interface QueueConfig {
  /** Jobs one replica runs at once (JIT_QUEUE_CONCURRENCY). */
  concurrency: number;
  /** Poll for due jobs this often, besides the LISTEN/NOTIFY wake-up (JIT_QUEUE_POLL). */
  pollMs: number;
  /** A claimed job is another worker's to take when its lease runs out; renewed while it runs (JIT_QUEUE_LEASE). */
  leaseMs: number;
  /** Attempts before a job becomes a dead letter (JIT_QUEUE_MAX_ATTEMPTS). */
  maxAttempts: number;
  /** First retry delay; doubled per attempt up to maxBackoffMs (JIT_QUEUE_BACKOFF). */
  backoffMs: number;
  maxBackoffMs: number;
  /** How often the leader looks for merged request PRs whose delivery was lost (JIT_RECONCILE_MERGES_EVERY; 0 turns it off). */
  mergeReconcileMs: number;
  /** How far back a repository never reconciled before is searched (JIT_RECONCILE_MERGES_LOOKBACK). */
  mergeLookbackMs: number;
}

export const DEFAULT_QUEUE_CONFIG: QueueConfig = {
  concurrency: 4,
  pollMs: 2000,
  leaseMs: 60_000,
  maxAttempts: 8,
  backoffMs: 2000,
  maxBackoffMs: 5 * 60_000,
  mergeReconcileMs: 2 * 60_000,
  mergeLookbackMs: 24 * 3_600_000,
};

/** Delay before the next attempt after `attempts` failed ones: backoffMs · 2^(attempts-1), capped. */
export function retryDelay(c: Pick<QueueConfig, "backoffMs" | "maxBackoffMs">, attempts: number): number {
  return Math.min(c.maxBackoffMs, c.backoffMs * 2 ** Math.max(0, Math.min(attempts - 1, 30)));
}

export function loadQueueConfig(env: Readonly<Record<string, string | undefined>>): { config: QueueConfig; problems: Problem[] } {
  const config: QueueConfig = { ...DEFAULT_QUEUE_CONFIG };
  const problems: Problem[] = [];
  const str = (k: string) => env[k]?.trim() || undefined;
  for (const [key, field, min, max] of [["JIT_QUEUE_CONCURRENCY", "concurrency", 1, 64], ["JIT_QUEUE_MAX_ATTEMPTS", "maxAttempts", 1, 100]] as const) {
    const raw = str(key);
    if (raw === undefined) continue;
    if (/^[0-9]{1,3}$/.test(raw) && Number(raw) >= min && Number(raw) <= max) config[field] = Number(raw);
    else problems.push(problem("JIT_CONFIG_INVALID", `${key} must be a whole number from ${min} to ${max}`));
  }
  for (const [key, field, zero] of [
    ["JIT_QUEUE_POLL", "pollMs", false], ["JIT_QUEUE_LEASE", "leaseMs", false], ["JIT_QUEUE_BACKOFF", "backoffMs", false],
    ["JIT_RECONCILE_MERGES_EVERY", "mergeReconcileMs", true], ["JIT_RECONCILE_MERGES_LOOKBACK", "mergeLookbackMs", false],
  ] as const) {
    const raw = str(key);
    if (raw === undefined) continue;
    const r = parseSetting(key, raw, zero);
    if ("problem" in r) problems.push(r.problem);
    else config[field] = r.ms;
  }
  return { config, problems };
}
