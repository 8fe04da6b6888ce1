// Strict durations: a whole number 1-9999 followed by m, h or d, nothing else. `ms`-style parsers
// accept "8" (8 ms), "-2h", "1.5h" and overflow; none of that may reach an expiry time.
import { problem, type Problem } from "./problem.ts";

export const DURATION_PATTERN = /^[1-9][0-9]{0,3}(m|h|d)$/;

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Absolute upper bound whatever a policy says: no grant outlives 30 days. */
export const MAX_DURATION_MS = 30 * UNIT_MS.d;

export type DurationResult = { ok: true; ms: number } | { ok: false; problem: Problem };

export function parseDuration(s: string): DurationResult {
  const m = DURATION_PATTERN.exec(s);
  if (!m) {
    return {
      ok: false,
      problem: problem("JIT_DURATION_INVALID", `duration ${JSON.stringify(s)} is not a whole number of minutes, hours or days`, {
        hint: 'write 1 to 9999 followed by m, h or d, with nothing around it, e.g. "30m", "2h" or "1d"',
      }),
    };
  }
  const unit = m[1] as keyof typeof UNIT_MS;
  const ms = Number(s.slice(0, -1)) * UNIT_MS[unit];
  if (ms > MAX_DURATION_MS) {
    return {
      ok: false,
      problem: problem("JIT_DURATION_TOO_LONG", `duration ${s} is longer than the absolute maximum of ${formatDuration(MAX_DURATION_MS)}`, {
        hint: `ask for at most ${formatDuration(MAX_DURATION_MS)}`,
      }),
    };
  }
  return { ok: true, ms };
}

/** 7_200_000 -> "2h", 5_400_000 -> "1h 30m", for messages. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return `${ms}ms`;
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [["d", UNIT_MS.d], ["h", UNIT_MS.h], ["m", UNIT_MS.m]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  if (rest > 0 || parts.length === 0) parts.push(rest % 1000 === 0 ? `${rest / 1000}s` : `${rest}ms`);
  return parts.join(" ");
}
