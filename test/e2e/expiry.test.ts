// The expiry lifecycle end to end: the real app (Probot over HTTP) against the GitHub simulator and
// a real PostgreSQL. A request PR is approved and merged (grant), the grant expires (by the
// database clock), the scheduler revokes it and ends the session, the outbox opens and merges the
// revert PR, and the ledger is closed. docs/security.md case 46: GitHub answering 5xx on the revert PR
// delays only the PR; the revoke is done, the PR is retried, and the request file still on the
// default branch never grants again.
import { describe, expect, it } from "vitest";
import { probotGitHub } from "../../src/github/installations.ts";
import { GitHubPolicySource } from "../../src/scheduler/policy-source.ts";
import { REPO, PATH_1, request, e2e, probot, deps, state, scheduler, logs, ledger, appGranted, useExpiryE2E } from "./expiry-fixture.ts";

useExpiryE2E();

async function grantViaPullRequest(requestId: string, ticket: string): Promise<number> {
  const repo = e2e.sim.repo(REPO);
  const { number } = await repo.openPullRequest("alice", `req-${requestId}`, { [`access-requests/orders-prod/${requestId}.yaml`]: request(ticket) });
  await e2e.sim.waitForIdle();
  await repo.review("dora", number, "APPROVE");
  await e2e.sim.waitForIdle();
  await repo.merge(number, { method: "squash" });
  await e2e.sim.waitForIdle();
  return number;
}

