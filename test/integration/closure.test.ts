// I14 on a real server of the major under test: purity covers every role a grantable role is a
// member of (transitively), and what a grantee changes about the role during a window is undone at
// revoke or reported, without making the role ungrantable for the next person.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run as doctor, type DatabaseReport } from "../../src/cli/doctor.ts";
import { captureIo } from "../../src/cli/io.ts";
import type { GrantEngine } from "../../src/db/grantor.ts";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";
import {
  APP, DB_KEY, ENV_NAME, eventsFor, grantableRoleSql, ledgerRow, makePolicy, setupGrantFixture, type GrantFixture,
} from "../harness/grant-fixture.ts";

let cluster: TestCluster;
let f: GrantFixture;
let engine: GrantEngine;
let repo: string;

// Each bundle is pure itself; the impurity sits on a role it reaches through memberships.
const CLOSURE = ["c_owner", "c_deep", "c_grantopt", "c_defacl", "c_admin", "c_create", "c_login", "c_noinherit"];
const BUNDLES = ["orders_readonly", "w_bundle", "w_bundle2", ...CLOSURE];

beforeAll(async () => {
  cluster = await startPostgres();
  f = await setupGrantFixture(cluster, { roles: ["orders_readonly", "w_bundle", "w_bundle2"], logins: ["alice", "bob", "carol", "dave"] });
  const su = f.su;
  const withAdmin = f.major >= 16 ? "WITH ADMIN TRUE, INHERIT FALSE, SET FALSE" : "WITH ADMIN OPTION";
  for (const r of CLOSURE) {
    for (const s of grantableRoleSql(r)) await su.query(s);
    await su.query(`GRANT ${r} TO ${APP} ${withAdmin}`);
  }
  await su.query("CREATE DATABASE archive");
  const archive = await cluster.connect("postgres", "archive");
  await archive.query("CREATE ROLE a_owner NOLOGIN");
  await archive.query("CREATE TABLE history (id int)");
  await archive.query("ALTER TABLE history OWNER TO a_owner");
  await archive.end();
  await su.query("GRANT a_owner TO c_owner");
  // Two levels: c_deep -> a_mid -> a_deep_owner, which owns a function here.
  await su.query("CREATE ROLE a_mid NOLOGIN");
  await su.query("CREATE ROLE a_deep_owner NOLOGIN");
  await su.query("GRANT a_deep_owner TO a_mid");
  await su.query("GRANT a_mid TO c_deep");
  await su.query("CREATE FUNCTION public.total_all() RETURNS numeric LANGUAGE sql AS 'SELECT sum(total) FROM public.orders'");
  await su.query("ALTER FUNCTION public.total_all() OWNER TO a_deep_owner");
  await su.query("CREATE ROLE a_grantopt NOLOGIN");
  await su.query("GRANT SELECT ON public.orders TO a_grantopt WITH GRANT OPTION");
  await su.query("GRANT a_grantopt TO c_grantopt");
  await su.query("CREATE ROLE a_defacl NOLOGIN");
  await su.query("ALTER DEFAULT PRIVILEGES FOR ROLE a_defacl IN SCHEMA public GRANT SELECT ON TABLES TO PUBLIC");
  await su.query("GRANT a_defacl TO c_defacl");
  await su.query("CREATE ROLE a_admin NOLOGIN");
  await su.query("GRANT orders_readonly TO a_admin WITH ADMIN OPTION");
  await su.query("GRANT a_admin TO c_admin");
  await su.query("CREATE ROLE a_create NOLOGIN");
  await su.query("CREATE SCHEMA scratch");
  await su.query("GRANT CREATE ON SCHEMA scratch TO a_create");
  await su.query("GRANT a_create TO c_create");
  await su.query("CREATE ROLE a_person LOGIN");
  await su.query("GRANT a_person TO c_login");
  // PG16+: an edge without INHERIT still leads somewhere (SET ROLE); PG15 has no such option.
  await su.query("CREATE ROLE a_noinherit NOLOGIN");
  await su.query("GRANT CREATE ON SCHEMA scratch TO a_noinherit");
  await su.query(f.major >= 16 ? "GRANT a_noinherit TO c_noinherit WITH INHERIT FALSE" : "GRANT a_noinherit TO c_noinherit");

  engine = f.newEngine({ policy: makePolicy(BUNDLES) }).engine;
  repo = mkdtempSync(join(tmpdir(), "jit-closure-"));
  mkdirSync(join(repo, "policies"));
  const lines = ["databases:", `  ${DB_KEY}:`, `    connection_env: ${ENV_NAME}`, "    roles:",
    ...BUNDLES.flatMap((r) => [`      ${r}:`, "        max_duration: 8h", "        approvals: 1", '        approvers: ["@acme/dba"]'])];
  writeFileSync(join(repo, "policies", "orders.yaml"), lines.join("\n") + "\n");
}, 120_000);

