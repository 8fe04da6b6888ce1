// Whom the app asks to review (src/core/review-requests.ts): teams of the repository's organization
// as teams, individuals capped, never the requester, a beneficiary, a contributor or pusher (I13),
// a bot, or someone whose review already counts or was excluded.
import { describe, expect, it } from "vitest";
import type { Problem } from "../../src/core/problem.ts";
import type { PullRequestEvaluation } from "../../src/core/pull-request.ts";
import { parseReviewRequestMax, planReviewRequests, waitsOnlyForApprovals } from "../../src/core/review-requests.ts";

function evaluation(eligibleOwners: string[], o: { counted?: string[]; excluded?: string[] } = {}): PullRequestEvaluation {
  return {
    kind: "grant", requester: "alice", beneficiaries: ["alice", "alice-alt"],
    approval: {
      required: 1, approvals: 0, codeownersPath: ".github/CODEOWNERS", ownersLine: 3, owners: eligibleOwners, policyApprovers: [], eligibleOwners,
      counted: (o.counted ?? []).map((login) => ({ login })), excluded: (o.excluded ?? []).map((login) => ({ login, reviewId: 1, code: "JIT_APPROVER_IS_PUSHER", reason: "" })), blockedBy: [],
    },
  } as unknown as PullRequestEvaluation;
}

describe("planReviewRequests", () => {
  it("teams of the organization as teams; other organizations' teams and email owners are skipped", () => {
    expect(planReviewRequests(evaluation(["@acme/dba", "@other/dba", "dba@acme.example", "@ACME/Leads"]), { org: "acme", max: 3, excluded: [] }))
      .toEqual({ users: [], teams: ["dba", "leads"] });
  });

  it("I13: never the requester, a beneficiary, a contributor or pusher, a bot, a counted or excluded reviewer; capped in order", () => {
    const e = evaluation(["@Alice", "@alice-alt", "@mallory", "@carol", "@ci[bot]", "@dora", "@dan", "@sam", "@olga"], { counted: ["dan"], excluded: ["sam"] });
    expect(planReviewRequests(e, { org: "acme", max: 2, excluded: ["MALLORY", "carol"] })).toEqual({ users: ["dora", "olga"], teams: [] });
    expect(planReviewRequests(e, { org: "acme", max: 0, excluded: [] }).users).toEqual([]);
  });

  it("only a request that waits for approvals alone asks anyone", () => {
    const d = (problems: string[]) => ({ ok: false, code: "JIT_APPROVALS_MISSING", message: "", details: evaluation(["@acme/dba"]), problems: problems.map((code) => ({ code, message: "" }) as Problem) });
    expect(waitsOnlyForApprovals(d(["JIT_APPROVALS_MISSING"]) as never)).toBe(true);
    expect(waitsOnlyForApprovals(d(["JIT_APPROVALS_MISSING", "JIT_ALREADY_GRANTED"]) as never)).toBe(false);
    expect(waitsOnlyForApprovals(d(["JIT_PR_DRAFT"]) as never)).toBe(false);
    expect(waitsOnlyForApprovals(d([]) as never)).toBe(false);
  });

  it("JIT_REVIEW_REQUESTS: 0 to 15, default 3, anything else refused", () => {
    expect(parseReviewRequestMax(undefined)).toBe(3);
    expect(parseReviewRequestMax("0")).toBe(0);
    expect(parseReviewRequestMax("15")).toBe(15);
    for (const bad of ["16", "-1", "2.5", "x", " 3"]) expect(parseReviewRequestMax(bad)).toBeNull();
  });
});
