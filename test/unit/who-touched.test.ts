// I13: whoever touched the branch cannot approve it, and an approval counts only before the merge,
// on the merged head and (with max_approval_age) recently enough. Through the one pull-request
// decision with the fake context; "nothing granted" = the decision is not ok, with the exact code.
import { mention } from "../../src/core/inert.ts";
import { describe, expect, it } from "vitest";
import type { Decision } from "../../src/core/problem.ts";
import { evaluatePullRequest, type PullRequestEvaluation } from "../../src/core/pull-request.ts";
import { renderCheck } from "../../src/core/report.ts";
import {
  approve, commit, MERGED_AT, POLICY, REQUEST_PATH, requestScenario, review, reviewTime, SHA, type ScenarioOptions,
} from "../helpers/fake-context.ts";

const HOUR = 3_600_000;
const NOW = Date.parse("2026-03-02T00:00:00Z");
const WEB_FLOW = { login: "web-flow", name: "GitHub", email: "noreply@github.com" };

async function evaluate(o: ScenarioOptions, mode: "check" | "merge" = "check", now = NOW) {
  const ctx = requestScenario(o);
  return { ctx, d: await evaluatePullRequest(ctx, { now, mode }) };
}

function refused(d: Decision<PullRequestEvaluation>, code: string): void {
  expect(d.ok).toBe(false);
  expect(d.code).toBe(code);
}

const codes = (d: Decision<unknown>) => d.problems.map((p) => p.code);
const excluded = (d: Decision<PullRequestEvaluation>) => d.details.approval?.excluded.map((x) => [x.login, x.code]);
const counted = (d: Decision<PullRequestEvaluation>) => d.details.approval?.counted.map((c) => c.login);

describe("I13: pushers", () => {
  it("I13: a recorded pusher cannot approve", async () => {
    const { ctx, d } = await evaluate({ pushers: ["dave"], reviews: [approve("dave")] });
    refused(d, "JIT_APPROVALS_MISSING");
    expect(excluded(d)).toEqual([["dave", "JIT_APPROVER_IS_PUSHER"]]);
    expect(d.details.approval?.excluded[0]?.reason).toContain("pushed to the head branch (synchronize");
    expect(ctx.count("pushers")).toBe(1);
  });

  it("I13: a pusher whose commit has another author cannot approve (the commit alone names alice)", async () => {
    const { d } = await evaluate({
      commits: [commit("alice", "c1"), commit("alice", "c2")],
      pushers: [{ login: "dave", action: "synchronize", headSha: SHA.head }],
      reviews: [approve("dave")],
    });
    refused(d, "JIT_APPROVALS_MISSING");
    expect(excluded(d)).toEqual([["dave", "JIT_APPROVER_IS_PUSHER"]]);
  });

  it("I13: a reviewer who pushed a merge commit from the base branch (Update branch) cannot approve", async () => {
    const merge = commit("dave", "merge-main", { message: "Merge branch 'main' into alice-inc-1234", committer: WEB_FLOW });
    const { d } = await evaluate({
      commits: [commit("alice", "c1"), merge],
      pushers: [{ login: "dave", action: "synchronize", headSha: SHA.head }],
      reviews: [approve("dave")],
    });
    refused(d, "JIT_APPROVALS_MISSING");
    // The commit already names him; the pusher record would exclude him even if it did not.
    expect(excluded(d)).toEqual([["dave", "JIT_APPROVER_IS_CONTRIBUTOR"]]);
    const { d: byRecordOnly } = await evaluate({
      commits: [commit("alice", "c1"), commit("grace", "merge-main", { message: "Merge branch 'main'", committer: WEB_FLOW })],
      pushers: ["dave"],
      reviews: [approve("dave"), approve("grace"), approve("erin")],
    });
    expect(byRecordOnly.ok).toBe(true);
    expect(counted(byRecordOnly)).toEqual(["erin"]);
    expect(excluded(byRecordOnly)).toEqual([["dave", "JIT_APPROVER_IS_PUSHER"], ["grace", "JIT_APPROVER_IS_CONTRIBUTOR"]]);
  });

  it("I13: whoever retargeted the base branch (edited) cannot approve", async () => {
    const { d } = await evaluate({ pushers: [{ login: "Erin", action: "edited", headSha: SHA.head }], reviews: [approve("erin")] });
    refused(d, "JIT_APPROVALS_MISSING");
    expect(d.details.approval?.excluded[0]).toMatchObject({ login: "erin", code: "JIT_APPROVER_IS_PUSHER", reason: "changed the pull request's base branch" });
  });

  it("I13: a push recorded on an older head still excludes; logins compare case-insensitively", async () => {
    const { d } = await evaluate({ pushers: [{ login: "DAVE", action: "synchronize", headSha: SHA.old }], reviews: [approve("Dave")] });
    refused(d, "JIT_APPROVALS_MISSING");
    expect(excluded(d)).toEqual([["dave", "JIT_APPROVER_IS_PUSHER"]]);
  });

  it("I13: a pusher's approval is not counted, but an eligible pusher's objection still blocks", async () => {
    const { d } = await evaluate({ pushers: ["dave"], reviews: [review("dave", "CHANGES_REQUESTED"), approve("erin")] });
    refused(d, "JIT_CHANGES_REQUESTED");
  });

  it("I13: with two approvals required, a pusher does not make up the second", async () => {
    const policy = POLICY.replace("approvals: 1\n        approvers: [\"@acme/dba\"]\n        requesters", "approvals: 2\n        approvers: [\"@acme/dba\"]\n        requesters");
    const { d } = await evaluate({ base: { "policies/orders.yaml": policy }, pushers: ["grace"], reviews: [approve("dave"), approve("grace")] });
    refused(d, "JIT_APPROVALS_MISSING");
    expect(d.message).toContain("1 of 2");
  });

  it("I13: the same pusher record excludes at merge time too", async () => {
    const { d } = await evaluate({ merged: true, pushers: ["dave"], reviews: [approve("dave")] }, "merge");
    refused(d, "JIT_APPROVALS_MISSING");
    expect(excluded(d)).toEqual([["dave", "JIT_APPROVER_IS_PUSHER"]]);
  });
});

