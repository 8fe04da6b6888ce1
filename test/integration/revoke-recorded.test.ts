// I15: a revoke never depends on today's configuration. What it needs (cluster, grantor role and
// OID, member and role OIDs, connection variable name) is recorded at grant time; credential
// rotation, a renamed variable, an edited or deleted policy, a dropped grantor: the membership is
// removed, or the revoke fails loudly and never records "verified". Each test asserts the catalog.
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Policy } from "../../src/core/types.ts";
import { run as runDoctor } from "../../src/cli/doctor.ts";
import { run as runExpire } from "../../src/cli/expire.ts";
import { captureIo } from "../../src/cli/io.ts";
import { readHealth } from "../../src/scheduler/health.ts";
import { NO_LEADER } from "../../src/scheduler/leader.ts";
import { StaticPolicySource } from "../../src/scheduler/policy-source.ts";
import { sweep } from "../../src/scheduler/sweep.ts";
import { EngineRegistry } from "../../src/usecases/engines.ts";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";
import { appRoleSql, DB_KEY, ENV_NAME, eventsFor, ledgerRow, makePolicy, setupGrantFixture, STATE_DB, type GrantFixture } from "../harness/grant-fixture.ts";

const ROLES = ["orders_readonly", "orders_admin"];
const USERS = Array.from({ length: 12 }, (_, i) => `i15_u${String(i).padStart(2, "0")}`);
let cluster: TestCluster;
let f: GrantFixture;
let n = 0;

beforeAll(async () => {
  cluster = await startPostgres();
  f = await setupGrantFixture(cluster, { logins: USERS });
});
afterAll(async () => {
  await f?.close();
  await cluster?.stop();
});

/** A fresh app role set up as docs/database.md says, and an environment that connects as it. */
async function appRole(name: string): Promise<NodeJS.ProcessEnv> {
  for (const s of appRoleSql(f.major, name, ROLES)) await f.su.query(s);
  return { [ENV_NAME]: f.appUrl(name) };
}

/** Every membership row of (role, member) whoever granted it, as the catalog has it. */
async function rows(role: string, member: string): Promise<{ grantor: string | null; grantor_oid: string }[]> {
  const { rows: r } = await f.su.query<{ grantor: string | null; grantor_oid: string }>(`
    SELECT g.rolname AS grantor, am.grantor::text AS grantor_oid FROM pg_auth_members am
      LEFT JOIN pg_roles g ON g.oid = am.grantor
     WHERE am.roleid = (SELECT oid FROM pg_roles WHERE rolname = $1) AND am.member = (SELECT oid FROM pg_roles WHERE rolname = $2)`, [role, member]);
  return r;
}

async function sessionsOf(user: string): Promise<number> {
  const { rows: r } = await f.su.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1", [user]);
  return r[0]!.n;
}

/** Grants as `env`'s app role; returns the request id. */
async function grantAs(env: NodeJS.ProcessEnv, user: string, role = "orders_readonly"): Promise<string> {
  const id = `i15-${++n}`;
  const { engine } = f.newEngine({ env });
  const d = await engine.grant(f.input(id, { dbUser: user, role }));
  expect(d.ok, JSON.stringify(d.problems)).toBe(true);
  return id;
}

const key = (requestId: string) => ({ repository: "acme/access", database: DB_KEY, requestId });

