// Auto-approval end to end (issue 13 item 7; I1's auto_approve exception): a rule of the BASE policy
// stands in for reviews, the check says which rule approved, the app merges the PR itself at the
// evaluated head SHA, and the normal merge path re-verifies everything (the rule at merged_at)
// before granting. The adversarial side: policy edits in the same PR, requesters outside the team,
// durations above the rule, outside hours, a push racing the app's merge, multi-approval roles,
// break-glass, and a team the app cannot read. Rules use time_zone UTC with hours around (or away
// from) the test clock's hour, so they hold whenever the suite runs; DST is covered by
// test/unit/auto-approve.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP_ROLE, CONNECTION_ENV, codesIn, requestPath, requestYaml, startJitE2E, type JitE2E } from "./app-fixture.ts";

let w: JitE2E;
let hour: number;
beforeAll(async () => {
  w = await startJitE2E();
  hour = w.e2e.clock.now().getUTCHours();
});
afterAll(async () => { await w?.stop(); });

const hh = (h: number) => `${String(((h % 24) + 24) % 24).padStart(2, "0")}:00`;
/** A window containing the test clock's hour (±2 h), or one that starts 3 h after it. */
const around = () => `${hh(hour - 2)}-${hh(hour + 2)}`;
const away = () => `${hh(hour + 3)}-${hh(hour + 5)}`;

function policy(o: { rule?: string; adminRule?: string } = {}): string {
  return `databases:
  orders-prod:
    connection_env: ${CONNECTION_ENV}
    roles:
      orders_readonly:
        max_duration: 8h
        approvals: 1
        approvers: ["@acme/dba"]
        requesters: ["@acme/engineering", "@acme/dba"]
        require_ticket: true
${o.rule ? `        auto_approve:\n          - ${o.rule}\n` : ""}      orders_admin:
        max_duration: 1h
        approvals: 2
        approvers: ["@acme/dba"]
        requesters: ["@acme/engineering", "@acme/dba"]
${o.adminRule ? `        auto_approve:\n          - ${o.adminRule}\n` : ""}identities:
  alice: alice
  bob: bob
  carol: carol
  dora: dora
`;
}
const engineeringRule = (extra = "") => `{ requesters: ["@acme/engineering"], max_duration: 30m, hours: "${around()}", time_zone: UTC${extra} }`;

/** Puts `yaml` as the base policy (a direct push to the default branch, as an owner would merge it). */
async function basePolicy(yaml: string): Promise<void> {
  await w.repo.pushToDefaultBranch({ "policies/orders.yaml": yaml }, { message: "policy" });
  await w.idle();
}

const pull = (n: number) => w.repo.pulls().find((p) => p.number === n)!;
const mergedBy = (n: number) => (w.repo.repo.issues.get(n) as unknown as { pull: { mergedBy: string | null } }).pull.mergedBy;
const mergeCalls = () => w.e2e.sim.requestLog.filter((r) => r.operationId === "pulls/merge" && r.actor.endsWith("[bot]"));

describe("auto_approve: the happy path", () => {
  it("a team member's short request is green without reviews, names the rule, is merged by the app at the evaluated head and granted", async () => {
    await basePolicy(policy({ rule: engineeringRule() }));
    const before = mergeCalls().length;
    const { number, headSha } = await w.request("alice", "alice-auto-1", requestYaml({ duration: "30m" }));

    const check = await w.check(headSha);
    expect(check.conclusion).toBe("success");
    expect(check.output.title).toBe("Auto-approved: orders_readonly on orders-prod for 30m");
    expect(check.output.summary).toContain("### Auto-approval");
    expect(check.output.summary).toContain("Approved by policy rule auto_approve\\[0\\] (requesters `@acme/engineering`; at most 30m");
    expect(w.repo.reviews(number)).toEqual([]);

    // The app merged it itself, naming the head it evaluated.
    expect(pull(number)).toMatchObject({ state: "closed", merged: true });
    expect(mergedBy(number)).toMatch(/\[bot\]$/);
    const calls = mergeCalls().slice(before);
    expect(calls.map((c) => c.status)).toEqual([200]);

    expect(await w.appGranted()).toEqual([{ role: "orders_readonly", member: "alice", grantor: APP_ROLE }]);
    const [row] = await w.ledger("alice-auto-1");
    expect(row).toMatchObject({ status: "active", pr_number: number, head_sha: headSha, approvers: ["auto_approve[0]"], duration_ms: "1800000" });
    const granted = w.comments(number).filter((c) => c.body.startsWith("✅ **jit-access**: granted"));
    expect(granted).toHaveLength(1);
    expect(granted[0]!.body).toContain("cc @alice (requester)");
  });

  it("allow_multi_approval_roles: true lets a rule stand in for a 2-approval role", async () => {
    await basePolicy(policy({ adminRule: engineeringRule(", allow_multi_approval_roles: true") }));
    const { number } = await w.request("bob", "bob-admin-auto", requestYaml({ role: "orders_admin", duration: "15m", ticket: null }));
    expect(pull(number).merged).toBe(true);
    expect((await w.appGranted()).filter((m) => m.member === "bob")).toEqual([{ role: "orders_admin", member: "bob", grantor: APP_ROLE }]);
  });
});