describe("I13: commits whose identity is not linked to an account", () => {
  const unlinked = { name: "Someone", email: "someone@laptop.local" };

  it("I13: an author without a GitHub account fails closed, whatever the approvals", async () => {
    const { d } = await evaluate({ commits: [commit("alice", "c1", { author: unlinked })], reviews: [approve("dave"), approve("erin")] });
    refused(d, "JIT_COMMIT_UNATTRIBUTED");
    const p = d.problems.find((x) => x.code === "JIT_COMMIT_UNATTRIBUTED")!;
    expect(p.message).toContain(`commit ${commit("x", "c1").sha.slice(0, 12)}: author Someone <someone@laptop.local>`);
    expect(p.hint).toMatch(/add that email to the GitHub account.*or re-push/);
    expect(counted(d)).toEqual(["dave", "erin"]); // approvals are fine; the commit is what fails
  });

  it("I13: a linked author with an unlinked committer (someone else rebased it) fails closed", async () => {
    const { d } = await evaluate({ commits: [commit("alice", "c1", { committer: unlinked })], reviews: [approve("dave")] });
    refused(d, "JIT_COMMIT_UNATTRIBUTED");
    expect(d.problems.find((x) => x.code === "JIT_COMMIT_UNATTRIBUTED")!.message).toContain("committer Someone <someone@laptop.local>");
  });

  it("I13: one unlinked commit among linked ones is enough, and it fails at merge too", async () => {
    const commits = [commit("alice", "c1"), commit("alice", "c2", { author: { email: "x@y.example" }, committer: { email: "x@y.example" } }), commit("alice", "c3")];
    const { d } = await evaluate({ merged: true, commits, reviews: [approve("dave")] }, "merge");
    refused(d, "JIT_COMMIT_UNATTRIBUTED");
    expect(codes(d).filter((c) => c === "JIT_COMMIT_UNATTRIBUTED")).toHaveLength(1);
  });

  it("I13: commits made on GitHub (committer web-flow) are attributed", async () => {
    const { d } = await evaluate({ commits: [commit("alice", "c1", { committer: WEB_FLOW })], reviews: [approve("dave")] });
    expect(d.ok).toBe(true);
  });
});

