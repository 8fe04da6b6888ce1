// The e2e harness itself, proven with a tiny inline Probot app: webhooks reach a real Probot
// server over HTTP, the app's API calls reach the simulator, state and the request log show it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApplicationFunction } from "probot";
import pg from "pg";
import { startE2E, type E2E, type E2EAppOptions } from "./harness.ts";

interface Seen { delivery: string; replica: number }

function tinyApp(seen: Seen[]): ApplicationFunction {
  return (app, options) => {
    const { clock, replica } = options as E2EAppOptions;
    app.on("pull_request.opened", async (context) => {
      seen.push({ delivery: context.id, replica });
      await context.octokit.rest.checks.create(context.repo({
        name: "tiny", head_sha: context.payload.pull_request.head.sha, status: "completed" as const, conclusion: "neutral" as const,
        output: { title: "seen", summary: `evaluated at ${clock.now().toISOString()}` },
      }));
      await context.octokit.rest.issues.createComment(context.issue({ body: "hello from tiny" }));
    });
  };
}

describe("startE2E with a real PostgreSQL", () => {
  let e2e: E2E;
  const seen: Seen[] = [];

  beforeAll(async () => {
    e2e = await startE2E({ app: tinyApp(seen), clockStart: new Date("2030-01-02T03:04:05Z") });
    e2e.sim.createOrg("acme", ["alice"]);
    await e2e.sim.createRepo({ owner: "acme", name: "access", collaborators: { alice: "write" } });
  });
  afterAll(async () => { await e2e?.stop(); });

  it("on pull_request.opened the app creates a check run and a comment through the simulator", async () => {
    const repo = e2e.sim.repo("acme/access");
    e2e.sim.clearRequestLog();
    const { number, headSha } = await repo.openPullRequest("alice", "req", { "access-requests/db/a.yaml": "role: r\n" });
    await e2e.sim.waitForIdle();
    expect(seen).toHaveLength(1);
    const bot = e2e.sim.app.botLogin;
    const calls = e2e.sim.requests().filter((r) => r.actor === bot).map((r) => `${r.method} ${r.route} ${r.status}`);
    expect(calls).toEqual(["POST /repos/{owner}/{repo}/check-runs 201", "POST /repos/{owner}/{repo}/issues/{issue_number}/comments 201"]);
    expect(e2e.sim.countRequests("apps/create-installation-access-token")).toBe(1);
    const runs = await repo.checkRuns(headSha);
    expect(runs).toEqual([expect.objectContaining({ name: "tiny", conclusion: "neutral", output: expect.objectContaining({ summary: "evaluated at 2030-01-02T03:04:05.000Z" }) })]);
    expect(repo.comments(number).map((c) => [(c.user as { login: string }).login, c.body])).toEqual([[bot, "hello from tiny"]]);
    // the check run the app created came back as check_run.created, answered by the app
    const created = e2e.sim.findDeliveries({ event: "check_run", action: "created" });
    expect(created).toHaveLength(1);
    expect(created[0]!.status).toBe(200);
    expect(e2e.sim.failedDeliveries()).toEqual([]);
  });

  it("the clock is controllable and shared with the simulator's timestamps", async () => {
    const t0 = e2e.clock.nowMs();
    e2e.clock.advance(3 * 3600_000);
    expect(e2e.clock.nowMs() - t0).toBe(3 * 3600_000);
    const repo = e2e.sim.repo("acme/access");
    const { number } = await repo.openPullRequest("alice", "later", { "b.yaml": "1\n" });
    await e2e.sim.waitForIdle();
    expect((await repo.pull(number)).created_at).toBe(e2e.clock.now().toISOString().replace(/\.\d{3}Z$/, "Z"));
    const runs = await repo.checkRuns(repo.headSha(number));
    expect(String((runs[0]!.output as { summary: string }).summary)).toContain(e2e.clock.now().toISOString());
  });

  it("hands the app a reachable state database", async () => {
    expect(e2e.env.DATABASE_URL).toBe(e2e.databaseUrl);
    const c = new pg.Client({ connectionString: e2e.databaseUrl! });
    await c.connect();
    try {
      expect((await c.query<{ db: string }>("SELECT current_database() AS db")).rows[0]!.db).toBe("jit_state");
    } finally {
      await c.end();
    }
  });

  it("case 26: bad, missing or sha1-only webhook signatures are answered 4xx and the handler does not run", async () => {
    const repo = e2e.sim.repo("acme/access");
    e2e.sim.dropNextDelivery({ event: "pull_request", action: "opened" });
    await repo.openPullRequest("alice", "forged", { "c.yaml": "1\n" });
    await e2e.sim.waitForIdle();
    const payload = e2e.sim.findDeliveries({ event: "pull_request", action: "opened" }).at(-1)!.payload;
    const before = seen.length;
    e2e.sim.clearRequestLog();
    for (const sign of ["bad", "missing", "sha1-only", { secret: "development" }] as const) {
      const d = await e2e.sim.sendSignedDelivery("pull_request", payload, sign);
      expect(d.status, JSON.stringify(sign)).toBeGreaterThanOrEqual(400);
      expect(d.status, JSON.stringify(sign)).toBeLessThan(500);
    }
    await e2e.sim.waitForIdle();
    expect(seen.length).toBe(before);
    expect(e2e.sim.countRequests()).toBe(0);
    // control: the same payload correctly signed does run the handler
    const ok = await e2e.sim.sendSignedDelivery("pull_request", payload, "valid");
    expect(ok.status).toBe(200);
    expect(seen.length).toBe(before + 1);
  });
});

describe("startE2E without a database", () => {
  it("serves replicas round-robin and stop() shuts down only what it started", async () => {
    const seen: Seen[] = [];
    const e2e = await startE2E({ app: tinyApp(seen), replicas: 2, database: false });
    let stopped = false;
    try {
      expect(e2e.pg).toBeNull();
      const repo = await e2e.sim.createRepo({ owner: "acme", name: "r" });
      await repo.openPullRequest("acme", "a", { "a.txt": "1\n" });
      await repo.openPullRequest("acme", "b", { "b.txt": "1\n" });
      await e2e.sim.waitForIdle();
      expect(seen.map((s) => s.replica).sort()).toEqual([0, 1]);
      const urls = [e2e.sim.baseUrl, ...e2e.apps.map((a) => a.url)];
      await e2e.stop();
      stopped = true;
      for (const u of urls) await expect(fetch(u)).rejects.toThrow();
    } finally {
      if (!stopped) await e2e.stop();
    }
  });
});
