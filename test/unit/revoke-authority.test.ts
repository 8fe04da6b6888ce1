// Early revoke authority (revoke_by): the pure rule, and the policy field as parsed and validated.
import { describe, expect, it } from "vitest";
import { parsePolicies } from "../../src/core/policy.ts";
import { decideEarlyRevoke, type EarlyRevokeInput } from "../../src/core/revoke-authority.ts";
import { utf8 } from "./support/core-fixtures.ts";

const base: EarlyRevokeInput = { revokeBy: ["requester", "approvers"], author: "mallory", grantees: ["carol"], approvals: [] };
const decide = (o: Partial<EarlyRevokeInput>) => decideEarlyRevoke({ ...base, ...o });

describe("revoke_by: who may end someone's active grant early", () => {
  it("revoke_by default: the requester's own deletion revokes (logins compare case-insensitively)", () => {
    expect(decide({ author: "Carol" })).toMatchObject({ ok: true, details: { allowedBy: "requester", by: ["Carol"] } });
  });

  it("revoke_by default: an eligible approver's approval lets anyone's deletion revoke", () => {
    expect(decide({ approvals: [{ login: "dora", eligible: true }] })).toMatchObject({ ok: true, details: { allowedBy: "approvers", by: ["dora"] } });
  });

  it("revoke_by default: another writer alone, an ineligible approval or the author's own approval revoke nothing (JIT_REVOKE_NOT_AUTHORIZED)", () => {
    for (const approvals of [[], [{ login: "olga", eligible: false }], [{ login: "mallory", eligible: true }], [{ login: "MALLORY", eligible: true }]]) {
      const d = decide({ approvals });
      expect(d.ok).toBe(false);
      expect(d.code).toBe("JIT_REVOKE_NOT_AUTHORIZED");
      expect(d.details.allowedBy).toBeNull();
    }
  });

  it("revoke_by: [approvers] does not let the requester end their grant alone; [requester] ignores approvals", () => {
    expect(decide({ revokeBy: ["approvers"], author: "carol" }).code).toBe("JIT_REVOKE_NOT_AUTHORIZED");
    expect(decide({ revokeBy: ["approvers"], author: "carol", approvals: [{ login: "dora", eligible: true }] }).ok).toBe(true);
    expect(decide({ revokeBy: ["requester"], approvals: [{ login: "dora", eligible: true }] }).code).toBe("JIT_REVOKE_NOT_AUTHORIZED");
  });

  it("revoke_by: a direct push (no verified author) revokes only under [anyone]", () => {
    expect(decide({ author: null, grantees: ["carol"] }).code).toBe("JIT_REVOKE_NOT_AUTHORIZED");
    expect(decide({ author: null, revokeBy: ["anyone"] })).toMatchObject({ ok: true, details: { allowedBy: "anyone", by: [] } });
    expect(decide({ revokeBy: ["anyone"] })).toMatchObject({ ok: true, details: { allowedBy: "anyone", by: ["mallory"] } });
  });

  const policy = (revokeBy: string) => parsePolicies([{ path: "policies/p.yaml", bytes: utf8(
    `databases:\n  orders-prod:\n    connection_env: ORDERS_URL\n    roles:\n      orders_readonly: { max_duration: 1h, approvals: 1, approvers: ['@acme/dba']${revokeBy} }\n`) }]);

  it("revoke_by: parsed from the policy (default [requester, approvers]); unknown, empty or repeated entries fail the schema (jit validate)", () => {
    expect(policy("").details?.databases["orders-prod"]?.roles.orders_readonly?.revokeBy).toEqual(["requester", "approvers"]);
    expect(policy(", revoke_by: [approvers]").details?.databases["orders-prod"]?.roles.orders_readonly?.revokeBy).toEqual(["approvers"]);
    for (const bad of [", revoke_by: [owners]", ", revoke_by: []", ", revoke_by: [anyone, anyone]", ", revoke_by: anyone"]) {
      const d = policy(bad);
      expect(d.ok).toBe(false);
      expect(d.problems.map((p) => p.code)).toContain("JIT_SCHEMA");
    }
  });
});
