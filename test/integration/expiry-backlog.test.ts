// Issue 16: a backlog of overdue grants on two target clusters is revoked in batches per
// (cluster, role). Not timed (speed is `npm run bench:expiry -- --backlog N`): what is asserted is
// that every grant is revoked exactly once with its ledger row, events and revert PR as a single
// revoke records them; that a failing cluster does not hold up the other; and that one membership
// that cannot be revoked leaves the rest of its batch revoked and is reported on its own.
import { createServer, type Server, type Socket } from "node:net";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Policy } from "../../src/core/types.ts";
import { readHealth } from "../../src/scheduler/health.ts";
import { LeaderLock, NO_LEADER } from "../../src/scheduler/leader.ts";
import { StaticPolicySource } from "../../src/scheduler/policy-source.ts";
import { startScheduler } from "../../src/scheduler/scheduler.ts";
import { sweep, type SweepDeps, type SweepReport } from "../../src/scheduler/sweep.ts";
import { EngineRegistry } from "../../src/usecases/engines.ts";
import { freePort } from "../../src/util/free-port.ts";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";
import { APP, appRoleSql, DB_KEY, ENV_NAME, grantableRoleSql, makePolicy, setupGrantFixture, TARGET_DB, type GrantFixture } from "../harness/grant-fixture.ts";

const ROLES = ["orders_readonly", "orders_admin"];
const USERS = Array.from({ length: 30 }, (_, i) => `bk_u${String(i).padStart(2, "0")}`);
const EU_KEY = "orders-eu";
const EU_ENV = "ORDERS_EU_DATABASE_URL";
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

let a: TestCluster;
let b: TestCluster;
let f: GrantFixture;
let suB: pg.Client;
let policy: Policy;
let env: NodeJS.ProcessEnv;
let registry: EngineRegistry;
let seq = 0;

beforeAll(async () => {
  [a, b] = await Promise.all([startPostgres(), startPostgres()]);
  f = await setupGrantFixture(a, { logins: USERS });
  const admin = await b.connect();
  await admin.query(`CREATE DATABASE ${TARGET_DB}`);
  await admin.end();
  suB = await b.connect("postgres", TARGET_DB);
  await suB.query("CREATE TABLE public.orders (id int PRIMARY KEY, total numeric NOT NULL)");
  for (const r of ROLES) for (const s of grantableRoleSql(r)) await suB.query(s);
  for (const s of appRoleSql(f.major, APP, ROLES)) await suB.query(s);
  for (const u of USERS) await suB.query(`CREATE ROLE ${u} LOGIN`);
  const base = makePolicy(ROLES).databases[DB_KEY]!;
  policy = { databases: { [DB_KEY]: base, [EU_KEY]: { ...base, connectionEnv: EU_ENV } }, identities: {} };
  env = { [ENV_NAME]: f.appUrl(), [EU_ENV]: `postgresql://${APP}@127.0.0.1:${b.port}/${TARGET_DB}` };
  registry = new EngineRegistry(f.state, env);
});
afterAll(async () => {
  await registry?.close();
  await suB?.end();
  await f?.close();
  await Promise.all([a?.stop(), b?.stop()]);
});

const su = (key: string) => (key === DB_KEY ? f.su : suB);
const deps = (over: Partial<SweepDeps> = {}): SweepDeps => ({
  state: f.state, engines: registry, policies: new StaticPolicySource(policy, null), actor: "test:backlog", leadership: NO_LEADER, ...over,
});

/** Grants `users` the roles in turn on `key`; returns the request ids. */
async function grantAll(key: string, users: string[]): Promise<string[]> {
  const engine = registry.engine(policy);
  const ids: string[] = [];
  for (const [i, user] of users.entries()) {
    const id = `bk-${key}-${++seq}`;
    const d = await engine.grant(f.input(id, { database: key, path: `access-requests/${key}/${id}.yaml`, dbUser: user, role: ROLES[i % ROLES.length]! }));
    expect(d.ok, JSON.stringify(d.problems)).toBe(true);
    ids.push(id);
  }
  return ids;
}

