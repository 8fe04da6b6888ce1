import { describe, expect, it } from "vitest";
import { formatDuration, MAX_DURATION_MS, parseDuration } from "../../src/core/duration.ts";

describe("parseDuration", () => {
  it("converts minutes, hours and days exactly", () => {
    expect(parseDuration("1m")).toEqual({ ok: true, ms: 60_000 });
    expect(parseDuration("2h")).toEqual({ ok: true, ms: 7_200_000 });
    expect(parseDuration("1d")).toEqual({ ok: true, ms: 86_400_000 });
    expect(parseDuration("9999m")).toEqual({ ok: true, ms: 9999 * 60_000 });
    expect(parseDuration("30d")).toEqual({ ok: true, ms: MAX_DURATION_MS });
  });

  it("rejects anything outside the grammar with JIT_DURATION_INVALID", () => {
    for (const s of ["", "8", "h", "0m", "-2h", "+2h", "1.5h", " 2h", "2h ", "2h\n", "2H", "2hh", "10000m", "1h30m", "２h", "2\u200Bh", "Infinityh", "NaNh"]) {
      const r = parseDuration(s);
      expect(r.ok, JSON.stringify(s)).toBe(false);
      expect(!r.ok && r.problem.code).toBe("JIT_DURATION_INVALID");
    }
  });

  it("rejects grammatical durations over 30 days with JIT_DURATION_TOO_LONG", () => {
    for (const s of ["31d", "721h", "9999h", "9999d"]) {
      const r = parseDuration(s);
      expect(!r.ok && r.problem.code, s).toBe("JIT_DURATION_TOO_LONG");
    }
  });
});

describe("formatDuration", () => {
  it("prints compact human durations", () => {
    expect(formatDuration(7_200_000)).toBe("2h");
    expect(formatDuration(5_400_000)).toBe("1h 30m");
    expect(formatDuration(90_000_000)).toBe("1d 1h");
    expect(formatDuration(0)).toBe("0s");
    expect(formatDuration(61_500)).toBe("1m 1500ms");
  });
});
