// I10 (one repository, one authority) and early revoke authority (revoke_by), end to end on the
// simulator and a real PostgreSQL. The app is configured with JIT_REPOSITORIES=acme/access; a second
// repository of the same installation, acme/shadow, carries policies of its own that would approve
// anything: its request PRs get a neutral check, and its merges, deletions and pushes never grant or
// revoke. Deleting someone else's active request revokes it only as revoke_by allows.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePolicies } from "../../src/core/policy.ts";
import { parseRepositories } from "../../src/core/repositories.ts";
import { listEvents } from "../../src/db/events.ts";
import { createPool } from "../../src/db/state.ts";
import { installedRepositories, probotGitHub } from "../../src/github/installations.ts";
import { reconcileMerges } from "../../src/jobs/lost-merges.ts";
import { GitHubPolicySource } from "../../src/scheduler/policy-source.ts";
import { revertPrHandler } from "../../src/scheduler/revert-job.ts";
import { sendReminders } from "../../src/scheduler/reminders.ts";
import { APP_ROLE, codesIn, requestPath, requestYaml, startJitE2E, type JitE2E } from "./app-fixture.ts";
import type { RepoScenario } from "../sim/index.ts";

let w: JitE2E;
let shadow: RepoScenario;

// The shadow repository's own policy: same database key and connection, anyone approves anything.
const SHADOW_POLICY = `databases:
  orders-prod:
    connection_env: ORDERS_PROD_DATABASE_URL
    roles:
      orders_readonly:
        max_duration: 8h
        approvals: 1
        approvers: ["mallory", "dora"]
      orders_admin:
        max_duration: 8h
        approvals: 1
        approvers: ["mallory", "dora"]
        revoke_by: [anyone]
identities:
  alice: alice
  bob: bob
  carol: carol
  dora: dora
`;

beforeAll(async () => {
  w = await startJitE2E({ repositories: "ACME/Access" }); // owner/name compare case-insensitively
  shadow = await w.newRepo("shadow", { files: { "policies/orders.yaml": SHADOW_POLICY, ".github/CODEOWNERS": "* @mallory @dora\n" } });
  // control: the shadow repository's policies are valid; only the operator's list makes them powerless
  expect(parsePolicies([{ path: "policies/orders.yaml", bytes: new TextEncoder().encode(SHADOW_POLICY) }]).problems).toEqual([]);
});
afterAll(async () => { await w?.stop(); });

/** Opens, approves (dora and dan: orders_admin needs two) and merges a request in acme/access; returns the PR number. */
async function grant(user: string, id: string, yaml = requestYaml()): Promise<number> {
  const { number } = await w.request(user, id, yaml);
  await w.repo.review("dora", number, "APPROVE");
  await w.repo.review("dan", number, "APPROVE");
  await w.idle();
  await w.repo.merge(number, { method: "squash" });
  await w.idle();
  expect((await w.ledger(id)).map((r) => r.status)).toEqual(["active"]);
  return number;
}

const active = async (id: string) => (await w.ledger(id)).filter((r) => r.status === "active").length;
const member = async (user: string) => (await w.appGranted()).filter((m) => m.member === user);

