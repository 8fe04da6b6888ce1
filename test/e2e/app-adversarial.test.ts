// Adversarial variants on the merged app, end to end on the simulator and a real PostgreSQL: a
// foreign repository of the installation pressing "Re-run", reviewing or replaying a signed
// delivery (I10); a writer editing the app's own alert issue to silence the next alert (I11/I19);
// the push delivery of a merge commit arriving before (or instead of) the closed one (I17).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RepoScenario } from "../sim/index.ts";
import { codesIn, requestYaml, startJitE2E, type JitE2E } from "./app-fixture.ts";

let w: JitE2E;
let shadow: RepoScenario;

// The foreign repository's own policy would let anyone approve anything on the same database key.
const SHADOW_POLICY = `databases:
  orders-prod:
    connection_env: ORDERS_PROD_DATABASE_URL
    roles:
      orders_readonly:
        max_duration: 8h
        approvals: 1
        approvers: ["mallory", "dora"]
identities:
  alice: alice
  bob: bob
  carol: carol
  dora: dora
`;

beforeAll(async () => {
  w = await startJitE2E({ repositories: " acme/ACCESS , " }); // odd spacing and case: still exactly acme/access
  shadow = await w.newRepo("shadow", { files: { "policies/orders.yaml": SHADOW_POLICY, ".github/CODEOWNERS": "* @mallory @dora\n" } });
});
afterAll(async () => { await w?.stop(); });