/** Most overdue first: expiries spread over the last hour by the database clock. */
async function makeOverdue(ids: string[]): Promise<void> {
  await f.stateSu.query(`UPDATE ledger l SET expires_at = now() - interval '1 hour' + s.n * interval '1 second'
    FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM ledger WHERE request_id = ANY($1)) s WHERE s.id = l.id`, [ids]);
}

async function appMemberships(key: string, users: string[]): Promise<string[]> {
  const { rows } = await su(key).query<{ m: string }>(`SELECT r.rolname || ':' || m.rolname AS m FROM pg_auth_members am
    JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member WHERE m.rolname = ANY($1) ORDER BY 1`, [users]);
  return rows.map((r) => r.m);
}

async function sessions(key: string, users: string[]): Promise<number> {
  const { rows } = await su(key).query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = ANY($1)", [users]);
  return rows[0]!.n;
}

async function ledger(ids: string[]): Promise<Map<string, { status: string; revoked: number; failed: string[]; reverts: number; sessions: number }>> {
  const { rows } = await f.stateSu.query<{ request_id: string; status: string; revoked: number; failed: string[]; reverts: number; sessions: number }>(`
    SELECT l.request_id, l.status, l.sessions_ended AS sessions,
           (SELECT count(*)::int FROM events e WHERE e.ledger_id = l.id AND e.kind = 'revoked') AS revoked,
           (SELECT coalesce(array_agg(e.code ORDER BY e.id), '{}') FROM events e WHERE e.ledger_id = l.id AND e.kind = 'revoke_failed') AS failed,
           (SELECT count(*)::int FROM outbox o WHERE o.kind = 'revert_pr' AND o.payload->>'requestId' = l.request_id) AS reverts
      FROM ledger l WHERE l.request_id = ANY($1)`, [ids]);
  return new Map(rows.map((r) => [r.request_id, r]));
}

async function openSessions(cluster: TestCluster, users: string[]): Promise<pg.Client[]> {
  const out = await Promise.all(users.map((u) => cluster.connect(u, TARGET_DB)));
  for (const c of out) await c.query("SELECT count(*) FROM public.orders");
  return out;
}

