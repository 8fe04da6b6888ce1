import { describe, expect, it } from "vitest";
import { codes, GOOD, request, validRequest } from "./support/core-fixtures.ts";

describe("parseRequest", () => {
  it("turns a valid file into an AccessRequest with field positions", () => {
    const r = validRequest(`# header comment\n${GOOD}user: alice\n`);
    expect(r).toEqual({
      path: "access-requests/orders-prod/alice-inc-1234.yaml",
      database: "orders-prod",
      requestId: "alice-inc-1234",
      role: "orders_readonly",
      duration: "2h",
      durationMs: 7_200_000,
      reason: "Investigate INC-1234",
      ticket: "INC-1234",
      user: "alice",
      positions: {
        role: { line: 2, column: 7 },
        duration: { line: 3, column: 11 },
        reason: { line: 4, column: 9 },
        ticket: { line: 5, column: 9 },
        user: { line: 6, column: 7 },
      },
    });
    expect(Object.getPrototypeOf(r)).toBe(Object.prototype);
  });

  it("leaves optional fields out when absent", () => {
    const r = validRequest("role: orders_readonly\nduration: 30m\nreason: x\n");
    expect("ticket" in r).toBe(false);
    expect("user" in r).toBe(false);
  });

  it("accepts quoted values and block-scalar reasons", () => {
    const r = validRequest("role: 'orders_readonly'\nduration: \"2h\"\nreason: >\n  two lines\n  folded\n");
    expect(r.reason).toBe("two lines folded\n");
  });

  it("reports a missing field at the top with the field's description as hint", () => {
    const d = request("role: orders_readonly\nduration: 2h\n");
    expect(codes(d)).toEqual(["JIT_SCHEMA"]);
    expect(d.problems[0]).toMatchObject({ line: 1, column: 1, message: 'missing required field "reason"' });
    expect(d.problems[0]?.hint).toMatch(/Why the access is needed/);
  });

  it("reports unknown fields with the list of allowed ones", () => {
    const d = request(`${GOOD}admin: true\n`);
    expect(d.problems[0]?.hint).toMatch(/role, duration, reason, ticket, user/);
  });

  it("rejects blank or overlong reasons and malformed tickets with JIT_SCHEMA at their line", () => {
    expect(request('role: orders_readonly\nduration: 2h\nreason: "   "\n').problems[0]).toMatchObject({ code: "JIT_SCHEMA", line: 3 });
    expect(request(`role: orders_readonly\nduration: 2h\nreason: ${"x".repeat(501)}\n`).problems[0]).toMatchObject({ code: "JIT_SCHEMA", line: 3 });
    for (const t of ["'#123'", "INC-", "-12", "INC 12", "'1234'", `A${"1".repeat(64)}`]) {
      const d = request(`role: orders_readonly\nduration: 2h\nreason: x\nticket: ${t}\n`);
      expect(codes(d), t).toEqual(["JIT_SCHEMA"]);
      expect(d.problems[0]?.line).toBe(4);
    }
    for (const t of ["INC-1234", "OPS42", "sec_ops-7"]) expect(validRequest(`role: orders_readonly\nduration: 2h\nreason: x\nticket: ${t}\n`).ticket).toBe(t);
  });

  it("collects every problem of a file, path included, in file order", () => {
    const d = request("role: Orders\nduration: 2x\nreason: 5\nextra: 1\n", "access-requests/Orders/x.yaml");
    expect(codes(d)).toEqual(["JIT_PATH_INVALID", "JIT_IDENTIFIER", "JIT_DURATION_INVALID", "JIT_SCHEMA", "JIT_SCHEMA"]);
    expect(d.problems.map((p) => p.line)).toEqual([1, 1, 2, 3, 4]);
    expect(d.problems.every((p) => p.path === "access-requests/Orders/x.yaml")).toBe(true);
    expect(d.code).toBe("JIT_PATH_INVALID");
  });

  it("a valid body at an invalid path is still not a request", () => {
    const d = request(GOOD, "access-requests/orders-prod/alice.yml");
    expect(codes(d)).toEqual(["JIT_PATH_INVALID"]);
    expect(d.details).toBeNull();
  });

  it("does not mutate or coerce the parsed data", () => {
    // With coerceTypes a number would become "2" and pass the pattern; here it stays a number.
    const d = request("role: orders_readonly\nduration: 2\nreason: x\n");
    expect(d.problems[0]).toMatchObject({ code: "JIT_SCHEMA", message: "duration must be text, not a whole number" });
  });
});
