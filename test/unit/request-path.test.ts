import { describe, expect, it } from "vitest";
import { isUnderRequestsDir, parseRequestPath, REQUEST_PATH_PATTERN } from "../../src/core/request-path.ts";

describe("parseRequestPath", () => {
  it("splits the exact pattern into database and request id", () => {
    expect(parseRequestPath("access-requests/orders-prod/alice-inc-1234.yaml")).toEqual({ ok: true, database: "orders-prod", requestId: "alice-inc-1234" });
    expect(parseRequestPath(`access-requests/${"d".repeat(63)}/${"r".repeat(100)}.yaml`).ok).toBe(true);
  });

  it("rejects every other shape with JIT_PATH_INVALID at line 1", () => {
    for (const p of [
      "access-requests/orders-prod/alice.yml",
      "access-requests/orders-prod/alice.YAML",
      "access-requests/orders-prod/Alice.yaml",
      "Access-Requests/orders-prod/alice.yaml",
      "access-requests/Orders-Prod/alice.yaml",
      "access-requests/orders-prod/sub/alice.yaml",
      "access-requests/alice.yaml",
      "access-requests/orders-prod/../other/alice.yaml",
      "access-requests/../orders-prod/alice.yaml",
      "./access-requests/orders-prod/alice.yaml",
      "/access-requests/orders-prod/alice.yaml",
      "access-requests//alice.yaml",
      "access-requests/orders-prod/.yaml",
      "access-requests/orders-prod/-alice.yaml",
      "access-requests/orders_prod/alice.yaml",
      "access-requests/orders-prod/alice.yaml/",
      "access-requests\\orders-prod\\alice.yaml",
      "access-requests/orders-prod/alice.yaml\n",
      "access-requests/orders-prod/al\u0131ce.yaml",
      `access-requests/${"d".repeat(64)}/alice.yaml`,
      `access-requests/orders-prod/${"r".repeat(101)}.yaml`,
      "policies/orders.yaml",
    ]) {
      const r = parseRequestPath(p);
      expect(r.ok, JSON.stringify(p)).toBe(false);
      expect(!r.ok && r.problem).toMatchObject({ code: "JIT_PATH_INVALID", path: p, line: 1, column: 1 });
    }
  });

  it("exports the pattern and a case-insensitive directory test", () => {
    expect(REQUEST_PATH_PATTERN.test("access-requests/a/b.yaml")).toBe(true);
    expect(isUnderRequestsDir("access-requests/x")).toBe(true);
    expect(isUnderRequestsDir("Access-Requests/orders/x.yaml")).toBe(true);
    expect(isUnderRequestsDir("access-requests-old/x.yaml")).toBe(false);
    expect(isUnderRequestsDir("docs/access-requests/x.yaml")).toBe(false);
  });
});