afterAll(async () => {
  if (repo) rmSync(repo, { recursive: true, force: true });
  await f?.close();
  await cluster?.stop();
});

async function runDoctor(): Promise<{ code: number; out: string; json: { databases: DatabaseReport[] } }> {
  const text = captureIo(f.env, repo);
  const code = await doctor(["--repo", repo], text);
  const json = captureIo(f.env, repo);
  await doctor(["--repo", repo, "--format", "json"], json);
  return { code, out: text.stdout.join("\n"), json: JSON.parse(json.stdout.join("\n")) };
}

describe("I14: purity covers the whole closure", () => {
  const cases: [string, RegExp][] = [
    ["c_owner", /role "a_owner" \(which "c_owner" is a member of\) owns 1 object\(s\) in database "archive"/],
    ["c_deep", /role "a_deep_owner" \(which "c_deep" is a member of through "a_mid"\) owns 1 object\(s\) in database "orders": function total_all\(\)/],
    ["c_grantopt", /role "a_grantopt" .* holds SELECT WITH GRANT OPTION on table orders/],
    ["c_defacl", /role "a_defacl" .* has default privileges .* on tables in schema public/],
    ["c_admin", /role "a_admin" .* holds ADMIN OPTION on role orders_readonly/],
    ["c_create", /role "a_create" .* can CREATE in schema scratch/],
    ["c_login", /member of "a_person" \(LOGIN\)/],
    ["c_noinherit", /role "a_noinherit" \(which "c_noinherit" is a member of\) can CREATE in schema scratch/],
  ];

  it.each(cases)("I14: a grant of %s is refused for what a role it reaches holds, nothing granted", async (role, why) => {
    const id = `cl-${role.replaceAll("_", "-")}`;
    const d = await engine.grant(f.input(id, { role, dbUser: "carol" }));
    expect(d.ok).toBe(false);
    expect(d.code).toBe("JIT_ROLE_NOT_PURE");
    expect(d.problems.map((p) => p.message).join("\n")).toMatch(why);
    expect(await f.appGranted(role)).toEqual([]);
    const { rows } = await f.su.query("SELECT pg_has_role('carol', $1, 'MEMBER') AS m", [role]);
    expect(rows[0]).toEqual({ m: false });
    expect(await ledgerRow(f, id)).toMatchObject({ status: "failed", failure_code: "JIT_ROLE_NOT_PURE" });
  });

  it("I14: doctor prints each closure finding with fix SQL, and the printed fixes make every role grantable", async () => {
    const before = await runDoctor();
    expect(before.code).toBe(1);
    for (const [role, why] of cases) expect(before.out).toMatch(new RegExp(`FAIL grantable role "${role}": JIT_ROLE_NOT_PURE: .*${why.source}`));
    expect(before.out).toContain('REVOKE GRANT OPTION FOR SELECT ON TABLE orders FROM "a_grantopt" CASCADE;');
    expect(before.out).toContain(f.major >= 16 ? 'REVOKE a_person FROM "c_login" GRANTED BY postgres;' : 'REVOKE a_person FROM "c_login";');
    expect(before.out).toMatch(/-- or cut the membership instead: REVOKE a_mid FROM "c_deep"/);
    // No fix ever touches the bootstrap superuser or hands out superuser.
    expect(before.out).not.toMatch(/NOSUPERUSER|ALTER ROLE "?postgres\b|REVOKE .* FROM "?postgres\b/);

    // A DBA pastes the statements (not the comments), in the database each finding names.
    const archive = await cluster.connect("postgres", "archive");
    try {
      for (const r of before.json.databases[0]!.roles) {
        for (const x of r.findings) {
          for (const line of x.fix.filter((l) => !l.startsWith("--"))) {
            await (x.message.includes('"archive"') ? archive : f.su).query(line.replace("<owner>", "postgres"));
          }
        }
      }
    } finally {
      await archive.end();
    }
    const after = await runDoctor();
    expect(after.json.databases[0]!.roles.filter((r) => r.findings.length)).toEqual([]);
    expect(after.code).toBe(0);
    for (const role of CLOSURE) {
      const d = await engine.grant(f.input(`fixed-${role.replaceAll("_", "-")}`, { role, dbUser: "dave" }));
      expect(d.ok, `${role}: ${JSON.stringify(d.problems)}`).toBe(true);
    }
    expect((await f.appGranted()).filter((m) => m.member === "dave").map((m) => m.role).sort()).toEqual([...CLOSURE].sort());
    // Superuser and the cluster's bootstrap role are untouched by the fixes.
    const su = await f.su.query("SELECT rolsuper FROM pg_roles WHERE rolname = 'postgres'");
    expect(su.rows[0]).toEqual({ rolsuper: true });
  });
});

