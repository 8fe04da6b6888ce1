// Expiry sweeps against a real server: docs/security.md cases 42 (downtime catch-up), 43 (concurrent
// sweepers), 45 (app clock off), plus `jit expire`, health and reconciliation on every sweep.
// Time is moved the way the database sees it: expires_at is set relative to the server's now().
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { captureIo } from "../../src/cli/io.ts";
import { run as runExpire } from "../../src/cli/expire.ts";
import { run as runReconcile } from "../../src/cli/reconcile.ts";
import { createAlerter } from "../../src/usecases/alerting.ts";
import { alertOnHealth, readHealth } from "../../src/scheduler/health.ts";
import { LeaderLock, NO_LEADER } from "../../src/scheduler/leader.ts";
import { StaticPolicySource } from "../../src/scheduler/policy-source.ts";
import { startScheduler } from "../../src/scheduler/scheduler.ts";
import { EXPIRY_REASON, sweep, type SweepDeps, type SweepReport } from "../../src/scheduler/sweep.ts";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";
import { APP, DB_KEY, ENV_NAME, setupGrantFixture, STATE_DB, type GrantFixture } from "../harness/grant-fixture.ts";

const USERS = Array.from({ length: 40 }, (_, i) => `user_${String(i).padStart(2, "0")}`);
let cluster: TestCluster;
let f: GrantFixture;
let repoDir: string;
let seq = 0;

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

beforeAll(async () => {
  cluster = await startPostgres();
  f = await setupGrantFixture(cluster, { logins: USERS });
  // A checkout for `jit expire` / `jit reconcile`: the same database key and connection variable as the fixture.
  repoDir = mkdtempSync(join(tmpdir(), "jit-expire-repo-"));
  mkdirSync(join(repoDir, "policies"));
  writeFileSync(join(repoDir, "policies/orders.yaml"), [
    "databases:",
    `  ${DB_KEY}:`,
    `    connection_env: ${ENV_NAME}`,
    "    roles:",
    "      orders_readonly: { max_duration: 8h, approvals: 1, approvers: [\"@acme/dba\"] }",
    "      orders_admin: { max_duration: 1h, approvals: 1, approvers: [\"@acme/dba\"] }",
    "identities:",
    "  alice: alice",
    "",
  ].join("\n"));
});
afterAll(async () => {
  await f?.close();
  await cluster?.stop();
});
afterEach(() => {
  vi.useRealTimers();
});

const stateUrl = () => cluster.superuserUrl(STATE_DB);

function deps(over: Partial<SweepDeps> = {}): SweepDeps {
  return { state: f.state, engines: { engine: () => f.engine }, policies: new StaticPolicySource(f.policy, null), actor: "test:sweeper", leadership: NO_LEADER, ...over };
}

/** Grants `n` fresh requests (distinct users) and returns their request ids. */
async function grantMany(n: number, prefix: string): Promise<{ id: string; user: string }[]> {
  await clearActive();
  const out: { id: string; user: string }[] = [];
  for (let i = 0; i < n; i++) {
    const user = USERS[i]!;
    const id = `${prefix}-${++seq}`;
    const d = await f.engine.grant(f.input(id, { dbUser: user }));
    expect(d.ok, JSON.stringify(d.problems)).toBe(true);
    out.push({ id, user });
  }
  return out;
}

/** Revokes whatever an earlier test left active, so users are free again. */
async function clearActive(): Promise<void> {
  const { rows } = await f.stateSu.query<{ request_id: string; repository: string }>("SELECT request_id, repository FROM ledger WHERE status = 'active'");
  for (const r of rows) await f.engine.revoke({ repository: r.repository, database: DB_KEY, requestId: r.request_id }, { reason: "test cleanup", actor: "test" });
}

/** Sets expires_at relative to the database clock: negative = in the past. */
async function expireIn(ids: string[], offsetsMs: number[]): Promise<void> {
  for (const [i, id] of ids.entries()) {
    await f.stateSu.query("UPDATE ledger SET expires_at = now() + $2 * interval '1 millisecond' WHERE request_id = $1", [id, offsetsMs[i] ?? offsetsMs[0]]);
  }
}