describe("I10: one repository, one authority", () => {
  it("I10: a request PR in another repository of the installation gets a neutral JIT_REPO_NOT_ACCESS check; its approved merge grants nothing", async () => {
    const { number, headSha } = await w.request("alice", "shadow-1", requestYaml(), { repo: shadow });
    const check = await w.check(headSha, shadow);
    expect(check.conclusion).toBe("neutral");
    expect(codesIn(check.output.title)).toEqual(["JIT_REPO_NOT_ACCESS"]);
    await shadow.review("dora", number, "APPROVE");
    await w.idle();
    expect((await w.check(headSha, shadow)).conclusion).toBe("neutral");
    await shadow.merge(number, { method: "squash" });
    await w.idle();
    await w.nothingGranted("shadow-1");
    expect(await w.ledger("shadow-1")).toEqual([]);
    expect(w.comments(number, shadow).filter((c) => c.user === w.e2e.sim.app.botLogin)).toEqual([]);
    // a PR touching nothing of ours there gets no check at all
    const other = await shadow.openPullRequest("alice", "docs", { "README.md": "# shadow\n" });
    await w.idle();
    expect(await w.checks(other.headSha, shadow)).toEqual([]);
  });

  it("I10: a request file pushed straight to another repository's default branch grants nothing and raises nothing there", async () => {
    await shadow.pushToDefaultBranch({ [requestPath("shadow-push")]: requestYaml() }, { asUser: "mallory" });
    await w.idle();
    await w.nothingGranted("shadow-push");
    expect(await w.ledger("shadow-push")).toEqual([]);
    expect(w.alerts(shadow)).toEqual([]);
  });

  it("I10: deleting an active grant's file in another repository (PR or push, whatever its revoke_by) revokes nothing", async () => {
    await grant("carol", "carol-i10");
    await grant("bob", "bob-i10", requestYaml({ role: "orders_admin", duration: "1h" }));
    // the shadow repository holds files of the same ids and deletes them
    await shadow.pushToDefaultBranch({ [requestPath("carol-i10")]: requestYaml(), [requestPath("bob-i10")]: requestYaml({ role: "orders_admin" }) });
    const { number } = await shadow.openPullRequest("carol", "drop", { [requestPath("carol-i10")]: null });
    await w.idle();
    await shadow.merge(number, { method: "squash" });
    await shadow.pushToDefaultBranch({ [requestPath("bob-i10")]: null }, { asUser: "mallory" });
    await w.idle();
    expect(await active("carol-i10")).toBe(1);
    expect(await active("bob-i10")).toBe(1);
    expect(await member("carol")).toEqual([{ role: "orders_readonly", member: "carol", grantor: APP_ROLE }]);
    expect(await member("bob")).toEqual([{ role: "orders_admin", member: "bob", grantor: APP_ROLE }]);
  });

  it("I10: the lost-merge reconciler never takes another repository's merge through the merge path", async () => {
    const before = await w.appGranted();
    const { number } = await shadow.openPullRequest("carol", "req/carol-lost", { [requestPath("carol-lost")]: requestYaml({ user: "carol" }) });
    await shadow.review("mallory", number, "APPROVE");
    await w.idle();
    w.e2e.sim.dropNextDelivery({ event: "pull_request", action: "closed" });
    w.e2e.sim.dropNextDelivery({ event: "push" });
    await shadow.merge(number, { method: "squash" });
    await w.idle();
    const report = await reconcileMerges({ deps: w.deps[0]!, repositories: installedRepositories(w.e2e.apps[0]!.probot), lookbackMs: 3_600_000 });
    // Skipped at the gate: not even examined (a refusal would show up here as recovered/refused).
    expect([...report.recovered, ...report.failed].filter((r) => r.repository.toLowerCase() === "acme/shadow")).toEqual([]);
    expect(await w.ledger("carol-lost")).toEqual([]);
    expect(await w.appGranted()).toEqual(before); // carol's grant from acme/access is all she holds
  });

  it("I10: no revert PR and no reminder is ever written to a repository that is not an access repository", async () => {
    // a ledger row recorded for acme/shadow (before the operator listed the repositories)
    const { rows } = await w.stateSu.query<{ id: string }>(
      `INSERT INTO ledger (repository, path, request_id, pr_number, approvers, database, cluster_id, role, db_user, duration_ms, status, actor,
                           granted_at, expires_at, revoked_at, revoke_reason)
       VALUES ('acme/shadow', $1, 'legacy-1', 1, '{}', 'orders-prod', 'x', 'orders_readonly', 'dora', 60000, 'revoked', 'test',
               now() - interval '2 minutes', now() - interval '1 minute', now(), 'expired') RETURNING id`, [requestPath("legacy-1")]);
    await w.stateSu.query(
      `INSERT INTO ledger (repository, path, request_id, pr_number, approvers, database, cluster_id, role, db_user, duration_ms, status, actor, granted_at, expires_at)
       VALUES ('acme/shadow', $1, 'legacy-2', 1, '{}', 'orders-prod', 'x', 'orders_readonly', 'dora', 60000, 'active', 'test', now(), now() + interval '1 minute')`,
      [requestPath("legacy-2")]);
    await shadow.pushToDefaultBranch({ [requestPath("legacy-1")]: requestYaml() });
    const state = createPool({ connectionString: w.e2e.databaseUrl! });
    try {
      const github = probotGitHub(w.e2e.app.probot, w.e2e.sim.app.id, w.deps[0]!.repositories);
      const handler = revertPrHandler({ state, github, options: { merge: true, mergeMethod: "squash", label: "jit-expired" } });
      const payload = { ledgerId: Number(rows[0]!.id), repository: "acme/shadow", database: "orders-prod", requestId: "legacy-1", path: requestPath("legacy-1") };
      const pullsBefore = shadow.pulls().length;
      expect(await handler({ id: 1, kind: "revert_pr", payload, attempts: 0 } as never)).toBe("skipped: JIT_REPO_NOT_ACCESS");
      expect(shadow.pulls()).toHaveLength(pullsBefore);
      expect(await shadow.fileAt(shadow.defaultBranch, requestPath("legacy-1"))).not.toBeNull();
      const log = { info: () => {}, warn: () => {}, error: () => {} };
      expect(await sendReminders({ state, github, log }, 90_000)).toBe(0);
      expect(w.comments(1, shadow).filter((c) => c.user === w.e2e.sim.app.botLogin)).toEqual([]);
    } finally {
      await w.stateSu.query("DELETE FROM ledger WHERE repository = 'acme/shadow'");
      await state.end();
    }
  });

  it("I10: the sweep never takes a connection from another repository's policies: a grant recorded for it uses the owner's; reconcile reads only access repositories", async () => {
    await shadow.pushToDefaultBranch({ "policies/orders.yaml": SHADOW_POLICY.replace("ORDERS_PROD_DATABASE_URL", "SHADOW_TARGET_URL") }, { asUser: "mallory" });
    await w.stateSu.query(
      `INSERT INTO ledger (repository, path, request_id, pr_number, approvers, database, cluster_id, role, db_user, duration_ms, status, actor, granted_at, expires_at)
       VALUES ('acme/shadow', $1, 'legacy-3', 1, '{}', 'orders-prod', 'x', 'orders_readonly', 'dora', 60000, 'active', 'test', now(), now() + interval '1 hour')`, [requestPath("legacy-3")]);
    try {
      const github = probotGitHub(w.e2e.app.probot, w.e2e.sim.app.id, w.deps[0]!.repositories);
      const policies = new GitHubPolicySource({ github, state: w.deps[0]!.state, ttlMs: 0, repositories: () => ["acme/access", "acme/shadow"] });
      const d = await policies.policyFor({ repository: "acme/shadow", database: "orders-prod", mergeSha: null });
      expect(d.ok).toBe(true);
      expect(d.details!.databases["orders-prod"]!.connectionEnv).toBe("ORDERS_PROD_DATABASE_URL");
      expect((await policies.policiesToReconcile()).map((r) => r.repository)).toEqual(["acme/access"]);
      // control: without the list (development), the shadow repository's own policy would be read
      const open = new GitHubPolicySource({ github: probotGitHub(w.e2e.app.probot, w.e2e.sim.app.id), state: w.deps[0]!.state, ttlMs: 0 });
      expect((await open.policyFor({ repository: "acme/shadow", database: "orders-prod", mergeSha: null })).details!.databases["orders-prod"]!.connectionEnv).toBe("SHADOW_TARGET_URL");
    } finally {
      await w.stateSu.query("DELETE FROM ledger WHERE repository = 'acme/shadow'");
    }
  });

  it("I10: the listed name under another repository id (deleted and re-created, or transferred) is refused: JIT_REPO_ID_CHANGED", async () => {
    const { rows } = await w.stateSu.query<{ repo_id: string }>("SELECT repo_id::text FROM repository_pins WHERE name = 'acme/access'");
    expect(rows.map((r) => Number(r.repo_id))).toEqual([w.repo.repo.id]); // pinned at first sight
    await w.stateSu.query("UPDATE repository_pins SET repo_id = repo_id + 100000 WHERE name = 'acme/access'");
    try {
      const { number, headSha } = await w.request("alice", "alice-pin");
      const check = await w.check(headSha);
      expect(check.conclusion).toBe("neutral");
      expect(codesIn(check.output.title)).toEqual(["JIT_REPO_ID_CHANGED"]);
      await w.repo.review("dora", number, "APPROVE");
      await w.idle();
      await w.repo.merge(number, { method: "squash" });
      await w.idle();
      await w.nothingGranted("alice-pin");
      expect(await w.ledger("alice-pin")).toEqual([]);
    } finally {
      await w.stateSu.query("UPDATE repository_pins SET repo_id = repo_id - 100000 WHERE name = 'acme/access'");
    }
  });

  it("I10: a database key bound to another access repository is refused at the check and at the merge (JIT_REPO_KEY_NOT_BOUND), and not revoked from here", async () => {
    await grant("alice", "alice-bound");
    const deps = w.deps[0]!;
    const before = deps.repositories;
    deps.repositories = parseRepositories("acme/access:billing, acme/orders-access:orders-prod").details;
    try {
      const { number, headSha } = await w.request("bob", "bob-bound");
      const check = await w.check(headSha);
      expect(check.conclusion).toBe("failure");
      expect(codesIn(check.output.title)).toContain("JIT_REPO_KEY_NOT_BOUND");
      await w.repo.review("dora", number, "APPROVE");
      await w.idle();
      expect((await w.check(headSha)).conclusion).toBe("failure");
      const refusal = await w.mergeAndRefusal(number);
      expect(refusal).toContain("JIT_REPO_KEY_NOT_BOUND");
      expect(await w.ledger("bob-bound")).toEqual([]);
      expect((await member("bob")).filter((m) => m.role === "orders_readonly")).toEqual([]);
      // alice herself deletes her request: the key is not this repository's, nothing is revoked
      const del = await w.repo.openPullRequest("alice", "drop/alice-bound", { [requestPath("alice-bound")]: null });
      await w.idle();
      await w.repo.merge(del.number, { method: "squash", asAdminBypass: true });
      await w.idle();
      expect(await active("alice-bound")).toBe(1);
    } finally {
      deps.repositories = before;
    }
  });
});

