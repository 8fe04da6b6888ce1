import { describe, expect, it } from "vitest";
import { healthDetailsAllowed } from "../../src/scheduler/health.ts";
import { targetsWithoutVariable } from "../../src/scheduler/unconfigured-targets.ts";
import type { Policy } from "../../src/core/types.ts";

const req = (remoteAddress: string | undefined, headers: Record<string, string> = {}) => ({ headers, socket: { remoteAddress } }) as unknown as Parameters<typeof healthDetailsAllowed>[0];

describe("/health details: loopback or the token only", () => {
  it("loopback callers see details (IPv4, IPv6, IPv4-mapped)", () => {
    for (const a of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"]) expect(healthDetailsAllowed(req(a))).toBe(true);
  });

  it("anyone else gets the status alone, including look-alike addresses", () => {
    for (const a of ["10.0.0.5", "203.0.113.7", "::ffff:10.0.0.5", "fe80::1", "1127.0.0.1", "127.0.0.1.evil", "::2", undefined]) expect(healthDetailsAllowed(req(a))).toBe(false);
  });

  it("a request relayed by a proxy on loopback counts as remote", () => {
    const relayed: Record<string, string>[] = [{ "x-forwarded-for": "203.0.113.7" }, { forwarded: "for=203.0.113.7" }, { "x-real-ip": "203.0.113.7" }];
    for (const h of relayed) expect(healthDetailsAllowed(req("127.0.0.1", h))).toBe(false);
  });

  it("the bearer token opens the details from anywhere; a wrong, partial or absent token does not", () => {
    const token = "s3cret-token-value";
    expect(healthDetailsAllowed(req("203.0.113.7", { authorization: `Bearer ${token}` }), token)).toBe(true);
    for (const auth of ["Bearer wrong", `Bearer ${token}x`, `Bearer ${token.slice(0, -1)}`, token, `bearer  ${token}`, ""]) {
      expect(healthDetailsAllowed(req("203.0.113.7", { authorization: auth }), token)).toBe(false);
    }
    // no token configured: an Authorization header alone opens nothing
    expect(healthDetailsAllowed(req("203.0.113.7", { authorization: "Bearer " }), undefined)).toBe(false);
    expect(healthDetailsAllowed(req("203.0.113.7", { authorization: "Bearer " }), "")).toBe(false);
  });
});

describe("targets without a connection variable", () => {
  const policy = (dbs: Record<string, string>) => ({ databases: Object.fromEntries(Object.entries(dbs).map(([k, env]) => [k, { connectionEnv: env, roles: {} }])), identities: {} }) as unknown as Policy;
  it("names each database whose variable is unset or empty, once, sorted", () => {
    const got = targetsWithoutVariable([policy({ "orders-prod": "ORDERS", billing: "BILLING", set: "SET" }), policy({ "orders-prod": "ORDERS" })], { SET: "postgres://x", BILLING: "" });
    expect(got).toEqual([{ database: "billing", env: "BILLING" }, { database: "orders-prod", env: "ORDERS" }]);
  });
});
