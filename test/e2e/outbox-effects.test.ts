// Every GitHub side effect of an applied action goes through the one outbox (issue 11): a comment
// or alert issue GitHub refuses is not lost and does not fail the delivery; it waits in the outbox,
// the scheduler's drain posts it once, and nothing is posted twice. The real app (Probot over HTTP),
// the GitHub simulator and a real PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Probot } from "probot";
import type pg from "pg";
import { createApp } from "../../src/app.ts";
import { migrate } from "../../src/db/migrations.ts";
import { createPool } from "../../src/db/state.ts";
import { probotGitHub } from "../../src/github/installations.ts";
import { LeaderLock } from "../../src/scheduler/leader.ts";
import { GitHubPolicySource } from "../../src/scheduler/policy-source.ts";
import { startScheduler, type Scheduler } from "../../src/scheduler/scheduler.ts";
import { buildDeps } from "../../src/usecases/build-deps.ts";
import type { AppDeps } from "../../src/usecases/context.ts";
import { APP, appRoleSql, grantableRoleSql } from "../harness/grant-fixture.ts";
import { startE2E, type E2E, type E2EAppOptions } from "./harness.ts";

const REPO = "acme/access";
const PATH_1 = "access-requests/orders-prod/alice-inc-1.yaml";
const POLICY = `databases:
  orders-prod:
    connection_env: ORDERS_PROD_DATABASE_URL
    roles:
      orders_readonly:
        max_duration: 8h
        approvals: 1
        approvers: ["@acme/dba"]
        requesters: ["@acme/engineering"]
        require_ticket: true
identities:
  alice: alice
`;
const request = (ticket: string) => `role: orders_readonly\nduration: 2h\nreason: Investigate ${ticket} duplicate orders\nticket: ${ticket}\n`;

let e2e: E2E;
let probot: Probot;
let deps: (AppDeps & { close(): Promise<void> }) | undefined;
let state: pg.Pool;
let target: pg.Client;
let scheduler: Scheduler;
const appEnv: Record<string, string> = {};
const logs: { level: string; obj: object; msg: string }[] = [];
const log = {
  info: (obj: object, msg: string) => logs.push({ level: "info", obj, msg }),
  warn: (obj: object, msg: string) => logs.push({ level: "warn", obj, msg }),
  error: (obj: object, msg: string) => logs.push({ level: "error", obj, msg }),
};

beforeAll(async () => {
  e2e = await startE2E({
    app: (app, options) => {
      Object.assign(appEnv, (options as E2EAppOptions).env);
      probot = app;
      // The app's dependencies exist once the target database does (below); handlers read them lazily.
      createApp(new Proxy({} as AppDeps, { get: (_t, k) => (deps as unknown as Record<string | symbol, unknown>)[k] }))(app);
    },
  });
  // Target database with the app role (docs/database.md), a pure grantable role and alice's login.
  const su = await e2e.pg!.connect();
  await su.query("CREATE DATABASE orders");
  await su.end();
  target = await e2e.pg!.connect("postgres", "orders");
  const major = Math.floor(Number((await target.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v) / 10000);
  await target.query("CREATE TABLE public.orders (id int PRIMARY KEY)");
  for (const s of grantableRoleSql("orders_readonly")) await target.query(s);
  for (const s of appRoleSql(major, APP, ["orders_readonly"])) await target.query(s);
  await target.query("CREATE ROLE alice LOGIN");
  appEnv.ORDERS_PROD_DATABASE_URL = `postgresql://${APP}@127.0.0.1:${e2e.pg!.port}/orders`;

  state = createPool({ connectionString: e2e.databaseUrl! });
  await migrate(state);
  deps = buildDeps({ state, env: appEnv, now: () => e2e.clock.nowMs(), log, appId: e2e.sim.app.id });
  const github = probotGitHub(probot);
  scheduler = startScheduler({
    state, engines: deps.engines, github, log, leader: LeaderLock.forPool(state),
    policies: new GitHubPolicySource({ github, state, ttlMs: 0 }),
    // no periodic tick: ticks here are driven by runOnce() so each step is deterministic
    config: { sweepIntervalMs: 0, remindBeforeMs: 15 * 60_000 }, outboxBackoff: () => 0,
  });
  await scheduler.ready;

  e2e.sim.createOrg("acme", ["alice", "dora"]);
  e2e.sim.createTeam("acme", "dba", { members: ["dora"] });
  e2e.sim.createTeam("acme", "engineering", { members: ["alice"] });
  await e2e.sim.createRepo({
    owner: "acme", name: "access",
    files: { "policies/orders.yaml": POLICY, ".github/CODEOWNERS": "* @acme/dba\n/access-requests/ @acme/dba\n", "README.md": "access\n" },
    collaborators: { alice: "write" }, teams: { dba: "write", engineering: "write" },
  });
});

afterAll(async () => {
  await scheduler?.stop();
  await deps?.close();
  await state?.end();
  await target?.end();
  await e2e?.stop();
});

async function ledger(requestId: string): Promise<{ status: string; revoke_reason: string | null; sessions_ended: number }[]> {
  return (await state.query("SELECT status, revoke_reason, sessions_ended FROM ledger WHERE request_id = $1", [requestId])).rows;
}

async function appGranted(): Promise<string[]> {
  const { rows } = await target.query<{ member: string }>(`SELECT m.rolname AS member FROM pg_auth_members am JOIN pg_roles m ON m.oid = am.member
    WHERE am.grantor = $1::regrole`, [APP]);
  return rows.map((r) => r.member);
}

describe("comments and alerts through the outbox", () => {
  it("a granted comment GitHub refuses with 502 waits in the outbox (the grant stands, the delivery is done); the drain posts it once", async () => {
    const repo = e2e.sim.repo(REPO);
    const { number } = await repo.openPullRequest("alice", "req-outbox-1", { [PATH_1]: request("INC-1") });
    await e2e.sim.waitForIdle();
    await repo.review("dora", number, "APPROVE");
    await e2e.sim.waitForIdle();
    const granted = () => repo.comments(number).filter((c) => String(c.body).includes("granted"));
    const fault = e2e.sim.injectFault({ route: "issues/create-comment", status: 502, count: 1 });
    await repo.merge(number, { method: "squash" });
    await e2e.sim.waitForIdle();

    expect(fault.hits).toBe(1);
    expect(await ledger("alice-inc-1")).toEqual([expect.objectContaining({ status: "active" })]);
    expect(await appGranted()).toEqual(["alice"]);
    expect(granted()).toEqual([]);
    const key = "granted:acme/access:orders-prod/alice-inc-1";
    expect(await outboxItem(key)).toMatchObject({ kind: "comment", done: false, attempts: 1, last_error: expect.stringContaining("502") });

    // The push delivery of the same merge found the merge handled: nothing else posted it meanwhile.
    expect((await scheduler.drainNow())?.done ?? []).toEqual([]); // its backoff has not passed: nothing yet
    await state.query("UPDATE outbox SET next_attempt_at = now() WHERE dedupe_key = $1", [key]);
    const drained = await scheduler.drainNow();
    expect(drained?.done.map((d) => d.kind)).toContain("comment");
    expect(granted()).toHaveLength(1);
    expect(await outboxItem(key)).toMatchObject({ done: true, attempts: 2 });
    await scheduler.drainNow();
    expect(granted()).toHaveLength(1);
  });
});

async function outboxItem(key: string): Promise<{ kind: string; done: boolean; attempts: number; last_error: string | null } | undefined> {
  return (await state.query("SELECT kind, done, attempts, last_error FROM outbox WHERE dedupe_key = $1", [key])).rows[0];
}
