// The in-database expiry backstop on PostgreSQL 15 with pg_cron (Debian's postgresql-15-cron):
// `jit backstop install` as the app role, the ledger mirrored into it, the real pg_cron job revoking
// an expired grant with the app role's rights only (I6), what the app did not grant left alone (I7,
// I8, I16), and the app's next sweep closing the rest (sessions, verification, ledger).
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run as backstop } from "../../src/cli/backstop.ts";
import { run as doctor } from "../../src/cli/doctor.ts";
import { captureIo } from "../../src/cli/io.ts";
import { BACKSTOP_INSTALL, backstopDbaSql } from "../../src/db/backstop-sql.ts";
import { activeGrantsOf, mirrorGrants, type BackstopConnection } from "../../src/db/backstop.ts";
import { mirrorBackstops } from "../../src/db/backstop-mirror.ts";
import { NO_LEADER } from "../../src/scheduler/leader.ts";
import { StaticPolicySource } from "../../src/scheduler/policy-source.ts";
import { sweep } from "../../src/scheduler/sweep.ts";
import { APP, DB_KEY, ENV_NAME, setupGrantFixture, type GrantFixture } from "../harness/grant-fixture.ts";
import { binDir, startPostgres, type TestCluster } from "../harness/postgres.ts";

// pg_cron is a server library: only a PostgreSQL 15 whose lib directory has it can load it.
const CRON_SO = "/usr/lib/postgresql/15/lib/pg_cron.so";
const hasPgCron = existsSync(CRON_SO) && (() => {
  try {
    return binDir("15") === "/usr/lib/postgresql/15/bin";
  } catch {
    return false;
  }
})();

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

const MAJOR = process.env.JIT_TEST_PG_MAJOR ?? "15";