describe("doctor fix SQL is safe to paste", () => {
  it("an app connected as the bootstrap superuser is told to use a dedicated role, never to strip the superuser", async () => {
    const io = captureIo({ [ENV_NAME]: cluster.superuserUrl("orders") }, repo);
    expect(await doctor(["--repo", repo], io)).toBe(1);
    const out = io.stdout.join("\n");
    expect(out).toContain('FAIL app role "postgres": JIT_DB_ROLE_TOO_POWERFUL: app role "postgres" has SUPERUSER');
    expect(out).toContain('-- "postgres" is the bootstrap superuser: keep it, and give the app a dedicated role instead');
    expect(out).toContain(f.major >= 16 ? "GRANT pg_signal_backend TO jit_app WITH INHERIT TRUE, SET FALSE;" : "GRANT pg_signal_backend TO jit_app;");
    expect(out).not.toMatch(/ALTER ROLE "?postgres"? NO/);
    const su = await f.su.query("SELECT rolsuper FROM pg_roles WHERE rolname = 'postgres'");
    expect(su.rows[0]).toEqual({ rolsuper: true });
  });
});

describe("I14: what a grantee changes during a window", () => {
  it("I14: default privileges FOR ROLE the bundle are undone at revoke and the next person is granted", async () => {
    expect((await engine.grant(f.input("win-1", { role: "w_bundle", dbUser: "alice" }))).ok).toBe(true);
    const alice = await f.login("alice");
    // Verified: allowed on every major with the grant the app makes (INHERIT; SET FALSE does not stop it).
    await alice.query("ALTER DEFAULT PRIVILEGES FOR ROLE w_bundle GRANT SELECT ON TABLES TO alice");
    await alice.query("ALTER DEFAULT PRIVILEGES FOR ROLE w_bundle IN SCHEMA public GRANT ALL ON TABLES TO alice");
    await alice.query("ALTER DEFAULT PRIVILEGES FOR ROLE w_bundle GRANT EXECUTE ON FUNCTIONS TO alice");
    const during = await f.su.query("SELECT count(*)::int AS n FROM pg_default_acl WHERE defaclrole = 'w_bundle'::regrole");
    expect(during.rows[0]!.n).toBeGreaterThan(0);

    const d = await engine.revoke({ repository: "acme/access", database: DB_KEY, requestId: "win-1" }, { reason: "test", actor: "test" });
    expect(d.ok, d.message).toBe(true);
    expect(d.details.residue?.undone.map((x) => x.code)).toEqual(["JIT_WINDOW_RESIDUE", "JIT_WINDOW_RESIDUE", "JIT_WINDOW_RESIDUE"]);
    expect(d.details.residue?.remaining).toEqual([]);
    const after = await f.su.query("SELECT count(*)::int AS n FROM pg_default_acl WHERE defaclrole = 'w_bundle'::regrole");
    expect(after.rows[0]).toEqual({ n: 0 });
    // The app holds exactly its configured membership again: no row lending it the bundle survives.
    const app = await f.su.query(`SELECT g.rolname AS grantor, am.admin_option AS admin ${f.major >= 16 ? ", am.inherit_option AS inherit, am.set_option AS set" : ""}
      FROM pg_auth_members am JOIN pg_roles g ON g.oid = am.grantor WHERE am.roleid = 'w_bundle'::regrole AND am.member = $1::regrole`, [APP]);
    expect(app.rows).toEqual([f.major >= 16 ? { grantor: "postgres", admin: true, inherit: false, set: false } : { grantor: "postgres", admin: true }]);
    expect(await f.appGranted("w_bundle")).toEqual([]);
    expect(await eventsFor(f, "win-1")).toContainEqual({ kind: "window_residue", code: null });

    // Not bricked: the next person is granted.
    const next = await engine.grant(f.input("win-2", { role: "w_bundle", dbUser: "bob" }));
    expect(next.ok, JSON.stringify(next.problems)).toBe(true);
    expect(await f.appGranted("w_bundle")).toEqual([{ role: "w_bundle", member: "bob", admin: false }]);
  });

  it("I14: ALTER ROLE <grantee> SET role = bundle is reported at revoke with JIT_WINDOW_RESIDUE and shown by doctor", async () => {
    expect((await engine.grant(f.input("win-3", { role: "w_bundle2", dbUser: "carol" }))).ok).toBe(true);
    const carol = await f.login("carol");
    await carol.query("ALTER ROLE carol SET role = 'w_bundle2'");
    const d = await engine.revoke({ repository: "acme/access", database: DB_KEY, requestId: "win-3" }, { reason: "test", actor: "test" });
    expect(d.ok, d.message).toBe(true);
    expect(d.details.residue?.remaining).toEqual([expect.objectContaining({
      code: "JIT_WINDOW_RESIDUE", fix: ["ALTER ROLE carol RESET role;"], message: expect.stringMatching(/role "carol" has the setting role = "w_bundle2"/),
    })]);
    expect(await eventsFor(f, "win-3")).toContainEqual({ kind: "window_residue", code: "JIT_WINDOW_RESIDUE" });
    // Revoked all the same: no membership, and a new session of carol is carol, not the bundle.
    expect(await f.appGranted("w_bundle2")).toEqual([]);
    const again = await cluster.connect("carol", "orders");
    expect((await again.query("SELECT current_user::text AS u")).rows[0]).toEqual({ u: "carol" });
    await again.end();
    const r = await runDoctor();
    expect(r.out).toContain('FAIL grantable role "w_bundle2": JIT_WINDOW_RESIDUE: role "carol" has the setting role = "w_bundle2"');
    expect(r.out).toContain("ALTER ROLE carol RESET role;");
    await f.su.query("ALTER ROLE carol RESET role");
    expect((await runDoctor()).out).toMatch(/ok {3}grantable role "w_bundle2"/);
  });

  it("I14: a grantee cannot hand an object to the bundle or create one as it", async () => {
    expect((await engine.grant(f.input("win-4", { role: "w_bundle", dbUser: "dave" }))).ok).toBe(true);
    await f.su.query("GRANT CREATE ON SCHEMA scratch TO dave");
    const dave = await f.login("dave");
    await dave.query("CREATE TABLE scratch.mine (id int)");
    await expect(dave.query("ALTER TABLE scratch.mine OWNER TO w_bundle")).rejects.toThrow(/must be (able to SET ROLE|member of role)|permission denied/);
    if (f.major >= 16) await expect(dave.query("SET ROLE w_bundle")).rejects.toThrow(/permission denied to set role/);
    else {
      await dave.query("SET ROLE w_bundle");
      await expect(dave.query("CREATE TABLE scratch.as_bundle (id int)")).rejects.toThrow(/permission denied for schema scratch/);
      await dave.query("RESET ROLE");
    }
    const owned = await f.su.query("SELECT count(*)::int AS n FROM pg_shdepend WHERE refobjid = 'w_bundle'::regrole AND deptype = 'o'");
    expect(owned.rows[0]).toEqual({ n: 0 });
    const d = await engine.revoke({ repository: "acme/access", database: DB_KEY, requestId: "win-4" }, { reason: "test", actor: "test" });
    expect(d.ok).toBe(true);
    expect(d.details.residue).toEqual({ undone: [], remaining: [] });
  });

  it("I14: an object the bundle came to own during the window is reported at revoke, and refuses the next grant naming the fix", async () => {
    expect((await engine.grant(f.input("win-5", { role: "w_bundle2", dbUser: "alice" }))).ok).toBe(true);
    // Somebody with the power to (a DBA's slip) makes the bundle own an object during the window.
    await f.su.query("CREATE TABLE public.leftover (id int)");
    await f.su.query("ALTER TABLE public.leftover OWNER TO w_bundle2");
    const d = await engine.revoke({ repository: "acme/access", database: DB_KEY, requestId: "win-5" }, { reason: "test", actor: "test" });
    expect(d.ok).toBe(true);
    expect(d.details.residue?.remaining).toEqual([expect.objectContaining({
      code: "JIT_WINDOW_RESIDUE", message: '"w_bundle2" owns 1 object(s) or default privilege entr(ies) in database "orders"',
      fix: expect.arrayContaining(['REASSIGN OWNED BY "w_bundle2" TO <owner>;']),
    })]);
    expect(await f.appGranted("w_bundle2")).toEqual([]);
    const next = await engine.grant(f.input("win-6", { role: "w_bundle2", dbUser: "bob" }));
    expect(next.code).toBe("JIT_ROLE_NOT_PURE");
    expect(next.problems.map((p) => p.message).join("\n")).toContain('role "w_bundle2" owns 1 object(s) in database "orders": table leftover');
    expect(await f.appGranted("w_bundle2")).toEqual([]);
    await f.su.query("ALTER TABLE public.leftover OWNER TO postgres");
    expect((await engine.grant(f.input("win-7", { role: "w_bundle2", dbUser: "bob" }))).ok).toBe(true);
  });
});
