// Benchmark (not a test) of expiry on a real PostgreSQL (loopback):
//   1. 1 000 grants expiring over 60 s, each grantee holding a live session; the in-app scheduler
//      (next-expiry timer + 30 s cron, leader lock, row claims) revokes them. Reported: p50/p99/max
//      lag from expires_at to the verified revoke (ledger revoked_at - expires_at, both by the
//      database clock). Goal: p99 < 2 s.
//   2. The cost of a sweep when nothing is due, among 1 000 000 historical ledger rows.
//      Goal: < 5 ms.
//   3. With `--backlog N` instead: N overdue grants on 2 clusters caught up at start (issue 16;
//      bench/expiry-backlog.ts). Goal: the last one revoked and verified within 10 s for N = 10 000.
// Run: npm run bench:expiry [-- --backlog N]  (JIT_TEST_PG_MAJOR=17 for PostgreSQL 17)
import pg from "pg";
import { backlogBench } from "./expiry-backlog.ts";
import { LeaderLock, NO_LEADER } from "../src/scheduler/leader.ts";
import { StaticPolicySource } from "../src/scheduler/policy-source.ts";
import { startScheduler } from "../src/scheduler/scheduler.ts";
import { CLAIM_DUE_SQL } from "../src/db/sweep-claims.ts";
import { sweep, type SweepDeps } from "../src/scheduler/sweep.ts";
import { DB_KEY, setupGrantFixture, TARGET_DB } from "../test/harness/grant-fixture.ts";
import { startPostgres, type PgMajor } from "../test/harness/postgres.ts";

const GRANTS = 1_000;
const SPREAD_MS = 60_000;
const LEAD_MS = 5_000;
const HISTORY = 1_000_000;
const IDLE_RUNS = 500;