// pg_cron ships for the system PostgreSQL 15 only: the cron job runs in the pg15 project; the
// other majors' projects run the revoke function itself on their own major (below).
if (MAJOR === "15") describe.skipIf(!hasPgCron)(`in-database backstop with pg_cron (needs ${CRON_SO}, Debian's postgresql-15-cron, which .ci/run installs; skipped without it)`, () => {
  let cluster: TestCluster;
  let f: GrantFixture;
  let repoDir: string;
  const cli = async (...argv: string[]) => {
    const io = captureIo({ ...f.env }, repoDir);
    const code = await backstop(argv, io);
    return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
  };
  const memberships = async () => (await f.su.query<{ role: string; member: string; grantor: string }>(`
    SELECT r.rolname AS role, m.rolname AS member, g.rolname AS grantor FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid
      JOIN pg_roles m ON m.oid = am.member JOIN pg_roles g ON g.oid = am.grantor WHERE r.rolname = 'orders_readonly' AND m.rolname <> $1 ORDER BY 2`, [APP])).rows;
  let cronSu: Awaited<ReturnType<TestCluster["connect"]>>;

  beforeAll(async () => {
    cluster = await startPostgres({
      major: "15",
      settings: { shared_preload_libraries: "pg_cron", "cron.database_name": "postgres", "cron.use_background_workers": "on", max_worker_processes: "16" },
    });
    f = await setupGrantFixture(cluster, { logins: ["alice", "bob", "carol"] });
    cronSu = await cluster.connect("postgres", "postgres");
    repoDir = mkdtempSync(join(tmpdir(), "jit-backstop-repo-"));
    mkdirSync(join(repoDir, "policies"));
    writeFileSync(join(repoDir, "policies/orders.yaml"), `databases:\n  ${DB_KEY}:\n    connection_env: ${ENV_NAME}\n    roles:\n      orders_readonly: { max_duration: 8h, approvals: 1, approvers: ["@acme/dba"] }\nidentities: {}\n`);
  }, 120_000);

  afterAll(async () => {
    await cronSu?.end();
    await f?.close();
    await cluster?.stop();
    if (repoDir) rmSync(repoDir, { recursive: true, force: true });
  });

  it("install without the DBA's one-time steps exits 1 and prints them; nothing is created", async () => {
    const r = await cli("install", DB_KEY);
    expect(r.code).toBe(1);
    expect(r.out).toContain("CREATE EXTENSION IF NOT EXISTS pg_cron;");
    expect(r.out).toContain(`CREATE SCHEMA IF NOT EXISTS jit_backstop AUTHORIZATION "${APP}";`);
    expect((await cronSu.query("SELECT 1 FROM pg_namespace WHERE nspname = 'jit_backstop'")).rows).toEqual([]);
    // jit doctor says what bounds the revoke lag without it.
    const io = captureIo({ ...f.env }, repoDir);
    await doctor([], io);
    expect(io.stdout.join("\n")).toMatch(/info expiry backstop: not installed .*the revoke lag is bounded by the schedule/);
  });

  it("install as the app role: a SECURITY DEFINER function owned by it with search_path pinned, a job every minute run as it, nothing for PUBLIC", async () => {
    for (const s of backstopDbaSql(APP, "postgres").filter((l) => !l.startsWith("--"))) await cronSu.query(s);
    const r = await cli("install", DB_KEY);
    expect(r, r.err).toMatchObject({ code: 0 });
    expect(r.out).toMatch(/installed in database "postgres", job active \(\* \* \* \* \*\)/);
    expect((await cli("install", DB_KEY)).code).toBe(0); // idempotent
    const { rows: jobs } = await cronSu.query("SELECT jobname, schedule, command, username, database FROM cron.job");
    expect(jobs).toEqual([{ jobname: "jit-backstop", schedule: "* * * * *", command: "SELECT jit_backstop.revoke_expired()", username: APP, database: "postgres" }]);
    const { rows: [fn] } = await cronSu.query(`SELECT p.prosecdef, pg_get_userbyid(p.proowner) AS owner, p.proconfig, p.proacl::text AS acl
      FROM pg_proc p WHERE p.oid = 'jit_backstop.revoke_expired()'::regprocedure`);
    expect(fn).toMatchObject({ prosecdef: true, owner: APP, proconfig: ["search_path=pg_catalog, pg_temp"] });
    expect(String(fn.acl)).not.toMatch(/(^|[{,])=X/); // no EXECUTE for PUBLIC
    // A grantee can neither run it nor write the table it reads.
    const alice = await cluster.connect("alice", "postgres");
    try {
      await expect(alice.query("SELECT jit_backstop.revoke_expired()")).rejects.toThrow(/permission denied/);
      await expect(alice.query("INSERT INTO jit_backstop.grants VALUES (1, 1, 1, 1, now())")).rejects.toThrow(/permission denied/);
    } finally {
      await alice.end();
    }
    expect((await cli("status", DB_KEY)).code).toBe(0);
    const io = captureIo({ ...f.env }, repoDir);
    await doctor([], io);
    expect(io.stdout.join("\n")).toMatch(/info expiry backstop: installed in database "postgres", job active .*revoke lag at most about a minute/);
  });

  it("I6: the pg_cron job revokes a grant past its mirrored expiry as the app role; the app's next sweep ends the SET ROLE session and closes the ledger", async () => {
    const granted = await f.engine.grant(f.input("alice-bs-1"));
    expect(granted.ok, JSON.stringify(granted.problems)).toBe(true);
    const m1 = await mirrorBackstops(f.state, f.env, quiet);
    expect(m1).toEqual([expect.objectContaining({ mirrored: 1 })]);
    const session = await cluster.connect("alice", "orders");
    await session.query("SET ROLE orders_readonly");
    await session.query("SELECT count(*) FROM public.orders");

    // Expired by the database clock; the mirror carries the new expiry (level-triggered, as for an extension).
    await f.stateSu.query("UPDATE ledger SET expires_at = now() - interval '1 second' WHERE request_id = 'alice-bs-1'");
    await mirrorBackstops(f.state, f.env, quiet);
    // The real job: pg_cron fires on the minute; poll (bounded) for its outcome.
    let row: { outcome: string | null; revoked_at: Date | null } | undefined;
    for (let i = 0; i < 90 && !row?.revoked_at; i++) {
      row = (await cronSu.query("SELECT outcome, revoked_at FROM jit_backstop.grants")).rows[0];
      if (!row?.revoked_at) await new Promise((r) => setTimeout(r, 1000));
    }
    expect(row).toMatchObject({ outcome: "revoked" });
    expect(await memberships()).toEqual([]);
    const { rows: runs } = await cronSu.query("SELECT d.status, d.username FROM cron.job_run_details d JOIN cron.job j USING (jobid) WHERE j.jobname = 'jit-backstop' AND d.status = 'succeeded' LIMIT 1");
    expect(runs).toEqual([{ status: "succeeded", username: APP }]);
    // PG15: the app role does not inherit pg_signal_backend, so the SET ROLE session is still alive...
    await expect(session.query("SELECT 1")).resolves.toBeTruthy();
    // ...until the app's sweep: it ends the session, verifies, and closes the ledger row.
    const report = await sweep({ state: f.state, engines: { engine: () => f.engine }, policies: new StaticPolicySource(f.policy, null), actor: "test:sweeper", leadership: NO_LEADER });
    expect(report.failed).toEqual([]);
    expect(report.revoked).toEqual([expect.objectContaining({ requestId: "alice-bs-1", sessionsEnded: 1 })]);
    await expect(session.query("SELECT 1")).rejects.toThrow();
    expect((await f.stateSu.query("SELECT status FROM ledger WHERE request_id = 'alice-bs-1'")).rows).toEqual([{ status: "revoked" }]);
    // The closed grant leaves the backstop table at the next mirror.
    await mirrorBackstops(f.state, f.env, quiet);
    expect((await cronSu.query("SELECT count(*)::int AS n FROM jit_backstop.grants")).rows[0].n).toBe(0);
  }, 150_000);

  it("I7, I8: a membership the app did not grant is never revoked, even under a row naming it", async () => {
    await f.su.query("GRANT orders_readonly TO bob"); // the DBA's standing grant (grantor: the superuser)
    const { rows: [ids] } = await f.su.query("SELECT 'orders_readonly'::regrole::oid AS r, 'bob'::regrole::oid AS m, $1::regrole::oid AS g", [APP]);
    await cronSu.query(`SET ROLE ${APP}`);
    await cronSu.query("INSERT INTO jit_backstop.grants (ledger_id, role_oid, member_oid, grantor_oid, expires_at) VALUES (900001, $1, $2, $3, now() - interval '1 minute')", [ids.r, ids.m, ids.g]);
    const { rows: [n] } = await cronSu.query("SELECT jit_backstop.revoke_expired() AS n");
    await cronSu.query("RESET ROLE");
    expect(n.n).toBe(0);
    expect((await cronSu.query("SELECT outcome FROM jit_backstop.grants WHERE ledger_id = 900001")).rows).toEqual([{ outcome: "absent" }]);
    expect(await memberships()).toEqual([expect.objectContaining({ member: "bob", grantor: "postgres" })]);
    await f.su.query("REVOKE orders_readonly FROM bob");
  });

  it("I16: an expired row never removes a membership another unexpired grant of the app holds", async () => {
    const granted = await f.engine.grant(f.input("carol-bs-2", { dbUser: "carol" }));
    expect(granted.ok).toBe(true);
    await mirrorBackstops(f.state, f.env, quiet);
    const { rows: [live] } = await cronSu.query("SELECT role_oid, member_oid, grantor_oid FROM jit_backstop.grants WHERE member_oid = 'carol'::regrole");
    await cronSu.query(`SET ROLE ${APP}`);
    await cronSu.query("INSERT INTO jit_backstop.grants (ledger_id, role_oid, member_oid, grantor_oid, expires_at) VALUES (900002, $1, $2, $3, now() - interval '1 minute')",
      [live.role_oid, live.member_oid, live.grantor_oid]);
    await cronSu.query("SELECT jit_backstop.revoke_expired()");
    await cronSu.query("RESET ROLE");
    expect((await cronSu.query("SELECT outcome FROM jit_backstop.grants WHERE ledger_id = 900002")).rows).toEqual([{ outcome: "held by another grant" }]);
    expect(await memberships()).toEqual([expect.objectContaining({ member: "carol", grantor: APP })]);
    await f.engine.revoke({ repository: "acme/access", database: DB_KEY, requestId: "carol-bs-2" }, { reason: "test cleanup", actor: "test" });
  });
});

// PG16+: one membership row per grantor, and the app role inherits pg_signal_backend, so the
// function also ends the grantee's sessions and a DBA's own row for the same membership survives.
if (MAJOR !== "15") describe(`backstop revoke function on PostgreSQL ${MAJOR} (called directly; pg_cron is tested on 15)`, () => {
  let cluster: TestCluster;
  let f: GrantFixture;
  let appClient: Awaited<ReturnType<TestCluster["connect"]>>;

  beforeAll(async () => {
    cluster = await startPostgres();
    f = await setupGrantFixture(cluster, { logins: ["alice"] });
    await f.su.query(`CREATE SCHEMA jit_backstop AUTHORIZATION ${APP}`);
    appClient = await cluster.connect(APP, "orders");
    // The install statements as the app role, without the pg_cron job.
    for (const text of BACKSTOP_INSTALL.filter((t) => !t.includes("cron.schedule"))) await appClient.query(text);
  }, 120_000);

  afterAll(async () => {
    await appClient?.end();
    await f?.close();
    await cluster?.stop();
  });

  it("I6, I7: revokes the app's expired membership GRANTED BY the app role, ends the SET ROLE session, and leaves the DBA's own grant of it", async () => {
    expect((await f.engine.grant(f.input("alice-bs-16"))).ok).toBe(true);
    await f.su.query("GRANT orders_readonly TO alice"); // a DBA's standing grant during the window: its own row on PG16+
    const session = await cluster.connect("alice", "orders");
    await session.query("SET ROLE orders_readonly");
    await f.stateSu.query("UPDATE ledger SET expires_at = now() - interval '1 second' WHERE request_id = 'alice-bs-16'");
    const { rows: [row] } = await f.stateSu.query("SELECT cluster_id FROM ledger WHERE request_id = 'alice-bs-16'");
    const c = { client: appClient as unknown as BackstopConnection["client"], cronDatabase: "orders", available: false, close: async () => {} };
    await mirrorGrants(c, await activeGrantsOf(f.state, row.cluster_id));
    const { rows: [n] } = await appClient.query("SELECT jit_backstop.revoke_expired() AS n");
    expect(n.n).toBe(1);
    expect((await appClient.query("SELECT outcome, sessions_ended FROM jit_backstop.grants")).rows).toEqual([{ outcome: "revoked", sessions_ended: 1 }]);
    await expect(session.query("SELECT 1")).rejects.toThrow();
    const { rows } = await f.su.query(`SELECT g.rolname AS grantor FROM pg_auth_members am JOIN pg_roles g ON g.oid = am.grantor
      WHERE am.roleid = 'orders_readonly'::regrole AND am.member = 'alice'::regrole`);
    expect(rows).toEqual([{ grantor: "postgres" }]);
  });
});
