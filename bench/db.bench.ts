// Benchmark (not a test) of the grant engine on a real PostgreSQL (harness cluster, loopback):
//   1. grant():  p50/p99 over 1 000 requests (preflight, GRANT, verify, ledger)
//   2. revoke(): p50/p99 over the same 1 000 grants, each grantee holding a live session to end
//   3. the due-grants query among 1 000 000 historical and 10 000 active ledger rows, with its plan
// Goals: revoke p99 < 50 ms; due query < 5 ms whatever the history size.
// Run: npm run bench:db  (JIT_TEST_PG_MAJOR=17 for PostgreSQL 17)
import pg from "pg";
import { DUE_SQL, findDue } from "../src/db/ledger.ts";
import { startPostgres, type PgMajor } from "../test/harness/postgres.ts";
import { setupGrantFixture, STATE_DB, TARGET_DB } from "../test/harness/grant-fixture.ts";

const REQUESTS = 1_000;
const HISTORY = 1_000_000;
const ACTIVE = 10_000;
const DUE_RUNS = 500;

function pct(samples: number[], p: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}
const fmt = (ms: number) => `${ms.toFixed(2)} ms`;
const line = (name: string, samples: number[]) =>
  console.log(`${name.padEnd(34)} n=${samples.length}  p50 ${fmt(pct(samples, 50)).padStart(9)}  p99 ${fmt(pct(samples, 99)).padStart(9)}  max ${fmt(Math.max(...samples)).padStart(9)}`);

const major = (process.env.JIT_TEST_PG_MAJOR ?? "15") as PgMajor;
const cluster = await startPostgres({ major });
const users = Array.from({ length: REQUESTS }, (_, i) => `bench_u${String(i).padStart(4, "0")}`);
const f = await setupGrantFixture(cluster, { logins: [] });
try {
  await f.su.query(`DO $$ BEGIN FOR i IN 0..${REQUESTS - 1} LOOP EXECUTE format('CREATE ROLE %I LOGIN', 'bench_u' || lpad(i::text, 4, '0')); END LOOP; END $$`);
  console.log(`PostgreSQL ${major} on 127.0.0.1:${cluster.port}; ${REQUESTS} grants and revokes, one at a time`);

  // Warm-up (connections, catalog caches), not measured.
  for (let i = 0; i < 20; i++) {
    const d = await f.engine.grant(f.input(`warm-${i}`, { dbUser: users[i]! }));
    if (!d.ok) throw new Error(d.message);
    await f.engine.revoke({ repository: "acme/access", database: "orders-prod", requestId: `warm-${i}` }, { reason: "warm-up", actor: "bench" });
  }

  const grantMs: number[] = [];
  for (const [i, user] of users.entries()) {
    const t = performance.now();
    const d = await f.engine.grant(f.input(`req-${i}`, { dbUser: user }));
    grantMs.push(performance.now() - t);
    if (!d.ok) throw new Error(`grant ${i}: ${d.code} ${d.message}`);
  }

  const revokeMs: number[] = [];
  let ended = 0;
  for (const [i, user] of users.entries()) {
    const session = new pg.Client({ host: "127.0.0.1", port: cluster.port, user, database: TARGET_DB });
    session.on("error", () => {});
    await session.connect();
    await session.query("SELECT count(*) FROM orders");
    const t = performance.now();
    const d = await f.engine.revoke({ repository: "acme/access", database: "orders-prod", requestId: `req-${i}` }, { reason: "expired", actor: "bench" });
    revokeMs.push(performance.now() - t);
    if (!d.ok) throw new Error(`revoke ${i}: ${d.code} ${d.message}`);
    ended += d.details.applied?.sessionsEnded ?? 0;
    await session.end().catch(() => {});
  }
  line("grant (preflight+GRANT+ledger)", grantMs);
  line("revoke (REVOKE+end session+verify)", revokeMs);
  console.log(`sessions ended by the revokes: ${ended}/${REQUESTS}`);

  // The due-grants query among a large history.
  await f.stateSu.query(`
    INSERT INTO ledger (repository, path, request_id, database, cluster_id, role, db_user, duration_ms, status, created_at,
                        granted_at, expires_at, revoked_at, revoke_reason, actor)
    SELECT 'acme/access', 'access-requests/orders-prod/h-' || g || '.yaml', 'h-' || g, 'orders-prod', 'c', 'orders_readonly', 'u' || (g % 5000),
           3600000, 'revoked', t, t, t + interval '1 hour', t + interval '1 hour', 'expired', 'bench'
      FROM generate_series(1, ${HISTORY}) g, LATERAL (SELECT now() - interval '2 years' + g * interval '1 minute' AS t) x`);
  await f.stateSu.query(`
    INSERT INTO ledger (repository, path, request_id, database, cluster_id, role, db_user, duration_ms, status, granted_at, expires_at, actor)
    SELECT 'acme/access', 'access-requests/orders-prod/a-' || g || '.yaml', 'a-' || g, 'orders-prod', 'c', 'orders_readonly', 'a' || g,
           3600000, 'active', now() - interval '1 hour', now() - interval '5 minutes' + (g * interval '1 second'), 'bench'
      FROM generate_series(1, ${ACTIVE}) g`);
  await f.stateSu.query("VACUUM ANALYZE ledger");
  const counts = (await f.stateSu.query("SELECT status, count(*)::int AS n FROM ledger GROUP BY 1 ORDER BY 1")).rows;
  console.log(`ledger rows: ${counts.map((r) => `${r.status} ${r.n}`).join(", ")}  (about 300 of the active rows are due)`);

  const dueMs: number[] = [];
  let found = 0;
  for (let i = 0; i < DUE_RUNS; i++) {
    const t = performance.now();
    found = (await findDue(f.state, 100)).length;
    dueMs.push(performance.now() - t);
  }
  line(`findDue(100) round trip`, dueMs);
  console.log(`rows returned per call: ${found}`);
  const plan = await f.stateSu.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${DUE_SQL.replace("$1", "100")}`);
  console.log("EXPLAIN ANALYZE of the due query:");
  for (const r of plan.rows) console.log(`  ${r["QUERY PLAN"]}`);
  const usesIndex = plan.rows.some((r) => /Index Scan using ledger_due/.test(r["QUERY PLAN"]));

  console.log("");
  console.log(`goal revoke p99 < 50 ms: ${fmt(pct(revokeMs, 99))} ${pct(revokeMs, 99) < 50 ? "MET" : "MISSED"}`);
  console.log(`goal due query < 5 ms:   p99 ${fmt(pct(dueMs, 99))} ${pct(dueMs, 99) < 5 ? "MET" : "MISSED"}; index used: ${usesIndex ? "yes (ledger_due)" : "NO"}`);
  console.log(`(state database: ${STATE_DB} on the same cluster)`);
} finally {
  await f.close();
  await cluster.stop();
}