describe("I15: what the revoke needs is recorded at grant time", () => {
  it("I15: the ledger records cluster, grantor role and OID, role and member OIDs, and the connection variable's name, never its value", async () => {
    const env = await appRole("i15_app_rec");
    const id = await grantAs(env, USERS[0]!);
    const row = (await ledgerRow(f, id))!;
    const { rows: [cat] } = await f.su.query(`SELECT (SELECT oid FROM pg_roles WHERE rolname = 'i15_app_rec')::text AS app, 'orders_readonly'::regrole::oid::text AS role,
      (SELECT oid FROM pg_roles WHERE rolname = $1)::text AS member, (SELECT system_identifier::text FROM pg_control_system()) AS cluster`, [USERS[0]]);
    expect(row).toMatchObject({ connection_env: ENV_NAME, grantor_role: "i15_app_rec", grantor_oid: cat.app, role_oid: cat.role, member_oid: cat.member, cluster_id: cat.cluster });
    expect(JSON.stringify(row)).not.toContain(env[ENV_NAME]!);
    const { rows: g } = await f.stateSu.query("SELECT grantor_role FROM app_grantors WHERE cluster_id = $1 AND grantor_oid = $2::bigint", [cat.cluster, cat.app]);
    expect(g).toEqual([{ grantor_role: "i15_app_rec" }]);
    await f.newEngine({ env }).engine.revoke(key(id), { reason: "test", actor: "test" });
    expect(await rows("orders_readonly", USERS[0]!)).toEqual([]);
  });
});

describe("I15: credential rotation to a new app role", () => {
  it("I15: after a rotation the revoke removes the former app role's membership and ends sessions (PG16+: through SET ROLE the operator allowed)", async () => {
    const old = await appRole("i15_app_old1");
    const user = USERS[1]!;
    const id = await grantAs(old, user);
    const s = await f.login(user);
    await s.query("SELECT count(*) FROM public.orders");
    const fresh = await appRole("i15_app_new1");
    if (f.major >= 16) await f.su.query("GRANT i15_app_old1 TO i15_app_new1 WITH INHERIT FALSE, SET TRUE");
    const d = await f.newEngine({ env: fresh }).engine.revoke(key(id), { reason: "test", actor: "test" });
    expect(d.ok, JSON.stringify(d.problems)).toBe(true);
    expect(d.details.applied).toMatchObject({ outcome: "revoked", verified: true, sessionsEnded: 1 });
    expect(await rows("orders_readonly", user)).toEqual([]);
    expect(await sessionsOf(user)).toBe(0);
    expect((await ledgerRow(f, id))!.status).toBe("revoked");
  });

  it("I15: a rotation the new role cannot act across fails loudly (PG16+: JIT_REVOKE_FORMER_GRANTOR, exit 1, health degraded), never 'verified'; jit doctor's fix SQL works", async () => {
    const old = await appRole("i15_app_old2");
    const user = USERS[2]!;
    const id = await grantAs(old, user);
    const fresh = await appRole("i15_app_new2");
    await f.stateSu.query("UPDATE ledger SET expires_at = now() - interval '10 minutes' WHERE request_id = $1", [id]);

    const repo = mkdtempSync(join(tmpdir(), "jit-i15-"));
    mkdirSync(join(repo, "policies"));
    writeFileSync(join(repo, "policies/orders.yaml"), [
      "databases:", `  ${DB_KEY}:`, `    connection_env: ${ENV_NAME}`, "    roles:",
      ...ROLES.map((r) => `      ${r}: { max_duration: 8h, approvals: 1, approvers: ["@acme/dba"] }`), "identities: {}", "",
    ].join("\n"));
    const env = { ...fresh, DATABASE_URL: cluster.superuserUrl(STATE_DB) };
    const expire = captureIo(env, repo);
    const code = await runExpire(["--repository", "acme/access", "--format", "json"], expire);

    if (f.major < 16) {
      // PG15 keeps one row per (role, member): the new role's plain REVOKE removes the former one's row.
      expect(code, expire.stderr.join("\n")).toBe(0);
      expect(await rows("orders_readonly", user)).toEqual([]);
      expect((await ledgerRow(f, id))!.status).toBe("revoked");
      return;
    }
    expect(code).toBe(1);
    const report = JSON.parse(expire.stdout.join("\n"));
    expect(report.failed).toEqual([expect.objectContaining({ requestId: id, code: "JIT_REVOKE_FORMER_GRANTOR" })]);
    expect(await rows("orders_readonly", user)).toEqual([expect.objectContaining({ grantor: "i15_app_old2" })]);
    const row = (await ledgerRow(f, id))!;
    expect(row.status).toBe("active");
    expect(row.revoked_at).toBeNull();
    expect((await eventsFor(f, id)).filter((e) => e.kind === "revoke_failed").map((e) => e.code)).toEqual(["JIT_REVOKE_FORMER_GRANTOR"]);
    const health = await readHealth(f.state, { staleAfterMs: 3_600_000, overdueAfterMs: 60_000, leader: () => true, uptimeMs: () => 1000 });
    expect(health.status).toBe("degraded");
    expect(health.problems.map((p) => p.code)).toContain("JIT_REVOKE_OVERDUE");

    const doctor = captureIo(env, repo);
    expect(await runDoctor(["--format", "json"], doctor), doctor.stderr.join("\n")).toBe(1);
    const found = JSON.parse(doctor.stdout.join("\n")).databases[0].formerGrants as { code: string; fix: string[] }[];
    const mine = found.filter((x) => x.fix[0]?.includes(`"${user}"`));
    expect(mine).toEqual([expect.objectContaining({ code: "JIT_FORMER_APP_GRANT" })]);
    expect(mine[0]!.fix[0]).toBe(`REVOKE "orders_readonly" FROM "${user}" GRANTED BY "i15_app_old2";`);
    // Safe to paste: it removes exactly the former role's row; the app then verifies and closes the grant.
    await f.su.query(mine[0]!.fix[0]!.replace(/;$/, ""));
    expect(await rows("orders_readonly", user)).toEqual([]);
    const again = captureIo(env, repo);
    expect(await runExpire(["--repository", "acme/access"], again), again.stdout.join("\n")).toBe(0);
    expect((await ledgerRow(f, id))!.status).toBe("revoked");
  });

  it("I15: a grantor dropped after rotation (possible on PG15 only) still has its membership revoked and verified by OIDs", async () => {
    const old = await appRole("i15_app_old3");
    const user = USERS[3]!;
    const id = await grantAs(old, user);
    const fresh = await appRole("i15_app_new3");
    if (f.major >= 16) {
      // PG16+ refuses to drop a role that granted memberships: the case cannot arise there.
      await expect(f.su.query("DROP ROLE i15_app_old3")).rejects.toThrow(/depend/);
      await f.su.query("GRANT i15_app_old3 TO i15_app_new3 WITH INHERIT FALSE, SET TRUE");
    } else {
      await f.su.query("DROP ROLE i15_app_old3");
      expect(await rows("orders_readonly", user)).toEqual([expect.objectContaining({ grantor: null })]);
    }
    const d = await f.newEngine({ env: fresh }).engine.revoke(key(id), { reason: "test", actor: "test" });
    expect(d.ok, JSON.stringify(d.problems)).toBe(true);
    expect(d.details.applied).toMatchObject({ outcome: "revoked", verified: true });
    expect(await rows("orders_readonly", user)).toEqual([]);
  });
});

