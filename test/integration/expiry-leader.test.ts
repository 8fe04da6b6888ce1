// Leader election for the sweeper: docs/security.md case 44 (the leader's lock connection dies
// mid-sweep) and the lock's own guarantees, against a real server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LedgerKey } from "../../src/db/ledger.ts";
import { LeaderLock, LeaderLostError } from "../../src/scheduler/leader.ts";
import { StaticPolicySource } from "../../src/scheduler/policy-source.ts";
import { startScheduler } from "../../src/scheduler/scheduler.ts";
import { sweep, type SweepDeps, type SweepEngine } from "../../src/scheduler/sweep.ts";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";
import { DB_KEY, setupGrantFixture, type GrantFixture } from "../harness/grant-fixture.ts";

const USERS = Array.from({ length: 12 }, (_, i) => `lead_${String(i).padStart(2, "0")}`);
let cluster: TestCluster;
let f: GrantFixture;
let seq = 0;
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

beforeAll(async () => {
  cluster = await startPostgres();
  f = await setupGrantFixture(cluster, { logins: USERS });
});
afterAll(async () => {
  await f?.close();
  await cluster?.stop();
});

async function dueGrants(n: number, prefix: string): Promise<string[]> {
  const { rows: active } = await f.stateSu.query<{ request_id: string; repository: string }>("SELECT request_id, repository FROM ledger WHERE status = 'active'");
  for (const r of active) await f.engine.revoke({ repository: r.repository, database: DB_KEY, requestId: r.request_id }, { reason: "test cleanup", actor: "test" });
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `${prefix}-${++seq}`;
    const d = await f.engine.grant(f.input(id, { dbUser: USERS[i]! }));
    expect(d.ok, JSON.stringify(d.problems)).toBe(true);
    ids.push(id);
  }
  await f.stateSu.query("UPDATE ledger SET expires_at = now() - interval '1 second' WHERE request_id = ANY($1::text[])", [ids]);
  return ids;
}

async function kill(pid: number): Promise<void> {
  // Waits (up to 5 s) until the backend is gone, so its advisory lock is released.
  const { rows } = await f.su.query<{ ok: boolean }>("SELECT pg_terminate_backend($1, 5000) AS ok", [pid]);
  expect(rows[0]!.ok).toBe(true);
}

async function counts(ids: string[]): Promise<{ revokedEvents: Map<string, number>; active: number; reverts: number }> {
  const { rows } = await f.stateSu.query<{ request_id: string; n: number }>(
    "SELECT request_id, count(*)::int AS n FROM events WHERE kind = 'revoked' AND request_id = ANY($1::text[]) GROUP BY 1", [ids]);
  const { rows: [a] } = await f.stateSu.query<{ n: number }>("SELECT count(*)::int AS n FROM ledger WHERE status = 'active' AND request_id = ANY($1::text[])", [ids]);
  const { rows: [o] } = await f.stateSu.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox WHERE kind = 'revert_pr' AND payload->>'requestId' = ANY($1::text[])", [ids]);
  return { revokedEvents: new Map(rows.map((r) => [r.request_id, r.n])), active: a!.n, reverts: o!.n };
}

describe("leader lock", () => {
  it("one holder at a time, on a dedicated connection; a re-check asks the server", async () => {
    const a = LeaderLock.forPool(f.state, 9001);
    const b = LeaderLock.forPool(f.state, 9001);
    try {
      expect(await a.acquire()).toBe(true);
      expect(await a.acquire()).toBe(true); // re-entrant for its holder
      expect(await b.acquire()).toBe(false);
      expect(await a.stillLeader()).toBe(true);
      // The lock lives on a connection of its own, not on any pooled one.
      const { rows } = await f.stateSu.query<{ pid: number; application_name: string }>(
        "SELECT l.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND l.objid = 9001");
      expect(rows).toEqual([{ pid: a.backendPid, application_name: "jit-access leader" }]);
      await a.release();
      expect(a.isLeader).toBe(false);
      expect(await b.acquire()).toBe(true);
    } finally {
      await a.release();
      await b.release();
    }
  });

  it("a dead lock connection is noticed by the next re-check: JIT_LEADER_LOST, and another replica takes over", async () => {
    const a = LeaderLock.forPool(f.state, 9002);
    const b = LeaderLock.forPool(f.state, 9002);
    try {
      expect(await a.acquire()).toBe(true);
      await kill(a.backendPid!);
      await expect(a.assertLeader()).rejects.toSatisfy((e: unknown) => e instanceof LeaderLostError && e.code === "JIT_LEADER_LOST");
      expect(a.isLeader).toBe(false);
      expect(await b.acquire()).toBe(true);
      // The old leader cannot come back while the new one holds the lock.
      expect(await a.acquire()).toBe(false);
    } finally {
      await a.release();
      await b.release();
    }
  });
});

