// docs/security.md cases 17-24 through the app: who approved, and does it count. Approval is computed
// by the app from fresh API reads at merge time (I1, I3); GitHub's branch protection, comments and
// statuses are never evidence. Each case asserts the exact code and that nothing was granted.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RepoScenario } from "../sim/index.ts";
import { APP_ROLE, CODEOWNERS, POLICY_YAML, codesIn, requestPath, requestYaml, startJitE2E, type JitE2E } from "./app-fixture.ts";

let w: JitE2E;
beforeAll(async () => { w = await startJitE2E({ protection: { requiredApprovingReviews: 1 } }); });
afterAll(async () => { await w?.stop(); });



const summaryOf = async (headSha: string, repo?: RepoScenario) => (await w.check(headSha, repo)).output.summary ?? "";

describe("case 17: admin merge without approval", () => {
  it("case 17: protection blocks a normal merge; an admin bypass merge grants nothing, comments the refusal and opens one jit-alert issue", async () => {
    const { number, headSha } = await w.request("alice", "alice-17");
    expect((await w.check(headSha)).conclusion).toBe("action_required");
    await expect(w.repo.merge(number)).rejects.toMatchObject({ status: 405 });

    const refusal = await w.mergeAndRefusal(number);
    expect(refusal).toContain("(**JIT_APPROVALS_MISSING**)");
    expect(refusal).toContain("**JIT_APPROVALS_MISSING**: 0 of 1 required approval");
    await w.nothingGranted("alice-17");
    expect(await w.ledger("alice-17")).toEqual([]);
    const alerts = w.alerts();
    expect(alerts.map((a) => a.title)).toEqual([`[JIT_MERGE_REFUSED] Merged request PR #${number} was refused (JIT_APPROVALS_MISSING)`]);
    expect(alerts[0]!.body).toContain("JIT_APPROVALS_MISSING");
    // the push that followed the merge re-verified the same PR: still one comment, one alert
    expect(w.e2e.sim.findDeliveries({ event: "push" }).at(-1)!.status).toBe(202);
    expect(w.alerts()).toHaveLength(1);
  });
});

