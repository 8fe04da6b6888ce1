import { describe, expect, it } from "vitest";
import { checkIdentifier, isIdentifier } from "../../src/core/identifier.ts";

describe("checkIdentifier", () => {
  it("accepts lowercase ASCII identifiers up to 63 bytes", () => {
    for (const s of ["a", "_", "orders_readonly", "x1", "a".repeat(63)]) expect(isIdentifier(s), s).toBe(true);
  });

  it("rejects everything else with JIT_IDENTIFIER and says why", () => {
    const cases: [string, RegExp][] = [
      ["a".repeat(64), /64 bytes/],
      ["é", /lowercase ASCII/],
      ["", /lowercase ASCII/],
      ["1abc", /lowercase ASCII/],
      ["Orders", /lowercase ASCII/],
      ["a b", /lowercase ASCII/],
      ["a\n", /lowercase ASCII/],
      ["a-b", /lowercase ASCII/],
      ['a"b', /lowercase ASCII/],
      ["public", /reserves/],
      ["current_user", /reserves/],
      ["session_user", /reserves/],
      ["current_role", /reserves/],
      ["user", /reserves/],
      ["none", /reserves/],
      ["all", /reserves/],
      ["pg_monitor", /pg_/],
    ];
    for (const [s, why] of cases) {
      const r = checkIdentifier(s, "role");
      expect(r.ok, JSON.stringify(s)).toBe(false);
      if (!r.ok) {
        expect(r.problem.code).toBe("JIT_IDENTIFIER");
        expect(r.problem.message).toMatch(why);
        expect(r.problem.message.startsWith("role ")).toBe(true);
      }
    }
  });

  it("counts bytes, not characters", () => {
    // 32 two-byte characters are 64 bytes: rejected for length even before the pattern.
    expect(checkIdentifier("é".repeat(32)).ok).toBe(false);
    expect(!checkIdentifier("é".repeat(32)).ok && (checkIdentifier("é".repeat(32)) as { problem: { message: string } }).problem.message).toMatch(/64 bytes/);
  });
});