async function revokeEvents(id: string): Promise<number> {
  const { rows } = await f.stateSu.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE request_id = $1 AND kind = 'revoked'", [id]);
  return rows[0]!.n;
}

async function revertItems(ids: string[]): Promise<{ dedupe_key: string; payload: { requestId: string } }[]> {
  const { rows } = await f.stateSu.query<{ dedupe_key: string; payload: { requestId: string } }>(
    "SELECT dedupe_key, payload FROM outbox WHERE kind = 'revert_pr' AND payload->>'requestId' = ANY($1::text[]) ORDER BY id", [ids]);
  return rows;
}

async function sessionsOf(user: string): Promise<number> {
  const { rows } = await f.su.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1", [user]);
  return rows[0]!.n;
}

async function status(id: string): Promise<{ status: string; revoke_reason: string | null; revoked_at: Date | null; expires_at: Date }> {
  const { rows } = await f.stateSu.query("SELECT status, revoke_reason, revoked_at, expires_at FROM ledger WHERE request_id = $1", [id]);
  return rows[0];
}

async function waitFor(what: string, ok: () => Promise<boolean>, timeoutMs = 45_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("case 42: downtime across expiries", () => {
  it("case 42: after three hours of missed expiries the first sweep after start revokes every overdue grant, sessions ended", async () => {
    const grants = await grantMany(8, "c42");
    const overdue = grants.slice(0, 7);
    const future = grants[7]!;
    // Expiries spread over the three hours the app was down (by the database clock), one still ahead.
    await expireIn(overdue.map((g) => g.id), overdue.map((_, i) => -(3 * 3_600_000) + i * 25 * 60_000));
    await expireIn([future.id], [3_600_000]);
    const sessions = await Promise.all(overdue.slice(0, 4).map((g) => f.login(g.user)));
    for (const s of sessions) await s.query("SELECT 1");
    expect(await sessionsOf(overdue[0]!.user)).toBe(1);

    const scheduler = startScheduler({ state: f.state, engines: { engine: () => f.engine }, policies: new StaticPolicySource(f.policy, null), log: quiet, leader: LeaderLock.forPool(f.state, 4201) });
    try {
      const first = await scheduler.ready;
      expect(first.kind).toBe("start");
      expect(first.leader).toBe(true);
      const report = first.sweep!;
      expect(report.revoked.map((g) => g.requestId).sort()).toEqual(overdue.map((g) => g.id).sort());
      expect(report.failed).toEqual([]);
      // The lag is what the downtime cost: up to three hours, measured by the database clock.
      const lags = new Map(report.revoked.map((g) => [g.requestId, g.lagMs]));
      expect(lags.get(overdue[0]!.id)!).toBeGreaterThanOrEqual(3 * 3_600_000);
      expect(lags.get(overdue[6]!.id)!).toBeGreaterThanOrEqual(30 * 60_000);
      expect(report.lag!.max).toBe(lags.get(overdue[0]!.id));

      for (const g of overdue) {
        expect(await status(g.id)).toMatchObject({ status: "revoked", revoke_reason: EXPIRY_REASON });
        expect(await revokeEvents(g.id)).toBe(1);
        expect(await sessionsOf(g.user)).toBe(0);
      }
      expect((await f.appGranted()).map((m) => m.member)).toEqual([future.user]);
      expect((await status(future.id)).status).toBe("active");
      // One revert PR queued per expired request, after its revoke.
      expect((await revertItems(overdue.map((g) => g.id))).map((r) => r.payload.requestId).sort()).toEqual(overdue.map((g) => g.id).sort());
      expect(await revertItems([future.id])).toEqual([]);
      // The scheduler armed its timer for the one grant still ahead (capped by the tick period).
      expect(scheduler.timerArmedFor).toBe(30_000);

      // The next sweep finds nothing left: level-triggered, nothing revoked twice.
      const again = await scheduler.runOnce();
      expect(again.sweep!.claimed).toBe(0);
      expect(again.sweep!.revoked).toEqual([]);
      const h = await scheduler.health();
      expect(h.lastSweep.sweeper).toBe("app");
      expect(h.overdue.count).toBe(0);
    } finally {
      await scheduler.stop();
    }
  });
});

describe("case 43: concurrent sweepers", () => {
  it("case 43: two replicas and a `jit expire` run at the same instant revoke each grant once and queue one revert PR per request", async () => {
    const grants = await grantMany(30, "c43");
    const ids = grants.map((g) => g.id);
    const sessions = await Promise.all(grants.slice(0, 10).map((g) => f.login(g.user)));
    for (const s of sessions) await s.query("SELECT 1");
    const mk = () => startScheduler({
      state: f.state, engines: { engine: () => f.engine }, policies: new StaticPolicySource(f.policy, null), log: quiet,
      leader: LeaderLock.forPool(f.state, 4301), config: { parallel: 4, batchSize: 7 },
    });
    const a = mk();
    const b = mk();
    try {
      await Promise.all([a.ready, b.ready]);
      expect([a.isLeader, b.isLeader].sort()).toEqual([false, true]);
      await expireIn(ids, [-1000]);

      const io = captureIo({ DATABASE_URL: stateUrl(), [ENV_NAME]: f.appUrl(), USER: "tester" }, repoDir);
      const [ra, rb, cli] = await Promise.all([a.runOnce(), b.runOnce(), runExpire(["--format", "json"], io)]);
      expect(cli, io.stderr.join("\n")).toBe(0);
      const cliReport = JSON.parse(io.stdout.join("\n")) as SweepReport;

      // Only the leader swept among the replicas.
      const swept = [ra, rb].filter((r) => r.sweep);
      expect(swept).toHaveLength(1);
      const revokedBy = [...swept[0]!.sweep!.revoked, ...cliReport.revoked].map((g) => g.requestId).sort();
      expect(revokedBy).toEqual([...ids].sort());
      for (const g of grants) {
        expect(await revokeEvents(g.id)).toBe(1);
        expect(await sessionsOf(g.user)).toBe(0);
      }
      const items = await revertItems(ids);
      expect(items).toHaveLength(30);
      expect(new Set(items.map((i) => i.dedupe_key)).size).toBe(30);
      expect(await f.appGranted()).toEqual([]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it("case 43: three leaderless sweeps racing on the same rows (SKIP LOCKED claims) never revoke a grant twice", async () => {
    const grants = await grantMany(40, "c43b");
    const ids = grants.map((g) => g.id);
    await expireIn(ids, [-500]);
    let calls = 0;
    const counting = { revoke: (...a: Parameters<typeof f.engine.revoke>) => { calls++; return f.engine.revoke(...a); }, reconcile: () => f.engine.reconcile() };
    const reports = await Promise.all([1, 2, 3].map((n) => sweep(deps({ actor: `test:racer-${n}`, engines: { engine: () => counting } }), { batchSize: 5, parallel: 3 })));
    const revoked = reports.flatMap((r) => r.revoked.map((g) => g.requestId));
    // The claims kept the sweepers apart: no grant was even attempted twice.
    expect(calls).toBe(40);
    expect(reports.reduce((n, r) => n + r.alreadyClosed, 0)).toBe(0);
    expect(revoked.sort()).toEqual([...ids].sort());
    expect(new Set(revoked).size).toBe(40);
    for (const id of ids) expect(await revokeEvents(id)).toBe(1);
    expect(await revertItems(ids)).toHaveLength(40);
    // Row claims are gone with the sweeps: no advisory lock is left on the state database.
    const { rows } = await f.stateSu.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'");
    expect(rows[0]!.n).toBe(0);
  });
});

describe("case 45: the app clock is irrelevant", () => {
  for (const offsetMin of [10, -10]) {
    it(`case 45: app clock ${offsetMin > 0 ? "ten minutes ahead" : "ten minutes behind"}: expiry is decided by the database clock`, async () => {
      const [g] = await grantMany(1, `c45${offsetMin > 0 ? "a" : "b"}`);
      await expireIn([g!.id], [3000]);
      // The whole process clock is off: Date, and with it anything that would read the time here.
      vi.useFakeTimers({ toFake: ["Date"], shouldAdvanceTime: true });
      vi.setSystemTime(Date.now() + offsetMin * 60_000);
      const appNow = () => Date.now();

      // Not due yet by the database: a sweep revokes nothing, whatever the app clock says.
      const early = await sweep(deps(), {});
      expect(early.revoked).toEqual([]);
      expect((await status(g!.id)).status).toBe("active");

      const scheduler = startScheduler({ state: f.state, engines: { engine: () => f.engine }, policies: new StaticPolicySource(f.policy, null), log: quiet, leader: LeaderLock.forPool(f.state, 4500 + offsetMin), now: appNow,
        // No periodic tick: the revoke must come from the timer armed by the database clock, and no other tick may replace lastSweep.
        config: { sweepIntervalMs: 0 } });
      try {
        await scheduler.ready;
        const h = await scheduler.health();
        expect(Math.abs(h.appClockSkewMs! - offsetMin * 60_000)).toBeLessThan(60_000);
        expect((await status(g!.id)).status).toBe("active");
        // The next-expiry timer is armed from the database's own expires_at - now().
        expect(scheduler.timerArmedFor).toBeGreaterThan(0);
        expect(scheduler.timerArmedFor).toBeLessThanOrEqual(3005);
        await waitFor("the revoke", async () => (await status(g!.id)).status === "revoked");
        const row = await status(g!.id);
        expect(row.revoked_at!.getTime()).toBeGreaterThanOrEqual(row.expires_at.getTime());
        await waitFor("the sweep report", async () => (scheduler.lastSweep?.revoked.length ?? 0) > 0);
        expect(scheduler.lastSweep!.revoked.map((x) => x.requestId)).toEqual([g!.id]);
        expect(await revokeEvents(g!.id)).toBe(1);
      } finally {
        await scheduler.stop();
      }
    });
  }
});

describe("jit expire and jit reconcile", () => {
  it("jit expire (text): revokes what is due, reports the lag, leaves revert PRs to the app; exit 0", async () => {
    const [g1, g2] = await grantMany(2, "cli");
    await expireIn([g1!.id], [-90_000]);
    await expireIn([g2!.id], [3_600_000]);
    const io = captureIo({ DATABASE_URL: stateUrl(), [ENV_NAME]: f.appUrl(), USER: "tester" }, repoDir);
    expect(await runExpire([], io), io.stderr.join("\n")).toBe(0);
    const out = io.stdout.join("\n");
    expect(out).toMatch(/1 due, 1 revoked, 0 already closed, 0 failed, 1 revert PR\(s\) queued/);
    expect(out).toContain(`revoked ${DB_KEY}/${g1!.id}: orders_readonly from ${g1!.user}`);
    expect(out).toContain("revert PRs are opened by the app");
    expect((await status(g1!.id)).status).toBe("revoked");
    expect((await status(g2!.id)).status).toBe("active");
    // Nothing secret is printed: not the connection string, not its variable's value.
    expect(out + io.stderr.join("\n")).not.toContain(f.appUrl());
    const { rows } = await f.stateSu.query("SELECT revoked_by FROM ledger WHERE request_id = $1", [g1!.id]);
    expect(rows[0].revoked_by).toBe("cli:expire:tester");
    const { rows: sw } = await f.stateSu.query("SELECT last_success_at FROM sweeps WHERE sweeper = 'cli'");
    expect(sw[0].last_success_at).toBeInstanceOf(Date);
  });

  it("jit expire refuses to run without DATABASE_URL (exit 2) instead of sweeping an empty database", async () => {
    const io = captureIo({ [ENV_NAME]: f.appUrl() }, repoDir);
    expect(await runExpire([], io)).toBe(2);
    expect(io.stderr.join("\n")).toContain("JIT_CONFIG_MISSING_ENV");
  });

  it("jit expire --repository serves one repository's grants only", async () => {
    const [g] = await grantMany(1, "cli-other");
    await expireIn([g!.id], [-1000]);
    const io = captureIo({ DATABASE_URL: stateUrl(), [ENV_NAME]: f.appUrl(), GITHUB_REPOSITORY: "acme/other", GITHUB_RUN_ID: "77" }, repoDir);
    expect(await runExpire(["--format", "json"], io)).toBe(1);
    const r = JSON.parse(io.stdout.join("\n")) as SweepReport;
    expect(r.revoked).toEqual([]);
    expect(r.failed).toEqual([expect.objectContaining({ requestId: g!.id, code: "JIT_POLICY_UNAVAILABLE" })]);
    expect((await status(g!.id)).status).toBe("active");
    const io2 = captureIo({ DATABASE_URL: stateUrl(), [ENV_NAME]: f.appUrl(), GITHUB_REPOSITORY: "acme/access", GITHUB_RUN_ID: "78" }, repoDir);
    expect(await runExpire([], io2)).toBe(0);
    expect((await status(g!.id)).status).toBe("revoked");
    const { rows } = await f.stateSu.query("SELECT revoked_by FROM ledger WHERE request_id = $1", [g!.id]);
    expect(rows[0].revoked_by).toBe("cli:expire:actions-run-78");
  });

  it("jit reconcile: an app grant without a ledger row is revoked (JIT_DRIFT_ORPHAN_GRANT), standing access reported; exit 1", async () => {
    await clearActive();
    const [g] = await grantMany(1, "drift");
    const s = await f.login(g!.user);
    await s.query("SELECT 1");
    await f.stateSu.query("DELETE FROM ledger WHERE request_id = $1", [g!.id]); // the ledger row deleted by hand
    await f.su.query(`GRANT orders_admin TO ${USERS[5]}`); // a DBA's standing grant, not listed in the policy
    try {
      const io = captureIo({ DATABASE_URL: stateUrl(), [ENV_NAME]: f.appUrl(), USER: "tester" }, repoDir);
      expect(await runReconcile([], io), io.stderr.join("\n")).toBe(1);
      const out = io.stdout.join("\n");
      expect(out).toContain(`JIT_DRIFT_ORPHAN_GRANT ${DB_KEY}: "orders_readonly" held by "${g!.user}" through the app without an active grant: revoked, 1 session(s) ended`);
      expect(out).toContain(`JIT_STANDING_ACCESS ${DB_KEY}: "${USERS[5]}" holds "orders_admin"`);
      expect(await f.appGranted()).toEqual([]);
      expect(await sessionsOf(g!.user)).toBe(0);
      // I7: the DBA's grant is reported, never touched.
      const { rows } = await f.su.query("SELECT 1 FROM pg_auth_members WHERE roleid = 'orders_admin'::regrole AND member = $1::regrole", [USERS[5]]);
      expect(rows).toHaveLength(1);

      const json = captureIo({ DATABASE_URL: stateUrl(), [ENV_NAME]: f.appUrl() }, repoDir);
      expect(await runReconcile(["--format", "json"], json)).toBe(1);
      const report = JSON.parse(json.stdout.join("\n"));
      expect(report.orphans).toEqual([]);
      expect(report.standing).toEqual([expect.objectContaining({ role: "orders_admin", member: USERS[5] })]);
    } finally {
      await f.su.query(`REVOKE orders_admin FROM ${USERS[5]}`);
    }
  });

  it("case 40 on the sweep path: a manual GRANT made with the app's credentials is revoked by the next scheduled sweep and alerted", async () => {
    await clearActive();
    const app = await cluster.connect(APP, "orders");
    try {
      if (f.major < 16) await app.query(`GRANT orders_readonly TO ${USERS[6]}`);
      else await app.query(`GRANT orders_readonly TO ${USERS[6]} WITH INHERIT TRUE, SET FALSE`);
    } finally {
      await app.end();
    }
    expect(await f.appGranted()).toEqual([expect.objectContaining({ member: USERS[6] })]);
    const errors: { code?: string }[] = [];
    const scheduler = startScheduler({
      state: f.state, engines: { engine: () => f.engine }, policies: new StaticPolicySource(f.policy, null), leader: LeaderLock.forPool(f.state, 4001),
      log: { info: () => {}, warn: () => {}, error: (o) => errors.push(o as { code?: string }) },
    });
    try {
      const first = await scheduler.ready;
      expect(first.sweep!.reconcile!.orphans).toEqual([expect.objectContaining({ role: "orders_readonly", member: USERS[6], revoked: true })]);
      expect(await f.appGranted()).toEqual([]);
      expect(errors.filter((e) => e.code === "JIT_DRIFT_ORPHAN_GRANT")).toHaveLength(1);
      const { rows } = await f.stateSu.query("SELECT code FROM events WHERE kind = 'drift_orphan_revoked' AND details->>'member' = $1", [USERS[6]]);
      expect(rows).toEqual([{ code: "JIT_DRIFT_ORPHAN_GRANT" }]);
      // The timer-driven sweeps between periodic ticks do not reconcile; the next full one finds nothing.
      expect((await scheduler.runOnce()).sweep!.reconcile!.orphans).toEqual([]);
    } finally {
      await scheduler.stop();
    }
  });
});

describe("health", () => {
  it("reports the last successful sweep and overdue grants; JIT_REVOKE_OVERDUE and JIT_SWEEP_STALE alert once", async () => {
    const [g] = await grantMany(1, "health");
    await expireIn([g!.id], [-5 * 60_000]);
    await f.stateSu.query("UPDATE sweeps SET last_success_at = now() - interval '20 minutes'");
    const h = await readHealth(f.state, { staleAfterMs: 5 * 60_000, overdueAfterMs: 60_000 });
    expect(h.status).toBe("degraded");
    expect(h.problems.map((p) => p.code).sort()).toEqual(["JIT_REVOKE_OVERDUE", "JIT_SWEEP_STALE"]);
    expect(h.overdue.count).toBe(1);
    expect(h.overdue.beyondThreshold).toEqual([expect.objectContaining({ requestId: g!.id, database: DB_KEY })]);
    expect(h.overdue.beyondThreshold[0]!.overdueMs).toBeGreaterThanOrEqual(5 * 60_000);
    expect(h.lastSweep.ageMs).toBeGreaterThanOrEqual(20 * 60_000);

    const logged: { code: string }[] = [];
    const alerter = createAlerter({ state: f.state, log: { info: () => {}, warn: () => {}, error: (o) => logged.push(o as { code: string }) } });
    await alertOnHealth(h, f.state, alerter);
    await alertOnHealth(h, f.state, alerter); // a second replica, or the next tick: nothing new
    expect(logged.map((l) => l.code).sort()).toEqual(["JIT_REVOKE_OVERDUE", "JIT_SWEEP_STALE"]);

    // A sweep fixes both.
    const r = await sweep(deps(), {});
    expect(r.revoked.map((x) => x.requestId)).toEqual([g!.id]);
    await f.stateSu.query("UPDATE sweeps SET last_success_at = now()");
    const after = await readHealth(f.state, { staleAfterMs: 5 * 60_000, overdueAfterMs: 60_000 });
    expect(after.status).toBe("ok");
    expect(after.overdue).toMatchObject({ count: 0, beyondThreshold: [] });
  });

  it("GET /health answers JSON: 200 when ok, 503 when degraded", async () => {
    await clearActive();
    await f.stateSu.query("UPDATE sweeps SET last_success_at = now()");
    const scheduler = startScheduler({ state: f.state, engines: { engine: () => f.engine }, policies: new StaticPolicySource(f.policy, null), log: quiet, leader: LeaderLock.forPool(f.state, 4601) });
    const { createServer } = await import("node:http");
    const server = createServer((req, res) => (req.url === "/health" ? scheduler.healthHandler(req, res) : res.writeHead(404).end()));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      await scheduler.ready;
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/health`;
      const ok = await fetch(url);
      expect(ok.status).toBe(200);
      const body = await ok.json() as { status: string; lastSweep: { at: string }; overdue: { count: number }; leader: boolean };
      expect(body).toMatchObject({ status: "ok", overdue: { count: 0 }, leader: true });
      expect(Date.parse(body.lastSweep.at)).not.toBeNaN();
      await f.stateSu.query("UPDATE sweeps SET last_success_at = now() - interval '1 hour'");
      const stale = await fetch(url);
      expect(stale.status).toBe(503);
      expect(((await stale.json()) as { problems: { code: string }[] }).problems.map((p) => p.code)).toEqual(["JIT_SWEEP_STALE"]);
    } finally {
      server.close();
      await scheduler.stop();
    }
  });
});
