// auto_approve inside the one pull-request decision (src/core/pull-request.ts) with a fake context:
// rules come from the base only, are judged at now (check) and at merged_at (merge), settle only the
// missing human count, and leave everything else in force. "Nothing granted" = not ok, exact code.
import { describe, expect, it } from "vitest";
import type { Decision } from "../../src/core/problem.ts";
import { evaluatePullRequest, type PullRequestEvaluation } from "../../src/core/pull-request.ts";
import { approve, POLICY, REQUEST, REQUEST_PATH, requestScenario, review, type ScenarioOptions } from "../helpers/fake-context.ts";

const NOW = Date.parse("2026-05-28T10:00:00Z"); // a Thursday
const RULE = `        auto_approve:\n          - { requesters: ["@acme/engineering"], max_duration: 2h, days: [thu], hours: "09:00-11:00", time_zone: UTC }\n`;
const WITH_RULE = POLICY.replace("        require_ticket: true\n", `        require_ticket: true\n${RULE}`);

async function evaluate(o: ScenarioOptions, mode: "check" | "merge" = "check"): Promise<Decision<PullRequestEvaluation>> {
  return evaluatePullRequest(requestScenario({ base: { "policies/orders.yaml": WITH_RULE }, ...o }), { now: NOW, mode });
}

describe("auto_approve in the pull-request decision", () => {
  it("check: a matching base rule approves without reviews and is named", async () => {
    const d = await evaluate({});
    expect(d.problems).toEqual([]);
    expect(d.ok).toBe(true);
    expect(d.details.approval?.approvals).toBe(0);
    expect(d.details.autoApproval?.matched?.description).toMatch(/^auto_approve\[0\]/);
  });

  it("human approvals first: an approved PR does not evaluate rules at all", async () => {
    const d = await evaluate({ reviews: [approve("dave")] });
    expect(d.ok).toBe(true);
    expect(d.details.autoApproval).toBeNull();
  });

  it("merge: the rule is judged at merged_at, not at the app's clock (inside at now, outside at merged_at -> refused)", async () => {
    const merge = await evaluate({ merged: true, mergedAt: "2026-05-28T11:00:00Z", mergeParent: { "policies/orders.yaml": WITH_RULE } }, "merge");
    expect(merge.ok).toBe(false);
    expect(merge.code).toBe("JIT_APPROVALS_MISSING");
    expect(merge.details.autoApproval?.rejected[0]?.reason).toMatch(/Thu 11:00 UTC is outside hours 09:00-11:00/);
    const inTime = await evaluate({ merged: true, mergedAt: "2026-05-28T10:59:59Z", mergeParent: { "policies/orders.yaml": WITH_RULE } }, "merge");
    expect(inTime.ok).toBe(true);
  });

  it("I1 / case 24: the base dropped the rule before the merge -> refused at merge", async () => {
    const d = await evaluate({ merged: true, mergedAt: "2026-05-28T10:00:00Z", mergeParent: { "policies/orders.yaml": POLICY } }, "merge");
    expect(d.ok).toBe(false);
    expect(d.code).toBe("JIT_APPROVALS_MISSING");
    expect(d.details.autoApproval).toBeNull();
  });

  it("I1 / case 13: a rule added in the PR's own head is never read", async () => {
    const d = await evaluatePullRequest(requestScenario({ head: { [REQUEST_PATH]: REQUEST, "policies/orders.yaml": WITH_RULE } }), { now: NOW, mode: "check" });
    expect(d.ok).toBe(false);
    expect(d.problems.map((p) => p.code)).toEqual(expect.arrayContaining(["JIT_PR_TOUCHES_OTHER_FILES", "JIT_APPROVALS_MISSING"]));
    expect(d.details.autoApproval).toBeNull();
  });

  it("an eligible owner's CHANGES_REQUESTED still blocks an auto-approved request", async () => {
    const d = await evaluate({ reviews: [review("dave", "CHANGES_REQUESTED")] });
    expect(d.ok).toBe(false);
    expect(d.code).toBe("JIT_CHANGES_REQUESTED");
    expect(d.details.autoApproval?.matched).not.toBeNull();
  });

  it("a duration above the rule's max, or the wrong day, is not auto-approved", async () => {
    const long = await evaluate({ head: { [REQUEST_PATH]: REQUEST.replace("duration: 2h", "duration: 3h") } });
    expect(long.code).toBe("JIT_APPROVALS_MISSING");
    const friday = await evaluatePullRequest(requestScenario({ base: { "policies/orders.yaml": WITH_RULE } }), { now: NOW + 86_400_000, mode: "check" });
    expect(friday.code).toBe("JIT_APPROVALS_MISSING");
    expect(friday.details.autoApproval?.rejected[0]?.reason).toMatch(/Fri 10:00 UTC is not on thu/);
  });

  it("someone else pushed to the PR: not the requester's own request, not auto-approved", async () => {
    const d = await evaluate({ pushers: ["mallory"] });
    expect(d.code).toBe("JIT_APPROVALS_MISSING");
    expect(d.details.autoApproval?.rejected[0]?.reason).toMatch(/others touched the pull request \(mallory\)/);
  });
});
