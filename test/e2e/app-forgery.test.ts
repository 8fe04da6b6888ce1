// Security review of the GitHub-facing path: things another actor can plant or shape in GitHub
// (intermediate commits of a rebase merge, comments and issues carrying the app's hidden markers)
// must never decide a grant, hide an alert or hijack the app's sticky comment.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CODEOWNERS, POLICY_YAML, requestPath, requestYaml, startJitE2E, type JitE2E } from "./app-fixture.ts";

let w: JitE2E;
beforeAll(async () => { w = await startJitE2E(); });
afterAll(async () => { await w?.stop(); });

const STICKY = "<!-- jit-access:sticky -->";


describe("I1: policies and CODEOWNERS come from the base branch as it was before the merge", () => {
  it("case 13: a rebase merge whose earlier commits rewrite CODEOWNERS and policies (reverted by the last) grants nothing", async () => {
    // mallory (write access, owns nothing) makes herself owner and approver in a first commit, the
    // second commit puts both files back: the PR's net diff is the request file alone. A rebase
    // merge replays both commits, so the merge commit's first parent is the attacker's commit.
    const evilOwners = `${CODEOWNERS}/access-requests/ @mallory\n`;
    const evilPolicy = POLICY_YAML.replace('approvers: ["@acme/dba"]', 'approvers: ["mallory"]');
    expect(evilPolicy).not.toBe(POLICY_YAML);
    const id = "alice-rebase-base";
    const { number } = await w.request("alice", id, requestYaml(), {
      extra: { ".github/CODEOWNERS": evilOwners, "policies/orders.yaml": evilPolicy },
    });
    await w.repo.pushCommits("alice", number, { ".github/CODEOWNERS": CODEOWNERS, "policies/orders.yaml": POLICY_YAML });
    await w.idle();
    expect((await w.repo.pull(number)).changed_files).toBe(1);
    await w.repo.review("mallory", number, "APPROVE");
    await w.idle();

    await w.repo.merge(number, { method: "rebase" });
    await w.idle();

    await w.nothingGranted(id);
    const refusal = w.comments(number).find((c) => c.body.startsWith("❌ **jit-access**: nothing was granted"));
    expect(refusal?.body).toContain("(**JIT_PR_TOUCHES_OTHER_FILES**)");
    expect(w.comments(number).some((c) => c.body.includes("granted `"))).toBe(false);
    expect(w.alerts().map((a) => a.title)).toContain(`[JIT_MERGE_REFUSED] Merged request PR #${number} was refused (JIT_PR_TOUCHES_OTHER_FILES)`);
  });

  it("case 31: a rebase merge of a request PR with several commits that touch only the request file still grants", async () => {
    const id = "bob-rebase-ok";
    const { number } = await w.request("bob", id, requestYaml({ duration: "1h" }));
    await w.repo.pushCommits("bob", number, { [requestPath(id)]: requestYaml({ duration: "2h" }) });
    await w.idle();
    await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    await w.repo.merge(number, { method: "rebase" });
    await w.idle();
    expect((await w.appGranted()).filter((m) => m.member === "bob").map((m) => m.role)).toEqual(["orders_readonly"]);
    expect((await w.ledger(id)).map((r) => r.status)).toEqual(["active"]);
  });
});

