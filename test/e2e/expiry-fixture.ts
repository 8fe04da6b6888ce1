// The shared setup of the end-to-end tests that drive the scheduler by hand (expiry, outbox
// effects): the real app (Probot over HTTP), the GitHub simulator, a real PostgreSQL target with the
// app role, and a scheduler whose ticks the tests run with runOnce(). Exports are live bindings,
// set by useExpiryE2E() in beforeAll.
import { afterAll, beforeAll } from "vitest";
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

export const REPO = "acme/access";
export const PATH_1 = "access-requests/orders-prod/alice-inc-1.yaml";
export const POLICY = `databases:
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
export const request = (ticket: string) => `role: orders_readonly\nduration: 2h\nreason: Investigate ${ticket} duplicate orders\nticket: ${ticket}\n`;

export let e2e: E2E;
export let probot: Probot;
export let deps: (AppDeps & { close(): Promise<void> }) | undefined;
export let state: pg.Pool;
export let target: pg.Client;
export let scheduler: Scheduler;
export const appEnv: Record<string, string> = {};
export const logs: { level: string; obj: object; msg: string }[] = [];
export const log = {
  info: (obj: object, msg: string) => logs.push({ level: "info", obj, msg }),
  warn: (obj: object, msg: string) => logs.push({ level: "warn", obj, msg }),
  error: (obj: object, msg: string) => logs.push({ level: "error", obj, msg }),
};

export function useExpiryE2E(): void {
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
}

export async function ledger(requestId: string): Promise<{ status: string; revoke_reason: string | null; sessions_ended: number }[]> {
  return (await state.query("SELECT status, revoke_reason, sessions_ended FROM ledger WHERE request_id = $1", [requestId])).rows;
}

export async function appGranted(): Promise<string[]> {
  const { rows } = await target.query<{ member: string }>(`SELECT m.rolname AS member FROM pg_auth_members am JOIN pg_roles m ON m.oid = am.member
    WHERE am.grantor = $1::regrole`, [APP]);
  return rows.map((r) => r.member);
}