function pct(samples: number[], p: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
const fmt = (ms: number) => `${ms.toFixed(2)} ms`;
const line = (name: string, samples: number[]) =>
  console.log(`${name.padEnd(44)} n=${samples.length}  p50 ${fmt(pct(samples, 50)).padStart(10)}  p99 ${fmt(pct(samples, 99)).padStart(10)}  max ${fmt(Math.max(...samples)).padStart(10)}`);
const quiet = { info: () => {}, warn: () => {}, error: (o: object, m: string) => console.error(m, JSON.stringify(o)) };

const backlogAt = process.argv.indexOf("--backlog");
if (backlogAt >= 0) {
  const n = Number(process.argv[backlogAt + 1] ?? "10000");
  if (!Number.isInteger(n) || n < 10 || n % 10 !== 0) throw new Error("--backlog N: N must be a multiple of 10");
  await backlogBench(n);
  process.exit(0);
}

const major = (process.env.JIT_TEST_PG_MAJOR ?? "15") as PgMajor;
const cluster = await startPostgres({ major, settings: { max_connections: "1400" } });
const f = await setupGrantFixture(cluster, { logins: [] });
const sessions: pg.Client[] = [];
try {
  const version = (await f.su.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
  console.log(`PostgreSQL ${version} on 127.0.0.1:${cluster.port} (max_connections 1400, fsync off)`);
  await f.su.query(`DO $$ BEGIN FOR i IN 0..${GRANTS - 1} LOOP EXECUTE format('CREATE ROLE %I LOGIN', 'exp_u' || lpad(i::text, 4, '0')); END LOOP; END $$`);
  const users = Array.from({ length: GRANTS }, (_, i) => `exp_u${String(i).padStart(4, "0")}`);

  // --- 1. lag from expiry to verified revoke -----------------------------------------------------
  const tGrant = performance.now();
  for (let i = 0; i < GRANTS; i += 8) {
    await Promise.all(users.slice(i, i + 8).map(async (user, k) => {
      const d = await f.engine.grant(f.input(`exp-${i + k}`, { dbUser: user }));
      if (!d.ok) throw new Error(`grant ${i + k}: ${d.code} ${d.message}`);
    }));
  }
  console.log(`granted ${GRANTS} requests in ${((performance.now() - tGrant) / 1000).toFixed(1)} s (setup, not measured)`);
  for (let i = 0; i < GRANTS; i += 50) {
    sessions.push(...await Promise.all(users.slice(i, i + 50).map((u) => cluster.connect(u, TARGET_DB))));
  }
  // Every grantee's session really uses the role before expiry.
  await Promise.all(sessions.map((s) => s.query("SELECT count(*) FROM public.orders")));
  console.log(`${sessions.length} grantee sessions open, each has read public.orders through its grant`);

  // Expiries spread evenly over 60 s, starting 5 s from now, by the database clock.
  await f.stateSu.query(`
    UPDATE ledger l SET expires_at = now() + $1 * interval '1 millisecond' + (s.n * $2 / $3) * interval '1 millisecond'
      FROM (SELECT id, row_number() OVER (ORDER BY request_id) - 1 AS n FROM ledger WHERE request_id LIKE 'exp-%') s
     WHERE s.id = l.id`, [LEAD_MS, SPREAD_MS, GRANTS]);

  const scheduler = startScheduler({
    state: f.state, engines: { engine: () => f.engine }, policies: new StaticPolicySource(f.policy, null), log: quiet, leader: LeaderLock.forPool(f.state),
  });
  await scheduler.ready;
  const deadline = performance.now() + LEAD_MS + SPREAD_MS + 120_000;
  for (;;) {
    const { rows } = await f.stateSu.query<{ n: number }>("SELECT count(*)::int AS n FROM ledger WHERE request_id LIKE 'exp-%' AND status = 'active'");
    if (rows[0]!.n === 0) break;
    if (performance.now() > deadline) throw new Error(`${rows[0]!.n} grants still active long after expiry`);
    await new Promise((r) => setTimeout(r, 500));
  }
  await scheduler.stop();

  const { rows: lagRows } = await f.stateSu.query<{ lag: number; sessions: number; reason: string }>(
    `SELECT extract(epoch FROM revoked_at - expires_at) * 1000 AS lag, sessions_ended AS sessions, revoke_reason AS reason
       FROM ledger WHERE request_id LIKE 'exp-%'`);
  const lags = lagRows.map((r) => Number(r.lag));
  const ended = lagRows.reduce((a, r) => a + r.sessions, 0);
  const { rows: [left] } = await f.su.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename LIKE 'exp\\_u%'");
  const memberships = (await f.appGranted()).length;
  const early = lags.filter((l) => l < 0).length;
  console.log(`\n1) ${GRANTS} grants expiring over ${SPREAD_MS / 1000} s, each with a live session (scheduler: timer + 30 s interval, parallel 4)`);
  line("lag expires_at -> verified revoke", lags);
  console.log(`   sessions ended ${ended}/${GRANTS}, grantee sessions left ${left!.n}, app memberships left ${memberships}, revoked before expiry ${early}, reasons ${[...new Set(lagRows.map((r) => r.reason))].join(",")}`);
  console.log(`   goal p99 < 2000 ms: ${pct(lags, 99) < 2000 ? "met" : "NOT met"}`);

  // --- 2. a sweep when nothing is due, among 1 000 000 historical rows ------------------------------
  const tHist = performance.now();
  await f.stateSu.query(`
    INSERT INTO ledger (repository, path, request_id, database, cluster_id, role, db_user, duration_ms, status, granted_at, expires_at, revoked_at,
                        revoke_reason, revoked_by, actor, created_at)
    SELECT 'acme/access', 'access-requests/${DB_KEY}/hist-' || g || '.yaml', 'hist-' || g, '${DB_KEY}', 'bench', 'orders_readonly', 'u' || (g % 5000),
           3600000, 'revoked', t, t + interval '1 hour', t + interval '1 hour 2 seconds', 'expired', 'bench', 'bench', t
      FROM generate_series(1, ${HISTORY}) g, LATERAL (SELECT now() - interval '400 days' + g * interval '30 seconds') AS x(t)`);
  // A few grants still active, expiring later: the index the sweep reads is not empty.
  await f.stateSu.query(`
    INSERT INTO ledger (repository, path, request_id, database, cluster_id, role, db_user, duration_ms, status, granted_at, expires_at, actor)
    SELECT 'acme/access', 'access-requests/${DB_KEY}/live-' || g || '.yaml', 'live-' || g, '${DB_KEY}', 'bench', 'orders_readonly', 'v' || g,
           86400000, 'active', now(), now() + interval '1 day' + g * interval '1 minute', 'bench' FROM generate_series(1, 100) g`);
  await f.stateSu.query("VACUUM ANALYZE ledger");
  const { rows: [count] } = await f.stateSu.query<{ n: number }>("SELECT count(*)::int AS n FROM ledger");
  console.log(`\n2) a sweep with nothing due: ${count!.n} ledger rows (${HISTORY} historical), loaded in ${((performance.now() - tHist) / 1000).toFixed(1)} s`);

  const deps: SweepDeps = { state: f.state, engines: { engine: () => f.engine }, policies: new StaticPolicySource(f.policy, null), actor: "bench", leadership: NO_LEADER };
  for (let i = 0; i < 50; i++) await sweep(deps);
  const idle: number[] = [];
  for (let i = 0; i < IDLE_RUNS; i++) {
    const t = performance.now();
    const r = await sweep(deps);
    idle.push(performance.now() - t);
    if (r.claimed !== 0) throw new Error("something was due");
  }
  line("sweep(), nothing due (client round trips)", idle);

  // The claim statement itself, as the server runs it.
  const client = await f.state.connect();
  const server: number[] = [];
  let plan = "";
  try {
    for (let i = 0; i < 200; i++) {
      await client.query("BEGIN");
      const { rows } = await client.query<{ "QUERY PLAN": string }>(`EXPLAIN (ANALYZE, TIMING OFF) ${CLAIM_DUE_SQL}`, [1000, [], new Date().toISOString()]);
      await client.query("COMMIT");
      const exec = rows.find((r) => r["QUERY PLAN"].startsWith("Execution Time"))!["QUERY PLAN"];
      server.push(Number(/([\d.]+) ms/.exec(exec)![1]));
      plan = rows.map((r) => r["QUERY PLAN"]).filter((l) => /Scan/.test(l)).map((l) => l.trim().replace(/\s+\(.*$/, "")).join(" / ");
    }
  } finally {
    client.release();
  }
  line("claim statement, server execution time", server);
  console.log(`   plan: ${plan}`);

  // What the scheduler's timer tick costs on top: leader re-check, sweep, record, re-arm.
  const leader = LeaderLock.forPool(f.state, 77);
  const sched = startScheduler({ state: f.state, engines: { engine: () => f.engine }, policies: new StaticPolicySource(f.policy, null), log: quiet, leader, config: { sweepIntervalMs: 0 } });
  await sched.ready;
  const ticks: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    await sched.runOnce("timer");
    ticks.push(performance.now() - t);
  }
  await sched.stop();
  line("scheduler timer tick, nothing due", ticks);
  console.log(`   goal < 5 ms for a sweep with nothing due: ${pct(idle, 99) < 5 ? "met (p99)" : pct(idle, 50) < 5 ? "met at p50, not at p99" : "NOT met"}`);
} finally {
  await Promise.all(sessions.map((s) => s.end().catch(() => {})));
  await f.close();
  await cluster.stop();
}