/** Calls the simulator's REST API as a person (what anyone with a token can do). */
async function asUser(login: string, method: string, path: string, body?: object): Promise<Record<string, unknown>> {
  const res = await fetch(`${w.e2e.sim.baseUrl}${path}`, {
    method, headers: { authorization: `token ${w.e2e.sim.userToken(login)}`, accept: "application/vnd.github+json", "content-type": "application/json" },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  expect(res.status).toBeLessThan(300);
  return (await res.json()) as Record<string, unknown>;
}

describe("the sticky comment is the app's own", () => {
  it("a comment by another bot carrying the sticky marker is never edited or deleted; the app posts its own", async () => {
    // The app does not see the PR open (dropped delivery), so the planted comment is the oldest.
    w.e2e.sim.dropNextDelivery({ event: "pull_request", action: "opened" });
    const id = "alice-sticky-plant";
    const { number } = await w.request("alice", id);
    const planted = `${STICKY}\n✅ **jit-access**: Ready: approved, merge away`;
    const plantedId = w.repo.comment("renovate[bot]", number, planted);
    await w.repo.pushCommits("alice", number, { [requestPath(id)]: requestYaml({ duration: "3h" }) });
    await w.idle();

    const comments = w.comments(number);
    expect(comments.find((c) => c.id === plantedId)).toMatchObject({ user: "renovate[bot]", body: planted });
    const ours = comments.filter((c) => c.body.startsWith(STICKY) && c.user === w.e2e.sim.app.botLogin);
    expect(ours).toHaveLength(1);
    expect(ours[0]!.body).toContain("Waiting for 1 approval(s)");
    expect(w.e2e.sim.requests("issues/update-comment").filter((r) => r.path.endsWith(`/${plantedId}`))).toEqual([]);
    expect(w.e2e.sim.requests("issues/delete-comment")).toEqual([]);
  });

  it("the app's own sticky comment is still found and edited in place (GitHub reports performed_via_github_app)", async () => {
    const id = "carol-sticky-own"; // bob holds orders_readonly from above: his request would be JIT_ALREADY_GRANTED
    const { number } = await w.request("carol", id);
    const before = w.comments(number).filter((c) => c.body.startsWith(STICKY));
    expect(before).toHaveLength(1);
    await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    const after = w.comments(number).filter((c) => c.body.startsWith(STICKY));
    expect(after.map((c) => c.id)).toEqual([before[0]!.id]);
    expect(after[0]!.body).toContain("✅ **jit-access**: Ready");
  });
});

describe("alerts cannot be silenced by a planted issue", () => {
  it("case 17: an issue pre-created by a person with the alert's hidden key (labelled, closed) does not suppress the JIT_MERGE_REFUSED alert", async () => {
    // The next pull request number is predictable: plant the key of its merge alert first.
    const planted = await asUser("mallory", "POST", `/repos/${w.repo.repo.owner}/${w.repo.repo.name}/issues`, {
      title: "nothing to see", labels: ["jit-alert"], body: "",
    });
    const next = (planted.number as number) + 1;
    await asUser("mallory", "PATCH", `/repos/${w.repo.repo.owner}/${w.repo.repo.name}/issues/${planted.number as number}`, {
      state: "closed", body: `<!-- jit-alert:JIT_MERGE_REFUSED:merge:${next} -->\nplanted`,
    });

    const id = "carol-alert-plant";
    const { number } = await w.request("carol", id);
    expect(number).toBe(next);
    await w.repo.merge(number, { asAdminBypass: true, method: "squash" });
    await w.idle();

    await w.nothingGranted(id, "carol");
    const alerts = w.alerts().filter((a) => a.body.includes(`<!-- jit-alert:JIT_MERGE_REFUSED:merge:${number} -->`));
    expect(alerts.map((a) => [a.title, a.state])).toEqual([
      ["nothing to see", "closed"],
      [`[JIT_MERGE_REFUSED] Merged request PR #${number} was refused (JIT_APPROVALS_MISSING)`, "open"],
    ]);
  });
});

describe("extensions extend only the grant that was approved", () => {
  it("case 15: an extension whose request names another role than the active grant (via a rebased intermediate commit) is refused; the ledger keeps its expiry", async () => {
    // alice holds orders_admin (max 1h, two approvals).
    const id = "alice-ext-role";
    const path = requestPath(id);
    const { number: first } = await w.request("alice", id, requestYaml({ role: "orders_admin", duration: "30m" }));
    await w.repo.review("dora", first, "APPROVE");
    await w.repo.review("dan", first, "APPROVE");
    await w.idle();
    await w.repo.merge(first, { method: "squash" });
    await w.idle();
    const [granted] = await w.ledger(id);
    expect(granted).toMatchObject({ status: "active", role: "orders_admin" });

    // The extension PR's first commit renames the role, the second asks for 8h: after a rebase
    // merge the first parent (the "base" version of the file) already says orders_readonly, whose
    // policy allows 8h with one approval.
    const { number } = await w.repo.openPullRequest("alice", `ext/${id}`, { [path]: requestYaml({ role: "orders_readonly", duration: "30m" }) });
    await w.repo.pushCommits("alice", number, { [path]: requestYaml({ role: "orders_readonly", duration: "8h" }) });
    await w.idle();
    await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    await w.repo.merge(number, { method: "rebase" });
    await w.idle();

    const [after] = await w.ledger(id);
    expect(after).toMatchObject({ status: "active", role: "orders_admin", duration_ms: String(30 * 60_000) });
    expect(after!.expires_at).toEqual(granted!.expires_at);
    const refusal = w.comments(number).find((c) => c.body.startsWith("❌ **jit-access**: nothing was granted"));
    expect(refusal?.body).toContain("(**JIT_EXTENSION_NOT_ALLOWED**)");
    expect(w.comments(number).some((c) => c.body.includes("extended `"))).toBe(false);
  });
});