/** Calls the simulator's REST API as a person with a token. */
async function asUser(login: string, method: string, path: string, body?: object): Promise<Record<string, unknown>> {
  const res = await fetch(`${w.e2e.sim.baseUrl}${path}`, {
    method, headers: { authorization: `token ${w.e2e.sim.userToken(login)}`, accept: "application/vnd.github+json", "content-type": "application/json" },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  expect(res.status).toBeLessThan(300);
  return (await res.json()) as Record<string, unknown>;
}

const bot = () => w.e2e.sim.app.botLogin;

describe("I10: a foreign repository never reaches a decision", () => {
  it("I10: Re-run of the check run and of the check suite, and reviews, in a foreign repository keep it neutral; its merge grants nothing", async () => {
    const id = "shadow-rerun";
    const { number, headSha } = await w.request("alice", id, requestYaml(), { repo: shadow });
    const first = await w.check(headSha, shadow);
    expect(first.conclusion).toBe("neutral");
    await shadow.rerequestCheckRun(first.id, "mallory");
    await w.idle();
    await shadow.rerequestCheckSuite(headSha, "mallory");
    await w.idle();
    await shadow.review("dora", number, "APPROVE");
    await shadow.review("mallory", number, "APPROVE");
    await w.idle();
    for (const run of await w.checks(headSha, shadow)) {
      expect(run.conclusion).toBe("neutral");
      expect(codesIn(run.output.title)).toEqual(["JIT_REPO_NOT_ACCESS"]);
    }
    expect(w.comments(number, shadow).filter((c) => c.user === bot())).toEqual([]); // no sticky: nothing evaluated
    await shadow.merge(number, { method: "merge" });
    await w.idle();
    await w.nothingGranted(id);
    expect(await w.ledger(id)).toEqual([]);
    expect(w.alerts(shadow)).toEqual([]);
  });

  it("I10: a validly signed closed delivery that names the access repository with the foreign repository's id grants nothing (JIT_REPO_ID_CHANGED)", async () => {
    const id = "shadow-lying-payload";
    // A real, approved, merged request in the foreign repository; its delivery is replayed with the access repository's name.
    const { number } = await w.request("alice", id, requestYaml(), { repo: shadow });
    await shadow.review("dora", number, "APPROVE");
    await w.idle();
    await shadow.merge(number, { method: "squash" });
    await w.idle();
    const closed = w.e2e.sim.findDeliveries({ event: "pull_request", action: "closed" }).filter((d) => (d.payload.repository as { id: number }).id === shadow.repo.id).at(-1)!;
    const payload = structuredClone(closed.payload) as { repository: { name: string; full_name: string; id: number } };
    payload.repository.name = "access";
    payload.repository.full_name = "acme/access";
    const d = await w.e2e.sim.sendSignedDelivery("pull_request", payload as unknown as Record<string, unknown>, "valid");
    await w.idle();
    expect(d.status).toBeLessThan(300);
    await w.nothingGranted(id);
    expect(await w.ledger(id)).toEqual([]);
    // and the lie pinned nothing (a first sight would otherwise pin the foreign id and lock the real repository out)
    const { rows } = await w.stateSu.query<{ repo_id: string }>("SELECT repo_id::text FROM repository_pins WHERE name = 'acme/access'");
    expect(rows.map((r) => Number(r.repo_id))).not.toContain(shadow.repo.id);
    await w.request("bob", "bob-after-lie");
    const pinned = await w.stateSu.query<{ repo_id: string }>("SELECT repo_id::text FROM repository_pins WHERE name = 'acme/access'");
    expect(pinned.rows.map((r) => Number(r.repo_id))).toEqual([w.repo.repo.id]);
  });
});

describe("I11: the app's alert issues cannot be turned against it", () => {
  it("I11: a writer who edits one of the app's own alert issues to carry the next alert's hidden key does not silence that alert", async () => {
    // An app-made alert first: a request merged past protection without approval.
    const first = await w.request("carol", "carol-alert-a");
    await w.repo.merge(first.number, { asAdminBypass: true, method: "squash" });
    await w.idle();
    const own = w.alerts().find((a) => a.body.includes(`JIT_MERGE_REFUSED:merge:${first.number} -->`))!;
    expect(own).toBeDefined();
    // mallory (write access) rewrites the app's issue to hold the key of the next PR's merge alert, and closes it.
    const next = Math.max(...w.repo.issues().map((i) => i.number)) + 1;
    await asUser("mallory", "PATCH", `/repos/acme/access/issues/${own.number}`, {
      state: "closed", body: `<!-- jit-alert:JIT_MERGE_REFUSED:merge:${next} -->\nnothing to see`,
    });
    const second = await w.request("carol", "carol-alert-b");
    expect(second.number).toBe(next);
    await w.repo.merge(second.number, { asAdminBypass: true, method: "squash" });
    await w.idle();
    await w.nothingGranted("carol-alert-b", "carol");
    const raised = w.alerts().filter((a) => a.number !== own.number && a.body.includes(`JIT_MERGE_REFUSED:merge:${next} -->`));
    expect(raised.map((a) => [a.title, a.state])).toEqual([[`[JIT_MERGE_REFUSED] Merged request PR #${next} was refused (JIT_APPROVALS_MISSING)`, "open"]]);
  });
});

describe("I17: the push of a merge commit and the closed delivery are one merge", () => {
  it("I17: the push delivery arriving without the closed one grants once; the closed one replayed later adds nothing", async () => {
    const id = "bob-push-first";
    w.e2e.sim.dropNextDelivery({ event: "pull_request", action: "closed" });
    const { number } = await w.request("bob", id);
    await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    await w.repo.merge(number, { method: "merge" });
    await w.idle();
    const rows = await w.ledger(id);
    expect(rows.map((r) => r.status)).toEqual(["active"]);
    expect((await w.appGranted()).filter((m) => m.member === "bob" && m.role === "orders_readonly")).toHaveLength(1);
    // the dropped closed delivery is redelivered by GitHub later (same GUID), and once more as a new delivery
    const closed = w.e2e.sim.findDeliveries({ event: "pull_request", action: "closed" }).filter((d) => (d.payload.pull_request as { number: number }).number === number && (d.payload.repository as { id: number }).id === w.repo.repo.id).at(-1)!;
    w.e2e.sim.redeliver(closed.guid);
    await w.idle();
    await w.e2e.sim.sendSignedDelivery("pull_request", closed.payload, "valid");
    await w.idle();
    expect((await w.ledger(id)).map((r) => r.status)).toEqual(["active"]);
    expect((await w.appGranted()).filter((m) => m.member === "bob" && m.role === "orders_readonly")).toHaveLength(1);
    expect(w.comments(number).filter((c) => c.user === bot() && c.body.includes("**jit-access**: granted"))).toHaveLength(1);
  });
});

describe("I13: a push while the pull request is closed", () => {
  it("I13: a DBA who pushes alice's commit to her closed PR's branch, which alice then reopens, cannot approve it; nothing granted", async () => {
    const id = "alice-closed-push";
    const { number, headSha } = await w.request("alice", id);
    await w.repo.close(number, { asUser: "alice" });
    await w.idle();
    // alice's own commit (author and committer alice), pushed by dora while the PR is closed: GitHub sends no synchronize
    const side = await w.repo.commitToBranch("alice", `side/${id}`, { files: { [`access-requests/orders-prod/${id}.yaml`]: requestYaml({ reason: "Investigate INC-1234 again" }) } }, { from: headSha });
    const syncsBefore = w.e2e.sim.findDeliveries({ event: "pull_request", action: "synchronize" }).length;
    await asUser("dora", "PATCH", `/repos/acme/access/git/refs/heads/req/${id}`, { sha: side });
    await w.idle();
    expect(w.e2e.sim.findDeliveries({ event: "pull_request", action: "synchronize" }).length).toBe(syncsBefore);
    await w.repo.reopen(number, { asUser: "alice" });
    await w.idle();
    expect(w.repo.headSha(number)).toBe(side);
    await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    const check = await w.check(side);
    expect(check.conclusion).toBe("failure");
    expect(codesIn(check.output.summary)).toEqual(expect.arrayContaining(["JIT_APPROVALS_MISSING", "JIT_APPROVER_IS_PUSHER"]));
    await w.repo.merge(number);
    await w.idle();
    await w.nothingGranted(id);
    expect(await w.ledger(id)).toEqual([]);
  });
});