describe("I13: approvals count only before the merge, on the merged head, recently enough", () => {
  const at = (iso: string, login = "dave") => ({ ...approve(login), submittedAt: iso });
  const plus = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString().replace(".000Z", "Z");

  it("I13: an approval submitted at merged_at + 1 s never counts", async () => {
    const { d } = await evaluate({ merged: true, reviews: [at(plus(MERGED_AT, 1000))] }, "merge");
    refused(d, "JIT_APPROVALS_MISSING");
    expect(d.details.approval?.excluded[0]).toMatchObject({ login: "dave", code: "JIT_APPROVAL_AFTER_MERGE" });
    expect(d.details.approval?.excluded[0]?.reason).toContain(MERGED_AT);
  });

  it("I13: an approval in the same second as merged_at counts (GitHub's timestamps have one-second resolution)", async () => {
    const { d } = await evaluate({ merged: true, reviews: [at(MERGED_AT)] }, "merge");
    expect(d.ok).toBe(true);
  });

  it("I13: changes requested before the merge and approval after it: the objection stands", async () => {
    const { d } = await evaluate({
      merged: true,
      reviews: [{ ...review("erin", "CHANGES_REQUESTED"), submittedAt: plus(MERGED_AT, -HOUR) }, at(plus(MERGED_AT, -2 * HOUR)), at(plus(MERGED_AT, 60_000), "erin")],
    }, "merge");
    refused(d, "JIT_CHANGES_REQUESTED");
    expect(excluded(d)).toContainEqual(["erin", "JIT_APPROVAL_AFTER_MERGE"]);
  });

  it("I13: an approval before the merge is not undone by a review after it", async () => {
    const { d } = await evaluate({
      merged: true,
      reviews: [at(plus(MERGED_AT, -HOUR)), { ...review("dave", "CHANGES_REQUESTED"), submittedAt: plus(MERGED_AT, 1000) }],
    }, "merge");
    expect(d.ok).toBe(true);
  });

  it("I13: without a readable submitted_at, or without merged_at, nothing counts at merge", async () => {
    const noTime = { ...approve("dave") };
    delete noTime.submittedAt;
    const { d } = await evaluate({ merged: true, reviews: [noTime, at("2026-03-01 10:00:00", "erin")] }, "merge");
    refused(d, "JIT_APPROVALS_MISSING");
    expect(excluded(d)).toEqual([["dave", "JIT_APPROVAL_AFTER_MERGE"], ["erin", "JIT_APPROVAL_AFTER_MERGE"]]);
    const { d: noMergedAt } = await evaluate({ merged: true, mergedAt: "", reviews: [approve("dave")] }, "merge");
    refused(noMergedAt, "JIT_APPROVALS_MISSING");
  });

  it("I13: an approval on an older head never counts, after any number of pushes", async () => {
    const { d } = await evaluate({ merged: true, reviews: [approve("dave", SHA.old)], pushers: ["alice"] }, "merge");
    refused(d, "JIT_APPROVALS_MISSING");
    expect(excluded(d)).toEqual([["dave", "JIT_APPROVAL_STALE"]]);
  });

  it("I13: approval on a head, another push, then that same head re-pushed: the approval names that exact commit and counts; the pusher does not", async () => {
    const pushers = [
      { login: "bob", action: "synchronize", headSha: SHA.old },
      { login: "bob", action: "synchronize", headSha: SHA.head },
    ];
    const { d } = await evaluate({ merged: true, pushers, reviews: [approve("dave", SHA.head, { minute: 1 }), approve("bob", SHA.head, { minute: 5 })] }, "merge");
    expect(d.ok).toBe(true);
    expect(counted(d)).toEqual(["dave"]);
    expect(excluded(d)).toEqual([["bob", "JIT_APPROVER_IS_PUSHER"]]);
  });
});