describe("case 44: the leader's lock connection dies mid-sweep", () => {
  it("case 44: the old leader stops before its next side effect; the new leader completes, each grant revoked once", async () => {
    const ids = await dueGrants(10, "c44");
    const oldLeader = LeaderLock.forPool(f.state, 4401);
    const newLeader = LeaderLock.forPool(f.state, 4401);
    expect(await oldLeader.acquire()).toBe(true);
    expect(await newLeader.acquire()).toBe(false);

    // The lock connection is killed right after the old leader's first revoke.
    let revokes = 0;
    const killer: SweepEngine = {
      async revoke(key: LedgerKey, opts) {
        const r = await f.engine.revoke(key, opts);
        if (++revokes === 1) await kill(oldLeader.backendPid!);
        return r;
      },
      reconcile: (actor) => f.engine.reconcile(actor),
    };
    const base: Omit<SweepDeps, "leadership" | "engines" | "actor"> = { state: f.state, policies: new StaticPolicySource(f.policy, null) };
    const old = await sweep({ ...base, engines: { engine: () => killer }, actor: "test:old-leader", leadership: oldLeader }, { parallel: 1, batchSize: 100 });

    expect(old.leaderLost).toBe(true);
    expect(old.problems.map((p) => p.code)).toEqual(["JIT_LEADER_LOST"]);
    expect(revokes).toBe(1);
    expect(old.revoked).toHaveLength(1);
    // Its next side effect would have been queueing that grant's revert PR: not done either.
    let c = await counts(ids);
    expect(c.active).toBe(9);
    expect(c.reverts).toBe(0);

    expect(await newLeader.acquire()).toBe(true);
    const next = await sweep({ ...base, engines: { engine: () => f.engine }, actor: "test:new-leader", leadership: newLeader }, { recoverReverts: true });
    expect(next.leaderLost).toBe(false);
    expect(next.revoked).toHaveLength(9);
    c = await counts(ids);
    expect(c.active).toBe(0);
    for (const id of ids) expect(c.revokedEvents.get(id)).toBe(1);
    // The new leader also queues the revert PR the old one was stopped before.
    expect(c.reverts).toBe(10);
    expect(await f.appGranted()).toEqual([]);
    await newLeader.release();
    await oldLeader.release();
  });

  it("case 44: a lock lost between two revokes stops the next REVOKE itself (re-checked right before it)", async () => {
    const ids = await dueGrants(3, "c44r");
    const lock = LeaderLock.forPool(f.state, 4403);
    expect(await lock.acquire()).toBe(true);
    let lookups = 0;
    let revokes = 0;
    const policies = new StaticPolicySource(f.policy, null);
    const killing: SweepDeps["policies"] = {
      // The second grant's policy lookup is the last step before its REVOKE: the lock dies there.
      async policyFor(g) {
        if (++lookups === 2) await kill(lock.backendPid!);
        return policies.policyFor(g);
      },
      policiesToReconcile: () => policies.policiesToReconcile(),
    };
    const counting: SweepEngine = {
      revoke: (key, opts) => { revokes++; return f.engine.revoke(key, opts); },
      reconcile: (actor) => f.engine.reconcile(actor),
    };
    // Distinct merge SHAs so each grant asks the policy source (the sweep caches per repository, database and commit).
    for (const [i, id] of ids.entries()) await f.stateSu.query("UPDATE ledger SET merge_sha = $2 WHERE request_id = $1", [id, String(i).repeat(40)]);
    const r = await sweep({ state: f.state, policies: killing, engines: { engine: () => counting }, actor: "test:lost", leadership: lock }, { parallel: 1 });
    expect(r.leaderLost).toBe(true);
    expect(revokes).toBe(1);
    expect((await counts(ids)).active).toBe(2);
    await lock.release();
  });

  it("case 44 with two schedulers: after the leader's lock connection dies, the other replica becomes leader on its next tick and sweeps", async () => {
    await dueGrants(0, "c44b");
    // No periodic tick: the ticks in this test are the ones it runs, so the old leader cannot win the lock back first.
    const mk = () => startScheduler({ state: f.state, engines: { engine: () => f.engine }, policies: new StaticPolicySource(f.policy, null), log: quiet, leader: LeaderLock.forPool(f.state, 4402), config: { sweepIntervalMs: 0 } });
    const a = mk();
    const b = mk();
    try {
      await Promise.all([a.ready, b.ready]);
      const [leader, follower] = a.isLeader ? [a, b] : [b, a];
      expect(leader.isLeader && !follower.isLeader).toBe(true);
      const { rows } = await f.stateSu.query<{ pid: number }>("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = 4402");
      await kill(rows[0]!.pid);
      const ids = await dueGrants(3, "c44c");
      const t = await follower.runOnce();
      expect(t.leader).toBe(true);
      expect(t.sweep!.revoked.map((g) => g.requestId).sort()).toEqual([...ids].sort());
      const old = await leader.runOnce();
      expect(old.leader).toBe(false);
      expect(old.sweep).toBeUndefined();
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