describe("issue 16: backlog catch-up on two clusters", () => {
  it("a restart with overdue grants on two clusters (a scheduler and a concurrent jit expire) revokes every one exactly once, sessions ended, verified", async () => {
    const onA = await grantAll(DB_KEY, USERS);
    const onB = await grantAll(EU_KEY, USERS);
    const all = [...onA, ...onB];
    await makeOverdue(all);
    const live = [...await openSessions(a, USERS.slice(0, 8)), ...await openSessions(b, USERS.slice(0, 8))];
    try {
      expect(await sessions(DB_KEY, USERS)).toBe(8);
      const scheduler = startScheduler({
        state: f.state, engines: registry, policies: new StaticPolicySource(policy, null), log: quiet, leader: LeaderLock.forPool(f.state, 1601),
        config: { sweepIntervalMs: 0, batchSize: 16 },
      });
      let other: SweepReport;
      try {
        [, other] = await Promise.all([scheduler.ready, sweep(deps({ actor: "cli:expire" }), { batchSize: 16 })]);
      } finally {
        await scheduler.stop();
      }
      const first = scheduler.lastSweep!;
      expect([...first.failed, ...other.failed]).toEqual([]);
      const revoked = [...first.revoked, ...other.revoked].map((g) => g.requestId);
      expect(revoked.sort()).toEqual([...all].sort()); // each exactly once across both sweepers
      const rows = await ledger(all);
      for (const id of all) expect(rows.get(id), id).toMatchObject({ status: "revoked", revoked: 1, failed: [], reverts: 1 });
      expect([...rows.values()].reduce((s, r) => s + r.sessions, 0)).toBe(16);
      for (const key of [DB_KEY, EU_KEY]) {
        expect(await appMemberships(key, USERS)).toEqual([]);
        expect(await sessions(key, USERS)).toBe(0);
      }
    } finally {
      await Promise.all(live.map((c) => c.end().catch(() => {})));
    }
  });

  it("a failure on one cluster does not stall the other: cluster A is revoked while B's connection hangs; B follows once reachable", async () => {
    const onA = await grantAll(DB_KEY, USERS.slice(0, 10));
    const onB = await grantAll(EU_KEY, USERS.slice(0, 10));
    await makeOverdue([...onA, ...onB]);
    // B's connection variable now leads to a server that accepts and never answers.
    const sockets: Socket[] = [];
    const hang: Server = createServer((s) => sockets.push(s));
    const port = await freePort();
    await new Promise<void>((r) => hang.listen(port, "127.0.0.1", r));
    const broken = new EngineRegistry(f.state, { ...env, [EU_ENV]: `postgresql://${APP}@127.0.0.1:${port}/${TARGET_DB}` });
    try {
      let done = false;
      const pending = sweep(deps({ engines: broken })).finally(() => { done = true; });
      const deadline = performance.now() + 30_000;
      for (;;) {
        const rows = await ledger(onA);
        if (onA.every((id) => rows.get(id)?.status === "revoked")) break;
        if (performance.now() > deadline) throw new Error("cluster A was not revoked while B hung");
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(done).toBe(false); // B still hangs, A is done
      expect(await appMemberships(DB_KEY, USERS)).toEqual([]);
      for (const s of sockets) s.destroy();
      hang.close();
      const report = await pending;
      expect(report.revoked.map((g) => g.requestId).sort()).toEqual([...onA].sort());
      expect(report.failed.map((x) => x.requestId).sort()).toEqual([...onB].sort());
      expect(new Set(report.failed.map((x) => x.code))).toEqual(new Set(["JIT_DB_UNREACHABLE"]));
      expect((await appMemberships(EU_KEY, USERS)).length).toBe(10); // never recorded as revoked
      for (const id of onB) expect((await ledger([id])).get(id)).toMatchObject({ status: "active", failed: ["JIT_DB_UNREACHABLE"] });
    } finally {
      for (const s of sockets) s.destroy();
      hang.close();
      await broken.close();
    }
    const next = await sweep(deps());
    expect(next.revoked.map((g) => g.requestId).sort()).toEqual([...onB].sort());
    expect(await appMemberships(EU_KEY, USERS)).toEqual([]);
  });

  it("a batch with one membership that cannot be revoked revokes the rest and reports that one (JIT_REVOKE_FAILED, overdue in /health)", async () => {
    const users = USERS.slice(10, 16);
    const ids: string[] = [];
    const engine = registry.engine(policy);
    for (const user of users) {
      const id = `bk-one-${++seq}`;
      expect((await engine.grant(f.input(id, { dbUser: user }))).ok).toBe(true);
      ids.push(id);
    }
    await makeOverdue(ids);
    const live = await openSessions(a, users);
    // A DBA renamed one grantee mid-window to a name the app will not put in SQL.
    await f.su.query(`ALTER ROLE ${users[2]} RENAME TO "Renamed-Login"`);
    try {
      const r = await sweep(deps());
      expect(r.failed).toEqual([expect.objectContaining({ requestId: ids[2], code: "JIT_REVOKE_FAILED" })]);
      expect(r.revoked.map((g) => g.requestId).sort()).toEqual(ids.filter((_, i) => i !== 2).sort());
      expect(r.revoked.every((g) => g.sessionsEnded === 1)).toBe(true);
      expect(await appMemberships(DB_KEY, [...users, "Renamed-Login"])).toEqual(["orders_readonly:Renamed-Login"]);
      const rows = await ledger(ids);
      expect(rows.get(ids[2]!)).toMatchObject({ status: "active", failed: ["JIT_REVOKE_FAILED"], reverts: 0 });
      for (const id of ids.filter((_, i) => i !== 2)) expect(rows.get(id)).toMatchObject({ status: "revoked", revoked: 1, reverts: 1 });
      const health = await readHealth(f.state, { staleAfterMs: 3_600_000, overdueAfterMs: 1000 });
      expect(health.status).toBe("degraded");
      expect(health.overdue.beyondThreshold.map((g) => g.requestId)).toEqual([ids[2]]);
    } finally {
      await f.su.query(`ALTER ROLE "Renamed-Login" RENAME TO ${users[2]}`);
      await Promise.all(live.map((c) => c.end().catch(() => {})));
    }
    const again = await sweep(deps());
    expect(again.revoked.map((g) => g.requestId)).toEqual([ids[2]]);
    expect(await appMemberships(DB_KEY, users)).toEqual([]);
  });
});