describe("I15: renamed connection variables and edited policies", () => {
  it("I15: a renamed connection_env: the revoke connects through any configured variable that reaches the recorded cluster", async () => {
    const user = USERS[4]!;
    const id = await grantAs(f.env, user);
    const renamed: Policy = { databases: { "orders-primary": { ...makePolicy(ROLES).databases[DB_KEY]!, connectionEnv: "ORDERS_PRIMARY_URL" } }, identities: {} };
    const d = await f.newEngine({ policy: renamed, env: { ORDERS_PRIMARY_URL: f.appUrl() } }).engine.revoke(key(id), { reason: "test", actor: "test" });
    expect(d.ok, JSON.stringify(d.problems)).toBe(true);
    expect(await rows("orders_readonly", user)).toEqual([]);
  });

  it("I15: no configured variable reaches the recorded cluster: JIT_REVOKE_TARGET_UNAVAILABLE, the row stays active, nothing recorded as verified", async () => {
    const user = USERS[5]!;
    const id = await grantAs(f.env, user);
    // The recorded variable is unset and today's only variable reaches another cluster.
    await f.stateSu.query("UPDATE ledger SET connection_env = 'GONE_DATABASE_URL', cluster_id = 'another-cluster' WHERE request_id = $1", [id]);
    const d = await f.engine.revoke(key(id), { reason: "test", actor: "test" });
    expect(d.ok).toBe(false);
    expect(d.code).toBe("JIT_REVOKE_TARGET_UNAVAILABLE");
    expect(d.message).toContain("GONE_DATABASE_URL is not set");
    expect(d.message).toContain(`${ENV_NAME} reaches another cluster`);
    const row = (await ledgerRow(f, id))!;
    expect(row.status).toBe("active");
    expect(row.verification).not.toHaveProperty("revoke");
    expect((await eventsFor(f, id)).map((e) => e.code)).toContain("JIT_REVOKE_TARGET_UNAVAILABLE");
    expect(await rows("orders_readonly", user)).toHaveLength(1); // left for an operator, loudly
    await f.stateSu.query("UPDATE ledger SET connection_env = $2, cluster_id = (SELECT cluster_id FROM ledger WHERE request_id <> $1 LIMIT 1) WHERE request_id = $1", [id, ENV_NAME]);
    expect((await f.engine.revoke(key(id), { reason: "test", actor: "test" })).ok).toBe(true);
    expect(await rows("orders_readonly", user)).toEqual([]);
  });

  it("I15: the database key deleted from the policy, or the role removed from it, does not stop the expiry sweep", async () => {
    const a = await grantAs(f.env, USERS[6]!);
    const b = await grantAs(f.env, USERS[7]!, "orders_admin");
    await f.stateSu.query("UPDATE ledger SET expires_at = now() - interval '1 minute' WHERE request_id = ANY($1)", [[a, b]]);
    const registry = new EngineRegistry(f.state, f.env);
    try {
      // Today's policy: the key gone for one run, only the other role left for the other.
      const deleted = new StaticPolicySource({ databases: {}, identities: {} }, "acme/access");
      const r1 = await sweep({ state: f.state, engines: registry, policies: deleted, actor: "test", leadership: NO_LEADER });
      expect(r1.failed).toEqual([]);
      expect(r1.revoked.map((g) => g.requestId).sort()).toEqual([a, b].sort());
    } finally {
      await registry.close();
    }
    expect(await rows("orders_readonly", USERS[6]!)).toEqual([]);
    expect(await rows("orders_admin", USERS[7]!)).toEqual([]);
    const c = await grantAs(f.env, USERS[8]!, "orders_admin");
    await f.stateSu.query("UPDATE ledger SET expires_at = now() - interval '1 minute' WHERE request_id = $1", [c]);
    const registry2 = new EngineRegistry(f.state, f.env);
    try {
      const edited = new StaticPolicySource(makePolicy(["orders_readonly"]), "acme/access");
      const r2 = await sweep({ state: f.state, engines: registry2, policies: edited, actor: "test", leadership: NO_LEADER });
      expect(r2.revoked.map((g) => g.requestId)).toEqual([c]);
    } finally {
      await registry2.close();
    }
    expect(await rows("orders_admin", USERS[8]!)).toEqual([]);
  });

  it("I15: a login dropped and recreated under the same name is another person: the grant closes as user_missing and the new login's own membership stays", async () => {
    const user = USERS[9]!;
    const id = await grantAs(f.env, user);
    await f.su.query(`DROP ROLE ${user}`);
    await f.su.query(`CREATE ROLE ${user} LOGIN`);
    await f.su.query(`GRANT orders_readonly TO ${user}`); // a DBA's grant to the new person (I7: never the app's to take)
    const d = await f.engine.revoke(key(id), { reason: "test", actor: "test" });
    expect(d.ok, JSON.stringify(d.problems)).toBe(true);
    expect(d.details.applied?.outcome).toBe("user_missing");
    expect(await rows("orders_readonly", user)).toEqual([expect.objectContaining({ grantor: "postgres" })]);
  });
});