describe("auto_approve: adversarial (I1: nothing is auto-approved that the base policy does not approve now)", () => {
  it("I1: a policy edit in the same PR never auto-approves itself (the rule it adds is not read)", async () => {
    await basePolicy(policy()); // no rule at the base
    const head = policy({ rule: `{ requesters: ["@acme/engineering"], max_duration: 8h }` });
    const { number, headSha } = await w.request("carol", "carol-self-approve", requestYaml({ duration: "2h" }), { extra: { "policies/orders.yaml": head } });
    const check = await w.check(headSha);
    expect(check.conclusion).toBe("failure");
    expect(codesIn(check.output.summary)).toContain("JIT_PR_TOUCHES_OTHER_FILES");
    expect(check.output.summary).not.toContain("Auto-approval");
    expect(pull(number)).toMatchObject({ state: "open", merged: false });
    await w.nothingGranted("carol-self-approve", "carol");
  });

  it("I1: a PR that only adds a rule to policies/ is never merged by the app", async () => {
    await basePolicy(policy());
    const { number } = await w.repo.openPullRequest("carol", "policy/auto", { "policies/orders.yaml": policy({ rule: engineeringRule() }) });
    await w.idle();
    expect(pull(number)).toMatchObject({ state: "open", merged: false });
  });

  it("I1: a requester outside the rule's team is not auto-approved (waits for a human)", async () => {
    await basePolicy(policy({ rule: engineeringRule() }));
    const { number, headSha } = await w.request("dora", "dora-not-engineering", requestYaml({ duration: "30m" }));
    const check = await w.check(headSha);
    expect(check.conclusion).toBe("action_required");
    expect(check.output.summary).toContain("No auto_approve rule applies");
    expect(check.output.summary).toContain("dora is not among `@acme/engineering`");
    expect(pull(number).merged).toBe(false);
    await w.nothingGranted("dora-not-engineering", "dora");
  });

  it("I1: a duration above the rule's max_duration is not auto-approved", async () => {
    await basePolicy(policy({ rule: engineeringRule() }));
    const { number, headSha } = await w.request("carol", "carol-31m", requestYaml({ duration: "31m" }));
    const check = await w.check(headSha);
    expect(check.conclusion).toBe("action_required");
    expect(check.output.summary).toContain("longer than 30m");
    expect(pull(number).merged).toBe(false);
    await w.nothingGranted("carol-31m", "carol");
  });

  it("I1: outside the rule's hours nothing is auto-approved", async () => {
    await basePolicy(policy({ rule: `{ requesters: ["@acme/engineering"], max_duration: 30m, hours: "${away()}", time_zone: UTC }` }));
    const { number, headSha } = await w.request("carol", "carol-night", requestYaml({ duration: "30m" }));
    const check = await w.check(headSha);
    expect(check.conclusion).toBe("action_required");
    expect(check.output.summary).toContain(`is outside hours ${away()}`);
    expect(pull(number).merged).toBe(false);
    await w.nothingGranted("carol-night", "carol");
  });

  it("I1: a rule naming a team the app cannot read fails closed", async () => {
    await basePolicy(policy({ rule: `{ requesters: ["@hidden-org/engineering", "@acme/no-such-team"], max_duration: 30m }` }));
    const { number, headSha } = await w.request("carol", "carol-hidden-team", requestYaml({ duration: "30m" }));
    expect((await w.check(headSha)).conclusion).toBe("action_required");
    expect(pull(number).merged).toBe(false);
    await w.nothingGranted("carol-hidden-team", "carol");
  });

  it("I1: a rule on a 2-approval role without allow_multi_approval_roles is a policy error: nothing is auto-approved", async () => {
    await basePolicy(policy({ adminRule: engineeringRule() }));
    const { number, headSha } = await w.request("carol", "carol-admin", requestYaml({ role: "orders_admin", duration: "15m", ticket: null }));
    const check = await w.check(headSha);
    expect(check.conclusion).toBe("failure");
    expect(codesIn(check.output.summary)).toContain("JIT_POLICY_INVALID");
    expect(check.output.summary).toContain("needs 2 approvals");
    expect(pull(number).merged).toBe(false);
    await w.nothingGranted("carol-admin", "carol");
  });

  it("I1: a break_glass request is never auto-approved", async () => {
    await basePolicy(policy({ rule: engineeringRule() }));
    const { number } = await w.request("carol", "carol-break-glass", `${requestYaml({ duration: "30m" })}break_glass: true\n`);
    expect(pull(number).merged).toBe(false);
    await w.nothingGranted("carol-break-glass", "carol");
  });

  it("I1: a push after the app decided to merge is not merged: the merge names the decided SHA and GitHub refuses it", async () => {
    await basePolicy(policy({ rule: engineeringRule() }));
    const id = "carol-race";
    let pushed: string | null = null;
    const before = mergeCalls().length;
    // The push lands between the app's decision and its merge call.
    const race = w.e2e.sim.injectFault({
      route: "pulls/merge", count: 1,
      beforeHandler: async () => {
        const n = w.repo.pulls().find((p) => p.headRef === `req/${id}`)!.number;
        pushed = await w.repo.pushCommits("carol", n, { [requestPath(id)]: requestYaml({ duration: "8h" }) });
      },
    });
    const { number, headSha } = await w.request("carol", id, requestYaml({ duration: "30m" }));
    race.clear();
    expect(race.hits).toBe(1);
    expect(pushed).not.toBeNull();
    const calls = mergeCalls().slice(before);
    expect(calls.map((c) => c.status)).toEqual([409]);
    expect(pull(number)).toMatchObject({ state: "open", merged: false });
    expect(w.repo.headSha(number)).toBe(pushed);
    expect((await w.check(headSha)).conclusion).toBe("success"); // what was decided for the old head
    const now = await w.check(pushed!);
    expect(now.conclusion).toBe("action_required"); // 8h: no rule approves the new head
    await w.nothingGranted(id, "carol");
  });

  it("branch protection the app cannot pass: it says so on the PR; a later human merge is re-verified at merged_at and refused once the rule no longer matches", async () => {
    await basePolicy(policy({ rule: engineeringRule() }));
    w.repo.setProtection({ requiredApprovingReviews: 1 });
    try {
      const before = mergeCalls().length;
      const { number, headSha } = await w.request("carol", "carol-protected", requestYaml({ duration: "30m" }));
      expect(pull(number).merged).toBe(false);
      expect(mergeCalls().slice(before).map((c) => c.status)).toEqual([405]);
      // Re-running the check decides the same for the same head: the app does not try again (claimed per head SHA).
      const runs = (await w.checks(headSha)).length;
      await w.repo.rerequestCheckSuite(headSha, "carol");
      await w.idle();
      expect((await w.checks(headSha)).length).toBe(runs + 1); // a fresh evaluation ran
      expect((await w.check(headSha)).conclusion).toBe("success");
      expect(mergeCalls().slice(before)).toHaveLength(1);
      const blocked = w.comments(number).filter((c) => c.body.includes("GitHub refused the app's merge"));
      expect(blocked).toHaveLength(1);
      expect(blocked[0]!.body).toContain("@carol");
      expect(blocked[0]!.body).toContain("bypass list");
      // The base policy drops the rule before an admin merges: the merge path judges the rule at
      // merged_at against the base (the merge commit's first parent), so nothing is granted.
      await basePolicy(policy());
      const refusal = await w.mergeAndRefusal(number);
      expect(refusal).toContain("JIT_APPROVALS_MISSING");
      await w.nothingGranted("carol-protected", "carol");
    } finally {
      w.repo.setProtection(null);
    }
  });

  it("I1: team membership is read fresh at merge: removed from the rule's team after the check, the merge grants nothing", async () => {
    w.e2e.sim.createTeam("acme", "oncall", { members: ["bob"] });
    await basePolicy(policy({ rule: `{ requesters: ["@acme/oncall"], max_duration: 30m }` }));
    w.repo.setProtection({ requiredApprovingReviews: 1 });
    try {
      const { number, headSha } = await w.request("bob", "bob-oncall", requestYaml({ duration: "30m" }));
      expect((await w.check(headSha)).conclusion).toBe("success");
      expect(pull(number).merged).toBe(false); // protection stopped the app
      w.e2e.sim.removeTeamMember("acme", "oncall", "bob");
      const refusal = await w.mergeAndRefusal(number);
      expect(refusal).toContain("JIT_APPROVALS_MISSING");
      // bob still holds orders_admin from the allow_multi_approval_roles test; nothing new came of this one
      expect((await w.appGranted()).filter((m) => m.member === "bob" && m.role === "orders_readonly")).toEqual([]);
      expect((await w.ledger("bob-oncall")).filter((r) => r.status === "active" || r.status === "intent")).toEqual([]);
    } finally {
      w.repo.setProtection(null);
    }
  });
});
