// I16 in configuration: spellings of one server that differ only in form (loopback names, case, a
// trailing dot, IPv6 brackets, host and port in query parameters) are the same server; other
// hosts and ports stay apart (the system identifier decides those at runtime).
import { describe, expect, it } from "vitest";
import { sameConnection } from "../../src/core/shared-roles.ts";
import type { Policy, RolePolicy } from "../../src/core/types.ts";

const rule: RolePolicy = { maxDuration: "8h", maxDurationMs: 8 * 3_600_000, approvals: 1, approvers: ["@acme/dba"], requireTicket: false };
const policy: Policy = {
  databases: {
    a: { connectionEnv: "A", roles: { r: rule }, source: "policies/a.yaml" },
    b: { connectionEnv: "B", roles: { r: rule }, source: "policies/b.yaml" },
  },
  identities: {},
};
const same = (A: string, B: string) => sameConnection(policy, { A, B })("a", "b");

describe("I16: one server, many spellings", () => {
  it.each([
    ["postgresql://u@localhost:5432/orders", "host=127.0.0.1 port=5432 dbname=archive"],
    ["postgresql://u@127.0.0.1/orders", "postgres://v@[::1]:5432/other"],
    ["host=LOCALHOST. dbname=x", "postgresql://u@127.0.0.1:5432/y"],
    ["postgresql://u@DB.Internal:6432/a", "host=db.internal. port=6432 dbname=b"],
    ["postgresql:///orders?host=localhost&port=5433", "host=127.0.0.1 port=5433"],
    ["hostaddr=::1 port=5432", "postgresql://u@localhost/z"],
  ])("I16: %s and %s are the same server", (a, b) => {
    expect(same(a, b)).toBe("the same server (A and B name the same host and port)");
  });

  it.each([
    ["postgresql://u@localhost:5432/a", "postgresql://u@localhost:5433/a"],
    ["postgresql://u@db1/a", "postgresql://u@db2/a"],
    ["host=10.0.0.1", "host=10.0.0.2"],
  ])("I16: %s and %s stay apart", (a, b) => {
    expect(same(a, b)).toBeNull();
  });
});