describe("expiry lifecycle", () => {
  let pr: number;

  it("a merged, approved request is granted (the starting point)", async () => {
    pr = await grantViaPullRequest("alice-inc-1", "INC-1");
    expect(await ledger("alice-inc-1"), JSON.stringify(logs.slice(-5))).toEqual([expect.objectContaining({ status: "active" })]);
    expect(await appGranted()).toEqual(["alice"]);
  });

  it("a reminder is posted on the request PR shortly before expiry, once", async () => {
    await state.query("UPDATE ledger SET expires_at = now() + interval '10 minutes' WHERE request_id = 'alice-inc-1'");
    await scheduler.runOnce();
    await scheduler.drainNow();
    await scheduler.runOnce();
    await scheduler.drainNow();
    const reminders = e2e.sim.repo(REPO).comments(pr).filter((c) => String(c.body).includes("expires at"));
    expect(reminders).toHaveLength(1);
    expect(String(reminders[0]!.body)).toContain("`orders_readonly` for `alice` on `orders-prod`");
  });

  it("case 46: GitHub answers 5xx when opening the revert PR: the revoke is already done, the PR is retried later, the file on the default branch never re-grants", async () => {
    const repo = e2e.sim.repo(REPO);
    const session = await e2e.pg!.connect("alice", "orders");
    await session.query("SELECT 1");
    const fault = e2e.sim.injectFault({ route: "pulls/create", status: 502, count: Infinity });
    await state.query("UPDATE ledger SET expires_at = now() - interval '1 second' WHERE request_id = 'alice-inc-1'");

    const tick = await scheduler.runOnce();
    expect(tick.sweep!.revoked).toEqual([expect.objectContaining({ requestId: "alice-inc-1", sessionsEnded: 1 })]);
    expect(tick.sweep!.revertsQueued).toBe(1);
    await scheduler.drainNow();

    // The revoke happened regardless of GitHub: membership gone, session ended, ledger closed.
    expect(await appGranted()).toEqual([]);
    await expect(session.query("SELECT 1")).rejects.toThrow();
    expect(await ledger("alice-inc-1")).toEqual([{ status: "revoked", revoke_reason: "expired", sessions_ended: 1 }]);
    // The revert PR failed and waits in the outbox; the branch from that attempt exists.
    expect(fault.hits).toBeGreaterThanOrEqual(1);
    const { rows: [item] } = await state.query("SELECT done, attempts, last_error FROM outbox WHERE kind = 'revert_pr'");
    expect(item).toMatchObject({ done: false });
    expect(item.attempts).toBeGreaterThanOrEqual(1);
    expect(item.last_error).toMatch(/^HTTP 502: /);
    expect(repo.pulls().filter((p) => p.headRef.startsWith("jit/expire/"))).toEqual([]);
    expect(await repo.fileAt(repo.defaultBranch, PATH_1)).not.toBeNull();

    // The request file is still on the default branch: nothing may grant it again.
    const closed = e2e.sim.findDeliveries({ event: "pull_request", action: "closed" }).find((d) => (d.payload as { number?: number }).number === pr)!;
    const again = await e2e.sim.sendSignedDelivery("pull_request", closed.payload as Record<string, unknown>, "valid");
    expect(again.status).toBe(200);
    await e2e.sim.waitForIdle();
    const sweepAgain = await scheduler.runOnce();
    expect(sweepAgain.sweep!.revoked).toEqual([]);
    const stillFailing = await scheduler.drainNow(); // GitHub still answers 502: retried, still not done
    expect(stillFailing!.done).toEqual([]);
    expect(await appGranted()).toEqual([]);
    expect(await ledger("alice-inc-1")).toEqual([expect.objectContaining({ status: "revoked" })]);
    const direct = await deps!.engines.engine((await new GitHubPolicySource({ github: probotGitHub(probot), state }).atDefaultBranch(REPO))!).grant({
      repository: REPO, database: "orders-prod", requestId: "alice-inc-1", path: PATH_1, role: "orders_readonly", dbUser: "alice", durationMs: 7_200_000, actor: "test",
    });
    expect(direct.ok).toBe(false);
    expect(direct.code).toBe("JIT_REQUEST_ID_USED");
    expect(await appGranted()).toEqual([]);

    // GitHub recovers: the retry drops the branch of the failed attempt (I11: a fresh, unguessable one), opens and merges the PR.
    fault.clear();
    e2e.sim.clearRequestLog();
    const drained = await scheduler.drainNow();
    expect(drained!.done).toEqual([expect.objectContaining({ kind: "revert_pr", result: expect.stringMatching(/^merged #\d+$/) })]);
    await e2e.sim.waitForIdle();
    expect(e2e.sim.requests("git/create-ref").map((r) => r.status)).toEqual([201]);
    expect(e2e.sim.requests("git/update-ref")).toEqual([]);
    expect(e2e.sim.requests("git/delete-ref").map((r) => r.status)).toEqual([204, 204]); // the failed attempt's branch, then the merged one

    const reverts = repo.pulls().filter((p) => p.headRef.startsWith("jit/expire/orders-prod/alice-inc-1-"));
    expect(reverts).toEqual([expect.objectContaining({ state: "closed", merged: true, user: e2e.sim.app.botLogin, baseRef: repo.defaultBranch })]);
    const body = String((await repo.pull(reverts[0]!.number)).body);
    for (const s of ["@alice", "`orders_readonly`", "`orders-prod`", "@dora", "Granted at", "Expired at", "Revoked at", "| Sessions ended | 1 |", "membership gone, 0 session(s) left (revoked)", `(#${pr})`]) {
      expect(body).toContain(s);
    }
    expect(repo.issues().find((i) => i.number === reverts[0]!.number)!.labels).toEqual(["jit-expired"]);
    expect(await repo.fileAt(repo.defaultBranch, PATH_1)).toBeNull();
    const { rows: events } = await state.query("SELECT kind FROM events WHERE request_id = 'alice-inc-1' AND kind LIKE 'revert_pr%' AND kind <> 'revert_pr_attempt'");
    expect(events).toEqual([{ kind: "revert_pr_merged" }]);

    // Merging the revert PR (its webhooks reach the app) grants nothing and opens nothing else.
    expect(await appGranted()).toEqual([]);
    const more = await scheduler.drainNow();
    expect(more!.done).toEqual([]);
    expect(repo.pulls().filter((p) => p.headRef.startsWith("jit/expire/"))).toHaveLength(1);
    await session.end().catch(() => {});
  });

  it("GitHub down during a sweep (policy unreadable) does not block the revoke: the last policy read is used", async () => {
    await grantViaPullRequest("alice-inc-2", "INC-2");
    expect(await appGranted()).toEqual(["alice"]);
    const policies = new GitHubPolicySource({ github: probotGitHub(probot), state, ttlMs: 0 });
    expect(await policies.atDefaultBranch(REPO)).not.toBeNull(); // read once while GitHub is up
    const down = e2e.sim.injectFault({ route: "repos/get", status: 503, count: Infinity });
    const downToo = e2e.sim.injectFault({ route: "git/get-tree", status: 503, count: Infinity });
    try {
      await state.query("UPDATE ledger SET expires_at = now() - interval '1 second' WHERE request_id = 'alice-inc-2'");
      const { sweep } = await import("../../src/scheduler/sweep.ts");
      const { NO_LEADER } = await import("../../src/scheduler/leader.ts");
      const r = await sweep({ state, engines: deps!.engines, policies, actor: "test:github-down", leadership: NO_LEADER });
      expect(r.failed).toEqual([]);
      expect(r.revoked.map((g) => g.requestId)).toEqual(["alice-inc-2"]);
      expect(down.hits + downToo.hits).toBeGreaterThanOrEqual(1);
      expect(await appGranted()).toEqual([]);
      // Without any policy ever read, there is nothing to connect with: it fails loudly, it does not guess.
      const blind = new GitHubPolicySource({ github: probotGitHub(probot), state, ttlMs: 0 });
      const d = await blind.policyFor({ repository: REPO, database: "orders-prod", mergeSha: null });
      expect(d.ok).toBe(false);
      expect(d.code).toBe("JIT_POLICY_UNAVAILABLE");
    } finally {
      down.clear();
      downToo.clear();
    }
    await scheduler.drainNow();
    expect(e2e.sim.repo(REPO).pulls().filter((p) => p.headRef.startsWith("jit/expire/orders-prod/alice-inc-2-"))).toEqual([expect.objectContaining({ merged: true })]);
    await e2e.sim.waitForIdle();
  });

  it("I15: a server with no checkout that never read a policy (fresh process, GitHub down) revokes an expired grant from the ledger alone", async () => {
    await grantViaPullRequest("alice-inc-3", "INC-3");
    expect(await appGranted()).toEqual(["alice"]);
    const { rows: recorded } = await state.query("SELECT connection_env FROM ledger WHERE request_id = 'alice-inc-3'");
    expect(recorded).toEqual([{ connection_env: "ORDERS_PROD_DATABASE_URL" }]);
    // What the app builds without a local policies/: no fallback, nothing cached yet.
    const blind = new GitHubPolicySource({ github: probotGitHub(probot), state, ttlMs: 0 });
    const faults = ["repos/get", "git/get-ref", "git/get-tree", "git/get-blob"].map((route) => e2e.sim.injectFault({ route, status: 503, count: Infinity }));
    try {
      expect((await blind.policyFor({ repository: REPO, database: "orders-prod", mergeSha: null })).code).toBe("JIT_POLICY_UNAVAILABLE");
      await state.query("UPDATE ledger SET expires_at = now() - interval '1 second' WHERE request_id = 'alice-inc-3'");
      const { sweep } = await import("../../src/scheduler/sweep.ts");
      const { NO_LEADER } = await import("../../src/scheduler/leader.ts");
      const r = await sweep({ state, engines: deps!.engines, policies: blind, actor: "test:no-checkout", leadership: NO_LEADER });
      expect(r.failed).toEqual([]);
      expect(r.revoked.map((g) => g.requestId)).toEqual(["alice-inc-3"]);
      expect(faults.reduce((n, f) => n + f.hits, 0)).toBeGreaterThanOrEqual(1); // the policy really was unreadable
      expect(await appGranted()).toEqual([]);
      expect(await ledger("alice-inc-3")).toEqual([expect.objectContaining({ status: "revoked", revoke_reason: "expired" })]);
    } finally {
      for (const f of faults) f.clear();
    }
    await scheduler.drainNow();
    expect(e2e.sim.repo(REPO).pulls().filter((p) => p.headRef.startsWith("jit/expire/orders-prod/alice-inc-3-"))).toEqual([expect.objectContaining({ merged: true })]);
    await e2e.sim.waitForIdle();
  });

  it("the health endpoint reflects the sweeps", async () => {
    const h = await scheduler.health();
    expect(h.lastSweep.sweeper).toBe("app");
    expect(h.overdue.count).toBe(0);
    expect(h.leader).toBe(true);
    expect(h.outbox.pending).toBe(0);
  });
});
