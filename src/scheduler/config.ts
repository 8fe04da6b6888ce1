// Scheduler settings from the environment. Pure: the caller passes the environment in. Names of
// variables appear in errors, never anything else from the environment.
import { problem, type Problem } from "../core/problem.ts";

export interface SchedulerConfig {
  /**
   * Period of the full tick (sweep with reconciliation, outbox, reminders, health), on slots of the
   * epoch so no time zone or DST change can touch it; 0 turns it off (tests driving runOnce).
   */
  sweepIntervalMs: number;
  /** Merge revert PRs the app opens (JIT_MERGE_REVERT_PRS, default true); false leaves them to owners. */
  mergeRevertPrs: boolean;
  revertMergeMethod: "merge" | "squash" | "rebase";
  revertLabel: string;
  /** Comment on the request PR this long before expiry; 0 disables. */
  remindBeforeMs: number;
  /** JIT_SWEEP_STALE when no sweep succeeded for this long. */
  staleAfterMs: number;
  /** JIT_REVOKE_OVERDUE when an active grant is past its expiry by more than this. */
  overdueAfterMs: number;
  /** Due grants claimed per round, and revoked concurrently within a round. */
  batchSize: number;
  parallel: number;
  /** Longest wait of the next-expiry timer; the periodic tick covers anything later. */
  maxTimerMs: number;
}

export const DEFAULT_SCHEDULER_CONFIG: SchedulerConfig = {
  sweepIntervalMs: 30_000,
  mergeRevertPrs: true,
  revertMergeMethod: "squash",
  revertLabel: "jit-expired",
  remindBeforeMs: 15 * 60_000,
  staleAfterMs: 5 * 60_000,
  overdueAfterMs: 60_000,
  batchSize: 1000,
  parallel: 4,
  maxTimerMs: 30_000,
};

const UNIT: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

/** "90s", "15m", "2h"; "0" means off. Whole numbers only, nothing around them. */
export function parseSetting(name: string, raw: string, allowZero: boolean): { ms: number } | { problem: Problem } {
  if (allowZero && (raw === "0" || raw === "off")) return { ms: 0 };
  const m = /^([1-9][0-9]{0,5})(s|m|h)$/.exec(raw);
  if (!m) return { problem: problem("JIT_CONFIG_INVALID", `${name} must look like 90s, 15m or 2h${allowZero ? ' (or "0" to turn it off)' : ""}`) };
  return { ms: Number(m[1]) * UNIT[m[2]!]! };
}

function parseInteger(name: string, raw: string, min: number, max: number): { n: number } | { problem: Problem } {
  if (!/^[0-9]{1,6}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    return { problem: problem("JIT_CONFIG_INVALID", `${name} must be a whole number from ${min} to ${max}`) };
  }
  return { n: Number(raw) };
}

export function loadSchedulerConfig(env: Readonly<Record<string, string | undefined>>): { config: SchedulerConfig; problems: Problem[] } {
  const config: SchedulerConfig = { ...DEFAULT_SCHEDULER_CONFIG };
  const problems: Problem[] = [];
  const str = (k: string) => {
    const v = env[k]?.trim();
    return v ? v : undefined;
  };

  const merge = str("JIT_MERGE_REVERT_PRS");
  if (merge !== undefined) {
    if (merge === "true" || merge === "false") config.mergeRevertPrs = merge === "true";
    else problems.push(problem("JIT_CONFIG_INVALID", "JIT_MERGE_REVERT_PRS must be true or false"));
  }
  const method = str("JIT_REVERT_MERGE_METHOD");
  if (method !== undefined) {
    if (method === "merge" || method === "squash" || method === "rebase") config.revertMergeMethod = method;
    else problems.push(problem("JIT_CONFIG_INVALID", "JIT_REVERT_MERGE_METHOD must be merge, squash or rebase"));
  }
  const label = str("JIT_REVERT_PR_LABEL");
  if (label !== undefined) {
    if (/^[A-Za-z0-9][A-Za-z0-9 ._:-]{0,49}$/.test(label)) config.revertLabel = label;
    else problems.push(problem("JIT_CONFIG_INVALID", "JIT_REVERT_PR_LABEL must be 1-50 letters, digits, spaces or . _ : -"));
  }
  for (const [key, field, zero] of [
    ["JIT_REMIND_BEFORE", "remindBeforeMs", true],
    ["JIT_SWEEP_STALE_AFTER", "staleAfterMs", false],
    ["JIT_REVOKE_OVERDUE_AFTER", "overdueAfterMs", false],
  ] as const) {
    const raw = str(key);
    if (raw === undefined) continue;
    const r = parseSetting(key, raw, zero);
    if ("problem" in r) problems.push(r.problem);
    else config[field] = r.ms;
  }
  for (const [key, field, min, max] of [["JIT_SWEEP_BATCH", "batchSize", 1, 10_000], ["JIT_SWEEP_PARALLEL", "parallel", 1, 64]] as const) {
    const raw = str(key);
    if (raw === undefined) continue;
    const r = parseInteger(key, raw, min, max);
    if ("problem" in r) problems.push(r.problem);
    else config[field] = r.n;
  }
  return { config, problems };
}

/** Milliseconds to wait before the next-expiry sweep: never negative, never past the cap. */
export function timerDelay(msUntilNextExpiry: number | null, maxTimerMs: number): number | null {
  if (msUntilNextExpiry === null || !Number.isFinite(msUntilNextExpiry)) return null;
  // A few milliseconds late rather than early: a sweep that runs before expires_at finds nothing.
  return Math.min(maxTimerMs, Math.max(0, Math.ceil(msUntilNextExpiry) + 5));
}

/** p50/p99/max of revoke lags (ms), nearest-rank; null for no samples. */
export function lagSummary(lags: readonly number[]): { p50: number; p99: number; max: number; count: number } | null {
  if (lags.length === 0) return null;
  const s = [...lags].sort((a, b) => a - b);
  const rank = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
  return { p50: rank(50), p99: rank(99), max: s[s.length - 1]!, count: s.length };
}
