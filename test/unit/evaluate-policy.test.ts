import { describe, expect, it } from "vitest";
import { evaluatePolicy, evaluateRequestAgainstPolicy } from "../../src/core/evaluate-policy.ts";
import { codes, GOOD, testPolicy, validRequest } from "./support/core-fixtures.ts";

const policy = testPolicy();
const eng = new Set(["@acme/engineering"]);
const ADMIN = "role: orders_admin\nduration: 30m\nreason: reindex\n";

describe("evaluatePolicy", () => {
  it("allows a team member and returns the full evaluation", () => {
    const d = evaluatePolicy({ request: validRequest(GOOD), policy, requester: "alice", requesterTeams: eng });
    expect(d.ok).toBe(true);
    expect(d.code).toBe("JIT_OK");
    expect(d.details).toEqual({
      database: "orders-prod",
      role: "orders_readonly",
      dbUser: "alice",
      durationMs: 7_200_000,
      connectionEnv: "ORDERS_PROD_DATABASE_URL",
      approvalRequirement: { count: 1, approvers: ["@acme/dba"] },
      rolePolicy: policy.databases["orders-prod"]?.roles.orders_readonly,
    });
  });

  it("matches login entries and requester case-insensitively", () => {
    // "Zed" in the policy's requesters, requester spelled ZED, no team information at all.
    const d = evaluatePolicy({ request: validRequest(GOOD), policy, requester: "ZED" });
    expect(d.ok).toBe(true);
    expect(d.details?.dbUser).toBe("zed");
    // Identities are case-insensitive too: "Bob" in the policy.
    const b = evaluatePolicy({ request: validRequest(ADMIN), policy, requester: "bob", requesterTeams: new Set(["@ACME/DBA"]) });
    expect(b.ok).toBe(true);
  });

  it("refuses a requester who is in none of the requesters' teams", () => {
    const d = evaluatePolicy({ request: validRequest(ADMIN), policy, requester: "alice", requesterTeams: eng });
    expect(codes(d)).toEqual(["JIT_REQUESTER_NOT_ALLOWED"]);
    expect(d.problems[0]).toMatchObject({ line: 1, column: 7 });
    expect(d.details).toBeNull();
  });

  it("fails closed when team membership is unknown and only a team could allow it", () => {
    const d = evaluatePolicy({ request: validRequest(ADMIN), policy, requester: "bob" });
    expect(codes(d)).toEqual(["JIT_REQUESTER_NOT_ALLOWED"]);
    expect(d.problems[0]?.message).toMatch(/could not be checked/);
    expect(evaluatePolicy({ request: validRequest(ADMIN), policy, requester: "bob", requesterTeams: new Set() }).problems[0]?.message).not.toMatch(/could not be checked/);
  });

  it("lets anyone with an identity ask when the role lists no requesters", () => {
    const r = validRequest("role: billing_readonly\nduration: 1d\nreason: x\n", "access-requests/billing-prod/carol-1.yaml");
    expect(evaluatePolicy({ request: r, policy, requester: "carol" }).ok).toBe(true);
  });

  it("requires an identity mapping", () => {
    const d = evaluatePolicy({ request: validRequest(GOOD), policy, requester: "mallory", requesterTeams: eng });
    expect(codes(d)).toEqual(["JIT_IDENTITY_UNKNOWN"]);
  });

  it("refuses a user other than the requester's own login", () => {
    const d = evaluatePolicy({ request: validRequest(`${GOOD}user: bob\n`), policy, requester: "alice", requesterTeams: eng });
    expect(codes(d)).toEqual(["JIT_USER_NOT_ALLOWED"]);
    expect(d.problems[0]).toMatchObject({ line: 5, column: 7 });
    expect(evaluatePolicy({ request: validRequest(`${GOOD}user: alice\n`), policy, requester: "alice", requesterTeams: eng }).ok).toBe(true);
  });

  it("requires a ticket where the policy says so", () => {
    const d = evaluatePolicy({ request: validRequest("role: orders_readonly\nduration: 2h\nreason: x\n"), policy, requester: "alice", requesterTeams: eng });
    expect(codes(d)).toEqual(["JIT_TICKET_REQUIRED"]);
  });

  it("collects all problems, not just the first", () => {
    const r = validRequest("role: orders_readonly\nduration: 9h\nreason: x\nuser: bob\n");
    const d = evaluatePolicy({ request: r, policy, requester: "alice", requesterTeams: new Set<string>() });
    expect(codes(d)).toEqual(["JIT_DURATION_TOO_LONG", "JIT_TICKET_REQUIRED", "JIT_REQUESTER_NOT_ALLOWED", "JIT_USER_NOT_ALLOWED"]);
    expect(d.code).toBe("JIT_DURATION_TOO_LONG");
  });
});

describe("evaluateRequestAgainstPolicy", () => {
  it("runs only the checks that do not depend on who asks", () => {
    expect(evaluateRequestAgainstPolicy(validRequest(`${GOOD}user: nobody_known\n`), policy).ok).toBe(true);
    expect(codes(evaluateRequestAgainstPolicy(validRequest("role: orders_admin\nduration: 2h\nreason: x\n"), policy))).toEqual(["JIT_DURATION_TOO_LONG"]);
  });
});
