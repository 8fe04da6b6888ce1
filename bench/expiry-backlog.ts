// The backlog case of `npm run bench:expiry -- --backlog N` (issue 16): N overdue grants spread over
// 20 roles on 2 target clusters, N/5 of them with a live session that has used the role, plus grants
// expiring during the catch-up. The app "starts" (scheduler, engine registry, leader lock) and its
// first sweep catches up. Reported: time from start to the last verified revoke of the backlog,
// revokes per second, sessions ended, what is left in the catalogs, and the lag of the grants that
// expired during the catch-up. Setup (roles, GRANTs, ledger rows as the grant path records them) is
// done in bulk and not measured.
import pg from "pg";
import { buildGrantPlan } from "../src/core/sql.ts";
import type { Policy } from "../src/core/types.ts";
import { LeaderLock } from "../src/scheduler/leader.ts";
import { StaticPolicySource } from "../src/scheduler/policy-source.ts";
import { startScheduler } from "../src/scheduler/scheduler.ts";
import { EngineRegistry } from "../src/usecases/engines.ts";
import { APP, appRoleSql, DB_KEY, ENV_NAME, grantableRoleSql, makePolicy, setupGrantFixture, TARGET_DB } from "../test/harness/grant-fixture.ts";
import { startPostgres, type PgMajor, type TestCluster } from "../test/harness/postgres.ts";

const ROLES_PER_CLUSTER = 10;
const LIVE = 200;
const LIVE_SPREAD_MS = 5_000;

function pct(samples: number[], p: number): number {
  const s = [...samples].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}

