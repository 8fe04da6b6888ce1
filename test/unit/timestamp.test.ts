// The core's RFC 3339 UTC parser agrees with Date.parse on what GitHub writes, and refuses the rest.
import { describe, expect, it } from "vitest";
import { parseUtcTimestamp } from "../../src/core/timestamp.ts";

describe("parseUtcTimestamp", () => {
  it("agrees with Date.parse on every form GitHub writes", () => {
    for (const s of ["2026-03-01T10:00:00Z", "1970-01-01T00:00:00Z", "2024-02-29T23:59:59.999Z", "2000-03-01T00:00:00.5Z", "2100-02-28T12:00:00Z"]) {
      expect(parseUtcTimestamp(s), s).toBe(Date.parse(s));
    }
    for (let t = -1e12; t < 7e12; t += 123_456_789_123) expect(parseUtcTimestamp(new Date(t).toISOString())).toBe(t);
  });

  it("refuses local times, offsets, impossible dates and non-strings", () => {
    for (const s of ["2026-03-01 10:00:00", "2026-03-01T10:00:00", "2026-03-01T10:00:00+01:00", "2023-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-03-01T24:00:00Z", "", undefined, null]) {
      expect(parseUtcTimestamp(s), String(s)).toBeNull();
    }
  });
});