describe("case 18: approvals that never count", () => {
  it("case 18: the author's own approval (planted) → JIT_APPROVER_IS_AUTHOR, nothing granted", async () => {
    const { number, headSha } = await w.request("alice", "alice-18-own");
    await w.repo.review("alice", number, "APPROVE", { force: true });
    await w.idle();
    const check = await w.check(headSha);
    expect(check.conclusion).toBe("failure");
    expect(check.output.summary).toContain("@alice: **JIT_APPROVER_IS_AUTHOR**");
    expect(codesIn(check.output.summary)).toEqual(expect.arrayContaining(["JIT_APPROVALS_MISSING", "JIT_APPROVER_IS_AUTHOR"]));
    const refusal = await w.mergeAndRefusal(number);
    expect(refusal).toContain("**JIT_APPROVER_IS_AUTHOR**");
    await w.nothingGranted("alice-18-own");
  });

  // The beneficiary is the database login's GitHub identity; the policy maps each database login to
  // one GitHub login and a request's user must be the requester's own, so the beneficiary is always
  // the author on GitHub: the planted self-approval above is also the beneficiary's. The exclusion
  // by beneficiary alone is covered in test/unit (approval engine).
  it("case 18: the beneficiary is the author: her approval is excluded before any read", async () => {
    const { number, headSha } = await w.request("alice", "alice-18-benef");
    w.e2e.sim.clearRequestLog();
    await w.repo.review("alice", number, "APPROVE", { force: true });
    await w.idle();
    expect(await summaryOf(headSha)).toContain("@alice: **JIT_APPROVER_IS_AUTHOR**");
    // no permission or membership read was spent on the excluded approver
    expect(w.e2e.sim.requests("repos/get-collaborator-permission-level").filter((r) => r.path.endsWith("/alice/permission"))).toEqual([]);
    await w.repo.close(number);
    await w.idle();
  });

  it("case 18: an approver who pushed a commit to the PR → JIT_APPROVER_IS_CONTRIBUTOR, nothing granted", async () => {
    const { number } = await w.request("alice", "alice-18-push");
    const head = await w.repo.pushCommits("dan", number, { [requestPath("alice-18-push")]: requestYaml({ reason: "Fixed the reason for alice" }) });
    await w.repo.review("dan", number, "APPROVE");
    await w.idle();
    const summary = await summaryOf(head);
    expect(summary).toMatch(/@dan: \*\*JIT_APPROVER_IS_CONTRIBUTOR\*\* authored, committed or co-authored a commit of this pull request \((author|committer) of/);
    expect(await w.mergeAndRefusal(number)).toContain("**JIT_APPROVER_IS_CONTRIBUTOR**");
    await w.nothingGranted("alice-18-push");
  });

  it("case 18: an approver named as co-author, or as the author of a commit someone else pushed → JIT_APPROVER_IS_CONTRIBUTOR", async () => {
    const co = await w.request("alice", "alice-18-co", requestYaml(), { coAuthors: ["dora"] });
    await w.repo.review("dora", co.number, "APPROVE");
    await w.idle();
    expect(await summaryOf(co.headSha)).toContain("@dora: **JIT_APPROVER_IS_CONTRIBUTOR** authored, committed or co-authored a commit of this pull request (co-author of");
    expect(await w.mergeAndRefusal(co.number)).toContain("**JIT_APPROVER_IS_CONTRIBUTOR**");
    await w.nothingGranted("alice-18-co");

    const other = await w.request("alice", "alice-18-other", requestYaml(), { commitAuthor: "dan" });
    await w.repo.review("dan", other.number, "APPROVE");
    await w.idle();
    expect(await summaryOf(other.headSha)).toContain("@dan: **JIT_APPROVER_IS_CONTRIBUTOR** authored, committed or co-authored a commit of this pull request (author of");
    expect(await w.mergeAndRefusal(other.number)).toContain("**JIT_APPROVER_IS_CONTRIBUTOR**");
    await w.nothingGranted("alice-18-other");
  });
});

describe("case 19: approval on an older commit", () => {
  it("case 19: approve, push, merge (protection keeps stale approvals) → JIT_APPROVAL_STALE, nothing granted", async () => {
    const { number, headSha } = await w.request("alice", "alice-19");
    await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    expect((await w.check(headSha)).conclusion).toBe("success");
    const head2 = await w.repo.pushCommits("alice", number, { [requestPath("alice-19")]: requestYaml({ duration: "8h" }) });
    await w.idle();
    expect(await summaryOf(head2)).toContain("@dora: **JIT_APPROVAL_STALE**");
    await w.repo.merge(number); // GitHub lets it through: the stale approval still satisfies protection
    await w.idle();
    const refusal = w.comments(number).filter((c) => c.body.startsWith("❌")).map((c) => c.body);
    expect(refusal).toHaveLength(1);
    expect(refusal[0]).toContain("(**JIT_APPROVALS_MISSING**)");
    expect(refusal[0]).toContain(`**JIT_APPROVAL_STALE**: @dora's approval does not count: approved ${headSha.slice(0, 12)}, not the head ${head2.slice(0, 12)}`);
    await w.nothingGranted("alice-19");
  });
});

describe("case 20: approvers who are not eligible at merge time", () => {
  it("case 20: a reviewer with write access who owns nothing → JIT_APPROVER_NOT_OWNER", async () => {
    const { number, headSha } = await w.request("alice", "alice-20-mallory");
    await w.repo.review("mallory", number, "APPROVE");
    await w.idle();
    expect(await summaryOf(headSha)).toContain("@mallory: **JIT_APPROVER_NOT_OWNER** not a code owner of access-requests/orders-prod/alice-20-mallory.yaml");
    expect(await w.mergeAndRefusal(number)).toContain("**JIT_APPROVER_NOT_OWNER**");
    await w.nothingGranted("alice-20-mallory");
  });

  it("case 20: a code owner with read access only → JIT_APPROVER_NO_WRITE_ACCESS", async () => {
    const { number, headSha } = await w.request("alice", "alice-20-olga");
    await w.repo.review("olga", number, "APPROVE");
    await w.idle();
    expect(await summaryOf(headSha)).toContain("@olga: **JIT_APPROVER_NO_WRITE_ACCESS** repository permission is read");
    expect(await w.mergeAndRefusal(number)).toContain("**JIT_APPROVER_NO_WRITE_ACCESS**");
    await w.nothingGranted("alice-20-olga");
  });

  it("case 20: a team member removed from the owning team after approving → not counted at merge time", async () => {
    const { number, headSha } = await w.request("alice", "alice-20-removed");
    await w.repo.review("dan", number, "APPROVE");
    await w.idle();
    expect((await w.check(headSha)).conclusion).toBe("success");
    w.e2e.sim.removeTeamMember("acme", "dba", "dan");
    try {
      await w.repo.merge(number); // protection is satisfied: GitHub still counts the approval
      await w.idle();
      const refusal = w.comments(number).filter((c) => c.body.startsWith("❌")).map((c) => c.body);
      expect(refusal).toHaveLength(1);
      expect(refusal[0]).toContain("(**JIT_APPROVALS_MISSING**)");
      expect(refusal[0]).toContain("**JIT_APPROVER_NOT_OWNER**: @dan's approval does not count");
      await w.nothingGranted("alice-20-removed");
    } finally {
      w.e2e.sim.addTeamMember("acme", "dba", "dan");
    }
  });
});

describe("case 21: the latest review per reviewer decides", () => {
  it("case 21: APPROVED then CHANGES_REQUESTED by the same owner → JIT_CHANGES_REQUESTED, nothing granted", async () => {
    const { number, headSha } = await w.request("alice", "alice-21-cr");
    await w.repo.review("dora", number, "APPROVE");
    await w.repo.review("dora", number, "REQUEST_CHANGES", { body: "wrong ticket" });
    await w.idle();
    const check = await w.check(headSha);
    expect(check.conclusion).toBe("action_required");
    expect(check.output.title).toBe("Changes requested: orders_readonly on orders-prod for 2h");
    expect(codesIn(check.output.summary)).toEqual(expect.arrayContaining(["JIT_CHANGES_REQUESTED", "JIT_APPROVALS_MISSING"]));
    expect(await w.mergeAndRefusal(number)).toContain("(**JIT_CHANGES_REQUESTED**)");
    await w.nothingGranted("alice-21-cr");
  });

  it("case 21: APPROVED then DISMISSED → JIT_APPROVALS_MISSING, nothing granted", async () => {
    const { number, headSha } = await w.request("alice", "alice-21-dismissed");
    const review = await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    expect((await w.check(headSha)).conclusion).toBe("success");
    await w.repo.dismissReview(review, { asUser: "sam", message: "not like this" });
    await w.idle();
    expect((await w.check(headSha)).conclusion).toBe("action_required");
    expect(await w.mergeAndRefusal(number)).toContain("(**JIT_APPROVALS_MISSING**)");
    await w.nothingGranted("alice-21-dismissed");
  });

  it("case 21: another eligible owner's outstanding CHANGES_REQUESTED blocks an approval → JIT_CHANGES_REQUESTED", async () => {
    const { number, headSha } = await w.request("alice", "alice-21-blocked");
    await w.repo.review("dora", number, "APPROVE");
    await w.repo.review("dan", number, "REQUEST_CHANGES", { body: "not during the freeze" });
    await w.idle();
    const summary = await summaryOf(headSha);
    expect(summary).toContain("**JIT_CHANGES_REQUESTED**: @dan, an eligible owner, requested changes");
    expect(summary).toContain("Counted: @dora");
    expect(await w.mergeAndRefusal(number)).toContain("(**JIT_CHANGES_REQUESTED**)");
    await w.nothingGranted("alice-21-blocked");
  });

  it("case 21: APPROVED then COMMENTED → still approved, and the merge grants", async () => {
    const { number, headSha } = await w.request("bob", "bob-21-commented");
    await w.repo.review("dora", number, "APPROVE");
    await w.repo.review("dora", number, "COMMENT", { body: "one more thought" });
    await w.idle();
    expect((await w.check(headSha)).conclusion).toBe("success");
    await w.repo.merge(number);
    await w.idle();
    expect((await w.appGranted()).filter((m) => m.member === "bob")).toEqual([{ role: "orders_readonly", member: "bob", grantor: APP_ROLE }]);
    expect((await w.ledger("bob-21-commented"))[0]).toMatchObject({ status: "active", approvers: ["dora"] });
  });
});

describe("case 22: comments, reactions and statuses are never approvals", () => {
  // The simulator serves no reactions or commit statuses, and the app has no way to read them: the
  // PullRequestContext (src/core/context.ts) offers reviews only. Comments are read by nobody.
  it("case 22: comments \"LGTM\" and 👍 from an eligible owner do not approve → JIT_APPROVALS_MISSING, nothing granted", async () => {
    const { number, headSha } = await w.request("alice", "alice-22");
    w.repo.comment("dora", number, "LGTM");
    w.repo.comment("dora", number, "👍");
    w.repo.comment("dan", number, "/approve");
    const before = await w.checks(headSha);
    await w.repo.rerequestCheckRun(before.at(-1)!.id, "alice");
    await w.idle();
    const check = await w.check(headSha);
    expect((await w.checks(headSha)).length).toBe(before.length + 1);
    expect(check.conclusion).toBe("action_required");
    expect(codesIn(check.output.summary)).toEqual(["JIT_APPROVALS_MISSING"]);
    expect(await w.mergeAndRefusal(number)).toContain("(**JIT_APPROVALS_MISSING**)");
    await w.nothingGranted("alice-22");
  });
});

describe("case 23: CODEOWNERS semantics through the app", () => {
  const codeowners = (text: string) => ({ ".github/CODEOWNERS": text });

  async function evaluate(repo: RepoScenario, id: string, approvers: string[]): Promise<{ number: number; check: Awaited<ReturnType<JitE2E["check"]>> }> {
    const { number, headSha } = await w.request("alice", id, requestYaml(), { repo });
    for (const a of approvers) await repo.review(a, number, "APPROVE");
    await w.idle();
    return { number, check: await w.check(headSha, repo) };
  }

  it("case 23: the last matching line wins: a later rule gives the directory to @acme/security → dora's approval does not count", async () => {
    const repo = await w.newRepo("access-23-last", { files: codeowners(`${CODEOWNERS}/access-requests/orders-prod/ @acme/security\n`) });
    const { number, check } = await evaluate(repo, "alice-23-last", ["dora", "sam"]);
    expect(check.conclusion).toBe("failure");
    expect(check.output.summary).toContain("@dora: **JIT_APPROVER_NOT_OWNER** not a code owner");
    expect(check.output.summary).toContain("@sam: **JIT_APPROVER_NOT_OWNER** a code owner, but not among the policy's approvers");
    expect(check.output.summary).toContain("(.github/CODEOWNERS line 7;");
    expect(await w.mergeAndRefusal(number, repo)).toContain("(**JIT_APPROVALS_MISSING**)");
    await w.nothingGranted("alice-23-last");
  });

  it("case 23: an owner-less last match leaves the file unowned → JIT_NO_ELIGIBLE_OWNER, fails closed", async () => {
    const repo = await w.newRepo("access-23-unowned", { files: codeowners(`${CODEOWNERS}/access-requests/orders-prod/\n`) });
    const { number, check } = await evaluate(repo, "alice-23-unowned", ["dora"]);
    expect(check.conclusion).toBe("failure");
    expect(check.output.title).toMatch(/^JIT_NO_ELIGIBLE_OWNER: .*\.github\/CODEOWNERS line 7 leaves it without owners/);
    expect(await w.mergeAndRefusal(number, repo)).toContain("(**JIT_NO_ELIGIBLE_OWNER**)");
    await w.nothingGranted("alice-23-unowned");
  });

  it("case 23: .github/CODEOWNERS beats the root file, which beats docs/", async () => {
    const malloryOwns = "/access-requests/ @mallory\n";
    const all = await w.newRepo("access-23-github", { files: { CODEOWNERS: malloryOwns, "docs/CODEOWNERS": malloryOwns } });
    const a = await evaluate(all, "alice-23-github", ["mallory", "dora"]);
    expect(a.check.conclusion).toBe("success"); // mallory is listed as not counted; dora suffices
    expect(a.check.output.summary).toContain("Counted: @dora");
    expect(a.check.output.summary).toContain("@mallory: **JIT_APPROVER_NOT_OWNER**");
    await all.close(a.number);

    const rootOnly = await w.newRepo("access-23-root", { files: { ".github/CODEOWNERS": null, CODEOWNERS, "docs/CODEOWNERS": malloryOwns } });
    const b = await evaluate(rootOnly, "alice-23-root", ["dora"]);
    expect(b.check.conclusion).toBe("success");
    expect(b.check.output.summary).toContain("(CODEOWNERS line 3;");
    await rootOnly.close(b.number);
    await w.idle();
  });

  for (const [what, line] of [
    ["negation (!)", "!/access-requests/orders-prod/ @mallory"],
    ["a character range ([ ])", "/access-requests/[o]rders-prod/ @mallory"],
    ["an escaped leading \\#", "\\#access-requests @mallory"],
  ] as const) {
    it(`case 23: unsupported syntax — ${what} — is not interpreted → JIT_CODEOWNERS_ERROR, fails closed`, async () => {
      const repo = await w.newRepo(`access-23-syntax-${what.replace(/[^a-z]/g, "")}`, { files: codeowners(`${CODEOWNERS}${line}\n`) });
      const { number, check } = await evaluate(repo, "alice-23-syntax", ["dora"]);
      expect(check.conclusion).toBe("failure");
      expect(check.output.title).toMatch(/^JIT_CODEOWNERS_ERROR: \.github\/CODEOWNERS line 7 is not interpreted/);
      expect(check.annotations.map((x) => [x.path, x.start_line, x.title])).toContainEqual([".github/CODEOWNERS", 7, "JIT_CODEOWNERS_ERROR"]);
      expect(await w.mergeAndRefusal(number, repo)).toContain("(**JIT_CODEOWNERS_ERROR**)");
      await w.nothingGranted("alice-23-syntax");
    });
  }

  it("case 23: paths are case-sensitive: a rule for /Access-Requests/ does not own access-requests/", async () => {
    const repo = await w.newRepo("access-23-case", { files: codeowners(`${CODEOWNERS}/Access-Requests/ @mallory\n`) });
    const { number, check } = await evaluate(repo, "alice-23-case", ["mallory"]);
    expect(check.output.summary).toContain("@mallory: **JIT_APPROVER_NOT_OWNER**");
    expect(check.output.summary).toContain("(.github/CODEOWNERS line 3;");
    expect(await w.mergeAndRefusal(number, repo)).toContain("(**JIT_APPROVALS_MISSING**)");
    await w.nothingGranted("alice-23-case");
  });
});

describe("case 24: the base policy tightened between approval and merge", () => {
  for (const [what, policy, code] of [
    ["two approvals now required", POLICY_YAML.replace("approvals: 1", "approvals: 2"), "JIT_APPROVALS_MISSING"],
    ["the maximum lowered to 1h", POLICY_YAML.replace("max_duration: 8h", "max_duration: 1h"), "JIT_DURATION_TOO_LONG"],
    ["alice no longer among the requesters", POLICY_YAML.replace('requesters: ["@acme/engineering", "@acme/dba"]\n        require_ticket', 'requesters: ["@acme/dba"]\n        require_ticket'), "JIT_REQUESTER_NOT_ALLOWED"],
  ] as const) {
    it(`case 24: ${what} → ${code}, nothing granted`, async () => {
      expect(policy).not.toBe(POLICY_YAML);
      const repo = await w.newRepo(`access-24-${code.toLowerCase()}`);
      const id = `alice-24-${code.toLowerCase().replace(/_/g, "-")}`;
      const { number, headSha } = await w.request("alice", id, requestYaml(), { repo });
      await repo.review("dora", number, "APPROVE");
      await w.idle();
      expect((await w.check(headSha, repo)).conclusion).toBe("success");

      await repo.pushToDefaultBranch({ "policies/orders.yaml": policy }, { asUser: "sam", message: "Tighten orders policy" });
      await w.idle();
      await repo.merge(number, { method: "merge" });
      await w.idle();
      const refusal = w.comments(number, repo).filter((c) => c.body.startsWith("❌")).map((c) => c.body);
      expect(refusal).toHaveLength(1);
      expect(refusal[0]).toContain(`(**${code}**)`);
      await w.nothingGranted(id);
      expect(await w.ledger(id)).toEqual([]);
    });
  }
});