export async function backlogBench(n: number): Promise<void> {
  const major = (process.env.JIT_TEST_PG_MAJOR ?? "15") as PgMajor;
  const settings = { max_connections: "1400" };
  const [a, b] = await Promise.all([startPostgres({ major, settings }), startPostgres({ major, settings })]);
  const roles = Array.from({ length: ROLES_PER_CLUSTER }, (_, i) => `bl_role${String(i).padStart(2, "0")}`);
  const f = await setupGrantFixture(a, { roles, logins: [] });
  const adminB = await b.connect();
  await adminB.query(`CREATE DATABASE ${TARGET_DB}`);
  await adminB.end();
  const suB = await b.connect("postgres", TARGET_DB);
  const sessions: pg.Client[] = [];
  const clusters: { key: string; env: string; cluster: TestCluster; su: pg.Client; prefix: string }[] = [
    { key: DB_KEY, env: ENV_NAME, cluster: a, su: f.su, prefix: "bl_a" },
    { key: "orders-eu", env: "ORDERS_EU_DATABASE_URL", cluster: b, su: suB, prefix: "bl_b" },
  ];
  let registry: EngineRegistry | undefined;
  try {
    await suB.query("CREATE TABLE public.orders (id int PRIMARY KEY, total numeric NOT NULL)");
    await suB.query("INSERT INTO public.orders SELECT g, g * 1.5 FROM generate_series(1, 5000) g");
    for (const r of roles) for (const s of grantableRoleSql(r)) await suB.query(s);
    for (const s of appRoleSql(f.major, APP, roles)) await suB.query(s);
    const version = (await f.su.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
    console.log(`backlog: PostgreSQL ${version}, 2 target clusters, ${roles.length * 2} roles, ${n} overdue grants (${n / 5} with a live session), ${LIVE} expiring during the catch-up`);

    const base = makePolicy(roles).databases[DB_KEY]!;
    const policy: Policy = { databases: Object.fromEntries(clusters.map((c) => [c.key, { ...base, connectionEnv: c.env }])), identities: {} };
    const env = Object.fromEntries(clusters.map((c) => [c.env, `postgresql://${APP}@127.0.0.1:${c.cluster.port}/${TARGET_DB}`]));

    // --- setup: logins, GRANTs by the app role, ledger rows as the grant path writes them -----------
    const tSetup = performance.now();
    const perCluster = n / 2 + LIVE / 2;
    for (const c of clusters) {
      await c.su.query(`DO $$ BEGIN FOR i IN 0..${perCluster - 1} LOOP EXECUTE format('CREATE ROLE %I LOGIN', '${c.prefix}' || lpad(i::text, 5, '0')); END LOOP; END $$`);
      const app = await c.cluster.connect(APP, TARGET_DB);
      const users = Array.from({ length: perCluster }, (_, i) => `${c.prefix}${String(i).padStart(5, "0")}`);
      for (const [k, role] of roles.entries()) {
        const mine = users.filter((_, i) => i % roles.length === k);
        for (let i = 0; i < mine.length; i += 500) {
          const text = buildGrantPlan({ role, dbUser: mine[i]!, appRole: APP, pgMajor: f.major })[0]!.text.replace(`"${mine[i]}"`, mine.slice(i, i + 500).map((u) => `"${u}"`).join(", "));
          await app.query(text);
        }
      }
      await app.end();
      const { rows: [ids] } = await c.su.query<{ cluster: string; app: string }>(
        "SELECT (SELECT system_identifier::text FROM pg_control_system()) AS cluster, (SELECT oid::text FROM pg_roles WHERE rolname = $1) AS app", [APP]);
      await f.stateSu.query("INSERT INTO app_grantors (cluster_id, grantor_oid, grantor_role) VALUES ($1, $2::bigint, $3) ON CONFLICT DO NOTHING", [ids!.cluster, ids!.app, APP]);
      const { rows: oids } = await c.su.query<{ u: string; r: string; uo: string; ro: string }>(`
        SELECT m.rolname AS u, r.rolname AS r, m.oid::text AS uo, r.oid::text AS ro FROM pg_auth_members am
          JOIN pg_roles m ON m.oid = am.member JOIN pg_roles r ON r.oid = am.roleid WHERE m.rolname LIKE '${c.prefix}%' ORDER BY 1`);
      // Backlog rows: overdue by up to an hour, in random order; the first LIVE/2 users' grants expire during the catch-up instead.
      await f.stateSu.query(`
        INSERT INTO ledger (repository, path, request_id, pr_number, database, cluster_id, role, db_user, duration_ms, status, granted_at, expires_at, actor,
                            connection_env, grantor_role, grantor_oid, role_oid, member_oid)
        SELECT 'acme/access', 'access-requests/' || $1 || '/' || u || '.yaml', 'bl-' || u, 1, $1, $2, r, u, 3600000, 'active', now() - interval '2 hours',
               CASE WHEN ord <= $8 THEN 'infinity'::timestamptz ELSE now() - random() * interval '1 hour' END, 'bench', $3, $4, $5::bigint, ro::bigint, uo::bigint
          FROM unnest($6::text[], $7::text[], $9::text[], $10::text[]) WITH ORDINALITY AS x(u, r, uo, ro, ord)`,
      [c.key, ids!.cluster, c.env, APP, ids!.app, oids.map((o) => o.u), oids.map((o) => o.r), LIVE / 2, oids.map((o) => o.uo), oids.map((o) => o.ro)]);
      // Live sessions: n/10 per cluster, each of which has read through its grant.
      const live = oids.slice(LIVE / 2, LIVE / 2 + n / 10).map((o) => o.u);
      for (let i = 0; i < live.length; i += 100) sessions.push(...await Promise.all(live.slice(i, i + 100).map((u) => c.cluster.connect(u, TARGET_DB))));
    }
    await Promise.all(sessions.map((s) => s.query("SELECT count(*) FROM public.orders")));
    await f.stateSu.query("VACUUM ANALYZE ledger");
    console.log(`setup ${((performance.now() - tSetup) / 1000).toFixed(1)} s (not measured): ${sessions.length} grantee sessions open, each has read public.orders through its grant`);

    // --- the app starts: the live grants expire over the next 5 s by the database clock ---------------
    const { rows: [t0] } = await f.stateSu.query<{ t: Date }>(`
      WITH s AS (SELECT clock_timestamp() AS t),
           u AS (UPDATE ledger l SET expires_at = (SELECT t FROM s) + (x.k * $1 / $2) * interval '1 millisecond'
                   FROM (SELECT id, row_number() OVER (ORDER BY id) AS k FROM ledger WHERE expires_at = 'infinity') x WHERE x.id = l.id)
      SELECT t FROM s`, [LIVE_SPREAD_MS, LIVE]);
    const started = performance.now();
    registry = new EngineRegistry(f.state, env);
    const scheduler = startScheduler({
      state: f.state, engines: registry, policies: new StaticPolicySource(policy, null), leader: LeaderLock.forPool(f.state),
      log: { info: () => {}, warn: () => {}, error: (o: object, m: string) => console.error(m, JSON.stringify(o)) },
    });
    const deadline = performance.now() + 300_000;
    for (;;) {
      const { rows: [left] } = await f.stateSu.query<{ n: number }>("SELECT count(*)::int AS n FROM ledger WHERE status = 'active'");
      if (left!.n === 0) break;
      if (performance.now() > deadline) throw new Error(`${left!.n} grants still active after 300 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const wall = performance.now() - started;
    await scheduler.stop();

    const { rows: [r] } = await f.stateSu.query<{ last_ms: number; ended: number; events: number; reverts: number }>(`
      SELECT extract(epoch FROM max(revoked_at) FILTER (WHERE expires_at < $1) - $1) * 1000 AS last_ms, sum(sessions_ended)::int AS ended,
             (SELECT count(*)::int FROM events WHERE kind = 'revoked') AS events, (SELECT count(*)::int FROM outbox WHERE kind = 'revert_pr') AS reverts
        FROM ledger`, [t0!.t]);
    const { rows: lagRows } = await f.stateSu.query<{ lag: number }>(
      "SELECT extract(epoch FROM revoked_at - expires_at) * 1000 AS lag FROM ledger WHERE expires_at >= $1", [t0!.t]);
    const lags = lagRows.map((x) => Number(x.lag));
    let left = 0;
    let members = 0;
    for (const c of clusters) {
      left += (await c.su.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename LIKE '${c.prefix}%'`)).rows[0]!.n;
      members += (await c.su.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_auth_members WHERE grantor = $1::regrole", [APP])).rows[0]!.n;
    }
    const lastMs = Number(r!.last_ms);
    console.log(`time from start to the last verified revoke of the backlog: ${(lastMs / 1000).toFixed(2)} s (goal < 10 s: ${lastMs < 10_000 ? "met" : "NOT met"}); all ${n + LIVE} closed after ${(wall / 1000).toFixed(2)} s wall`);
    console.log(`revokes per second (backlog): ${Math.round(n / (lastMs / 1000))}`);
    console.log(`sessions ended ${r!.ended}/${n / 5}, grantee sessions left ${left}, app memberships left ${members}, 'revoked' events ${r!.events}, revert PRs queued ${r!.reverts}`);
    console.log(`lag of the ${LIVE} grants expiring during the catch-up: p50 ${pct(lags, 50).toFixed(0)} ms, p99 ${pct(lags, 99).toFixed(0)} ms, max ${Math.max(...lags).toFixed(0)} ms`);
  } finally {
    await Promise.all(sessions.map((s) => s.end().catch(() => {})));
    await registry?.close();
    await suB.end();
    await f.close();
    await Promise.all([a.stop(), b.stop()]);
  }
}
