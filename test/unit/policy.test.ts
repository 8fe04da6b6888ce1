import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isPolicyPath, parsePolicies } from "../../src/core/policy.ts";
import { codes, testPolicy, utf8 } from "./support/core-fixtures.ts";

const file = (path: string, yaml: string) => ({ path, bytes: utf8(yaml) });
const ROLE = "{ max_duration: 1h, approvals: 1, approvers: ['@acme/dba'] }";
const db = (env: string) => `databases:\n  orders-prod:\n    connection_env: ${env}\n    roles:\n      orders_readonly: ${ROLE}\n`;

describe("parsePolicies", () => {
  it("reads the test policy into normalized, null-prototype maps", () => {
    const p = testPolicy();
    expect(Object.keys(p.databases).sort()).toEqual(["billing-prod", "orders-prod"]);
    expect(Object.getPrototypeOf(p.databases)).toBeNull();
    expect(Object.getPrototypeOf(p.identities)).toBeNull();
    const ro = p.databases["orders-prod"]?.roles.orders_readonly;
    expect(ro).toEqual({
      maxDuration: "8h", maxDurationMs: 28_800_000, approvals: 1, approvers: ["@acme/dba"],
      requesters: ["@acme/engineering", "@acme/dba", "zed"], requireTicket: true, revokeBy: ["requester", "approvers"],
    });
    expect(p.databases["orders-prod"]?.roles.orders_admin?.requireTicket).toBe(false);
    expect(p.databases["orders-prod"]?.source).toBe("policies/orders.yaml");
    expect(p.identities.bob).toBe("bob"); // "Bob" stored lowercase
    expect(p.identities.Bob).toBeUndefined();
  });

  it("validates the repository's own example policy", () => {
    const d = parsePolicies([{ path: "policies/orders.yaml", bytes: readFileSync(new URL("../../policies/orders.yaml", import.meta.url)) }]);
    expect(d.problems).toEqual([]);
    expect(d.details?.databases["orders-prod"]?.standingAccess).toEqual({ orders_readonly: ["orders_reporting"] });
  });

  it("merges several files", () => {
    const d = parsePolicies([file("policies/b.yaml", "identities:\n  alice: alice\n"), file("policies/a.yaml", db("ORDERS_URL"))]);
    expect(d.ok).toBe(true);
    expect(d.details?.identities.alice).toBe("alice");
    expect(d.details?.databases["orders-prod"]?.connectionEnv).toBe("ORDERS_URL");
  });

  it("a database defined in two files is JIT_POLICY_CONFLICT naming both", () => {
    const d = parsePolicies([file("policies/a.yaml", db("A_URL")), file("policies/b.yaml", db("A_URL"))]);
    expect(codes(d)).toEqual(["JIT_POLICY_CONFLICT"]);
    expect(d.problems[0]).toMatchObject({ path: "policies/b.yaml", line: 2, column: 3 });
    expect(d.problems[0]?.message).toContain("policies/a.yaml");
    expect(d.problems[0]?.message).toContain("policies/b.yaml");
    expect(d.details).toBeNull();
  });

  it("an identity defined twice, in any case, is JIT_POLICY_CONFLICT", () => {
    const across = parsePolicies([file("policies/a.yaml", "identities:\n  alice: alice\n"), file("policies/b.yaml", "identities:\n  ALICE: alice2\n")]);
    expect(codes(across)).toEqual(["JIT_POLICY_CONFLICT"]);
    expect(across.problems[0]).toMatchObject({ path: "policies/b.yaml", line: 2 });
    const within = parsePolicies([file("policies/a.yaml", "identities:\n  alice: alice\n  Alice: alice2\n")]);
    expect(codes(within)).toEqual(["JIT_POLICY_CONFLICT"]);
  });

  it("one database login for two GitHub logins is JIT_POLICY_CONFLICT", () => {
    const d = parsePolicies([file("policies/a.yaml", "identities:\n  alice: shared\n  bob: shared\n")]);
    expect(codes(d)).toEqual(["JIT_POLICY_CONFLICT"]);
    expect(d.problems[0]).toMatchObject({ line: 3, column: 8 });
  });

  it("role names and database logins follow the identifier rules", () => {
    const d = parsePolicies([file("policies/a.yaml", `databases:\n  orders-prod:\n    connection_env: A_URL\n    roles:\n      pg_read_all_data: ${ROLE}\n      public: ${ROLE}\nidentities:\n  alice: current_user\n`)]);
    expect(codes(d)).toEqual(["JIT_IDENTIFIER", "JIT_IDENTIFIER", "JIT_IDENTIFIER"]);
    expect(d.problems.map((p) => p.line)).toEqual([5, 6, 8]);
  });

  it("max_duration follows the duration grammar and bound", () => {
    const bad = (max: string) => parsePolicies([file("policies/a.yaml", `databases:\n  x:\n    connection_env: A_URL\n    roles:\n      r: { max_duration: ${max}, approvals: 1, approvers: [a] }\n`)]);
    expect(codes(bad("31d"))).toEqual(["JIT_DURATION_TOO_LONG"]);
    expect(bad("31d").problems[0]).toMatchObject({ line: 5, column: 26 });
    expect(codes(bad("8H"))).toEqual(["JIT_SCHEMA"]);
  });

  it("schema errors point at the offending line", () => {
    const d = parsePolicies([file("policies/a.yaml", "databases:\n  orders-prod:\n    connection_env: A_URL\n    roles:\n      r: { max_duration: 1h, approvals: 0, approvers: [] }\n    grant_all: true\n")]);
    expect(codes(d)).toEqual(["JIT_SCHEMA", "JIT_SCHEMA", "JIT_SCHEMA"]);
    expect(d.problems.map((p) => [p.line, p.column])).toEqual([[5, 41], [5, 55], [6, 5]]);
    expect(codes(parsePolicies([file("policies/a.yaml", "databases:\n  Orders_Prod: {}\n")]))).toEqual(["JIT_SCHEMA"]);
    expect(codes(parsePolicies([file("policies/a.yaml", "{}\n")]))).toEqual(["JIT_SCHEMA"]);
    expect(codes(parsePolicies([file("policies/a.yaml", "approvals: '2'\n")]))).toEqual(["JIT_SCHEMA"]);
  });

  it("refuses connection_env names the app itself uses", () => {
    for (const env of ["DATABASE_URL", "WEBHOOK_SECRET", "PRIVATE_KEY"]) {
      const d = parsePolicies([file("policies/a.yaml", db(env))]);
      expect(codes(d), env).toEqual(["JIT_POLICY_INVALID"]);
      expect(d.problems[0]).toMatchObject({ line: 3, column: 21 });
    }
  });

  it("refuses standing_access for roles the database does not define", () => {
    const d = parsePolicies([file("policies/a.yaml", `${db("A_URL")}    standing_access:\n      orders_admin: [svc]\n`)]);
    expect(codes(d)).toEqual(["JIT_POLICY_INVALID"]);
    expect(d.problems[0]).toMatchObject({ line: 7, column: 7 });
  });

  it("refuses approval counts that named approvers can never meet", () => {
    const d = parsePolicies([file("policies/a.yaml", "databases:\n  x:\n    connection_env: A_URL\n    roles:\n      r: { max_duration: 1h, approvals: 2, approvers: [alice] }\n")]);
    expect(codes(d)).toEqual(["JIT_POLICY_INVALID"]);
    const team = parsePolicies([file("policies/a.yaml", "databases:\n  x:\n    connection_env: A_URL\n    roles:\n      r: { max_duration: 1h, approvals: 2, approvers: ['@acme/dba'] }\n")]);
    expect(team.ok).toBe(true);
  });

  it("no policy files at all is JIT_POLICY_INVALID", () => {
    expect(codes(parsePolicies([]))).toEqual(["JIT_POLICY_INVALID"]);
  });

  it("isPolicyPath accepts policies/*.yaml only", () => {
    expect(isPolicyPath("policies/orders.yaml")).toBe(true);
    for (const p of ["policies/orders.yml", "policies/sub/x.yaml", "x/policies/a.yaml"]) expect(isPolicyPath(p), p).toBe(false);
  });
});