describe("early revoke authority (revoke_by, default [requester, approvers])", () => {
  it("revoke_by: someone else's deletion merged without an eligible approval revokes nothing; a comment explains and an alert is raised", async () => {
    await grant("carol", "carol-rb1", requestYaml({ role: "orders_admin", duration: "1h" }));
    const { number, headSha } = await w.repo.openPullRequest("mallory", "drop/carol-rb1", { [requestPath("carol-rb1")]: null });
    await w.idle();
    const check = await w.check(headSha);
    expect(codesIn(check.output.summary)).toContain("JIT_REVOKE_NOT_AUTHORIZED");
    // olga is in @acme/dba but has read access only: her approval is not an eligible approver's
    await w.repo.review("olga", number, "APPROVE");
    await w.idle();
    await w.repo.merge(number, { method: "squash", asAdminBypass: true });
    await w.idle();
    expect(await active("carol-rb1")).toBe(1);
    expect(await member("carol")).toContainEqual({ role: "orders_admin", member: "carol", grantor: APP_ROLE });
    const said = w.comments(number).filter((c) => c.body.includes("nothing was revoked early"));
    expect(said).toHaveLength(1);
    expect(said[0]!.body).toContain("JIT_REVOKE_NOT_AUTHORIZED");
    expect(w.alerts().filter((a) => a.title.startsWith("[JIT_REVOKE_NOT_AUTHORIZED]"))).toHaveLength(1);
    const ev = await listEvents(w.deps[0]!.state, { kind: "revoked" });
    expect(ev.filter((e) => e.requestId === "carol-rb1")).toEqual([]);
  });

  it("revoke_by: someone else's deletion approved on its final commit by an eligible approver revokes at once", async () => {
    await grant("bob", "bob-rb2");
    const { number } = await w.repo.openPullRequest("mallory", "drop/bob-rb2", { [requestPath("bob-rb2")]: null });
    await w.repo.review("dan", number, "APPROVE");
    await w.idle();
    await w.repo.merge(number, { method: "squash" });
    await w.idle();
    expect(await active("bob-rb2")).toBe(0);
    expect((await w.ledger("bob-rb2"))[0]).toMatchObject({ status: "revoked" });
    expect((await member("bob")).some((m) => m.role === "orders_readonly")).toBe(false);
  });

  it("revoke_by: an approval on an older commit of the deletion does not count", async () => {
    await grant("alice", "alice-rb3", requestYaml({ role: "orders_admin", duration: "1h" }));
    const { number, headSha } = await w.repo.openPullRequest("mallory", "drop/alice-rb3", { [requestPath("alice-rb3")]: null });
    await w.repo.review("dan", number, "APPROVE", { commitId: headSha });
    await w.repo.pushCommits("mallory", number, { "notes.txt": "x\n" });
    await w.idle();
    await w.repo.merge(number, { method: "squash", asAdminBypass: true });
    await w.idle();
    expect(await active("alice-rb3")).toBe(1);
  });

  it("revoke_by: a direct push deleting an active request revokes nothing early and raises an alert", async () => {
    await grant("bob", "bob-rb4");
    await w.repo.pushToDefaultBranch({ [requestPath("bob-rb4")]: null }, { asUser: "dora" });
    await w.idle();
    expect(await active("bob-rb4")).toBe(1);
    expect(w.alerts().filter((a) => a.title.includes("bob-rb4") && a.title.startsWith("[JIT_REVOKE_NOT_AUTHORIZED]"))).toHaveLength(1);
  });
});