describe("I13: max_approval_age", () => {
  const policy = POLICY.replace("        require_ticket: true\n", "        require_ticket: true\n        max_approval_age: 72h\n");
  const base = { "policies/orders.yaml": policy };
  const submitted = reviewTime(1);

  it("I13: at check time an approval older than max_approval_age (measured to now) does not count", async () => {
    const { d } = await evaluate({ base, reviews: [approve("dave", SHA.head, { minute: 1 })] }, "check", Date.parse(submitted) + 72 * HOUR + 1000);
    refused(d, "JIT_APPROVALS_MISSING");
    expect(d.details.approval?.excluded[0]).toMatchObject({ code: "JIT_APPROVAL_TOO_OLD" });
    expect(d.details.approval?.excluded[0]?.reason).toContain("max_approval_age 3d before now");
    const { d: fresh } = await evaluate({ base, reviews: [approve("dave", SHA.head, { minute: 1 })] }, "check", Date.parse(submitted) + 72 * HOUR);
    expect(fresh.ok).toBe(true);
  });

  it("I13: at merge the age is measured to merged_at, not to when the delivery is handled", async () => {
    const mergedAt = new Date(Date.parse(submitted) + 72 * HOUR).toISOString();
    const { d } = await evaluate({ base, merged: true, mergedAt, reviews: [approve("dave", SHA.head, { minute: 1 })] }, "merge", Date.parse(mergedAt) + 30 * 24 * HOUR);
    expect(d.ok).toBe(true);
    const late = new Date(Date.parse(submitted) + 72 * HOUR + 1000).toISOString();
    const { d: old } = await evaluate({ base, merged: true, mergedAt: late, reviews: [approve("dave", SHA.head, { minute: 1 })] }, "merge", Date.parse(submitted));
    refused(old, "JIT_APPROVALS_MISSING");
    expect(excluded(old)).toEqual([["dave", "JIT_APPROVAL_TOO_OLD"]]);
    expect(old.details.approval?.excluded[0]?.reason).toContain("before the merge");
  });

  it("I13: without max_approval_age an old approval still counts", async () => {
    const { d } = await evaluate({ reviews: [approve("dave", SHA.head, { minute: 1 })] }, "check", Date.parse(submitted) + 365 * 24 * HOUR);
    expect(d.ok).toBe(true);
  });

  it("I13: max_approval_age uses the duration grammar: 0h, 72, 1.5h, 31d are refused", async () => {
    for (const bad of ["0h", "72", "1.5h", "31d", "-1h"]) {
      const { d } = await evaluate({ base: { "policies/orders.yaml": POLICY.replace("        require_ticket: true\n", `        require_ticket: true\n        max_approval_age: "${bad}"\n`) }, reviews: [approve("dave")] });
      expect(d.ok, bad).toBe(false);
      expect(codes(d).some((c) => c === "JIT_SCHEMA" || c.startsWith("JIT_DURATION_")), `${bad}: ${codes(d).join(",")}`).toBe(true);
    }
  });
});

describe("I13: the check says why each review does not count", () => {
  it("I13: every reviewer gets their own reason in the evaluation and in the check text", async () => {
    const { d } = await evaluate({
      commits: [commit("alice", "c1"), commit("alice", "c2", { committer: { login: "grace", email: "grace@example.com" } })],
      pushers: ["frank", "erin"],
      reviews: [
        approve("alice"), approve("grace"), approve("erin"), approve("dave", SHA.old), approve("sam"), approve("renovate[bot]"),
        review("frank", "APPROVED"), approve("bob"),
      ],
    });
    refused(d, "JIT_APPROVALS_MISSING");
    expect(excluded(d)).toEqual([
      ["alice", "JIT_APPROVER_IS_AUTHOR"],
      ["bob", "JIT_APPROVER_NOT_OWNER"],
      ["dave", "JIT_APPROVAL_STALE"],
      ["erin", "JIT_APPROVER_IS_PUSHER"],
      ["frank", "JIT_APPROVER_IS_PUSHER"],
      ["grace", "JIT_APPROVER_IS_CONTRIBUTOR"],
      ["renovate[bot]", "JIT_APPROVER_IS_BOT"],
      ["sam", "JIT_APPROVER_NOT_OWNER"],
    ]);
    const text = renderCheck(d, null, NOW).summary.text;
    for (const [login, code] of excluded(d)!) expect(text).toContain(`${mention(login!).text}: **${code}**`);
    expect(text).toContain(REQUEST_PATH);
  });

  it("I13: a dismissed review is listed as not counting, and the check only waits for a new approval", async () => {
    const r = approve("dave");
    const { d } = await evaluate({ reviews: [{ ...r, state: "DISMISSED" }] });
    refused(d, "JIT_APPROVALS_MISSING");
    expect(excluded(d)).toEqual([["dave", "JIT_APPROVAL_DISMISSED"]]);
    expect(codes(d)).toEqual(["JIT_APPROVALS_MISSING"]);
    expect(renderCheck(d, null, NOW).conclusion).toBe("action_required");
    expect(renderCheck(d, null, NOW).summary.text).toContain("@dave: **JIT_APPROVAL_DISMISSED**");
  });
});
