// Preflight and doctor against a real server: docs/security.md cases 34, 35, 36 and 38.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureIo } from "../../src/cli/io.ts";
import { run as doctor, type DatabaseReport } from "../../src/cli/doctor.ts";
import type { Policy } from "../../src/core/types.ts";
import type { GrantEngine } from "../../src/db/grantor.ts";
import { StartupError, startServices } from "../../src/main.ts";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";
import {
  APP, appRoleSql, DB_KEY, ENV_NAME, grantableRoleSql, ledgerRow, makePolicy, setupGrantFixture, STATE_DB, TARGET_DB, type GrantFixture,
} from "../harness/grant-fixture.ts";

let cluster: TestCluster;
let f: GrantFixture;
let repo: string;
let engine: GrantEngine;

const BAD = ["bad_owner", "bad_defacl", "bad_defacl_global", "bad_grantopt", "bad_create", "bad_predef", "bad_nested", "bad_login", "bad_admin_opt"];
const silent = { info: () => {}, warn: () => {}, error: () => {} };

beforeAll(async () => {
  cluster = await startPostgres();
  f = await setupGrantFixture(cluster, { logins: ["alice", "bob", "carol", "dave", "erin", "fred"] });
  const su = f.su;
  for (const r of BAD) for (const s of grantableRoleSql(r)) await su.query(s);
  await su.query("CREATE DATABASE reports");
  const reports = await cluster.connect("postgres", "reports");
  await reports.query("CREATE TABLE monthly (id int)");
  await reports.query("ALTER TABLE monthly OWNER TO bad_owner");
  await reports.end();
  await su.query("ALTER DEFAULT PRIVILEGES FOR ROLE bad_defacl IN SCHEMA public GRANT SELECT ON TABLES TO alice");
  await su.query("ALTER DEFAULT PRIVILEGES FOR ROLE bad_defacl_global GRANT SELECT ON TABLES TO PUBLIC");
  await su.query("GRANT SELECT ON orders TO bad_grantopt WITH GRANT OPTION");
  await su.query("GRANT CREATE ON SCHEMA public TO bad_create");
  await su.query("GRANT pg_read_all_data TO bad_predef");
  await su.query("CREATE ROLE power NOLOGIN CREATEROLE");
  await su.query("CREATE ROLE mid NOLOGIN");
  await su.query("GRANT power TO mid");
  await su.query("GRANT mid TO bad_nested");
  await su.query("ALTER ROLE bad_login LOGIN");
  await su.query("GRANT orders_readonly TO bad_admin_opt WITH ADMIN OPTION");
  const withAdmin = f.major >= 16 ? "WITH ADMIN TRUE, INHERIT FALSE, SET FALSE" : "WITH ADMIN OPTION";
  for (const r of BAD) await su.query(`GRANT ${r} TO ${APP} ${withAdmin}`);

  // The app holds ADMIN on every role above, so the policy must allowlist them all (else I5 fails).
  engine = f.newEngine({ policy: policyWith(BAD) }).engine;
  repo = mkdtempSync(join(tmpdir(), "jit-doctor-"));
  mkdirSync(join(repo, "policies"));
}, 120_000);

afterAll(async () => {
  if (repo) rmSync(repo, { recursive: true, force: true });
  await f?.close();
  await cluster?.stop();
});

function policyWith(roles: string[]): Policy {
  return makePolicy(["orders_readonly", "orders_admin", ...roles]);
}

function writePolicy(roles: string[]): void {
  const lines = [
    "databases:",
    `  ${DB_KEY}:`,
    `    connection_env: ${ENV_NAME}`,
    "    roles:",
    ...roles.flatMap((r) => [`      ${r}:`, "        max_duration: 8h", "        approvals: 1", '        approvers: ["@acme/dba"]']),
    "identities:",
    "  alice: alice",
  ];
  writeFileSync(join(repo, "policies", "orders.yaml"), lines.join("\n") + "\n");
}

async function runDoctor(env: NodeJS.ProcessEnv, extra: string[] = []): Promise<{ code: number; out: string; json?: { ok: boolean; databases: DatabaseReport[] } }> {
  const io = captureIo(env, repo);
  const code = await doctor(["--repo", repo, ...extra], io);
  const out = io.stdout.join("\n");
  return { code, out, json: extra.includes("json") ? JSON.parse(out) : undefined };
}

describe("pre-existing access (I7)", () => {
  it("case 34: a direct DBA grant refuses the request with JIT_ALREADY_HAS_ACCESS and survives", async () => {
    await f.su.query("GRANT orders_readonly TO dave");
    const d = await engine.grant(f.input("dave-1", { dbUser: "dave" }));
    expect(d.ok).toBe(false);
    expect(d.code).toBe("JIT_ALREADY_HAS_ACCESS");
    expect(await f.appGranted()).toEqual([]);
    const { rows } = await f.su.query(`SELECT g.rolname AS grantor FROM pg_auth_members am JOIN pg_roles g ON g.oid = am.grantor
      WHERE am.roleid = 'orders_readonly'::regrole AND am.member = 'dave'::regrole`);
    expect(rows).toEqual([{ grantor: "postgres" }]);
    expect(await ledgerRow(f, "dave-1")).toMatchObject({ status: "failed", failure_code: "JIT_ALREADY_HAS_ACCESS" });
  });

  it("case 34: an indirect membership (through a group) refuses the request and the group grant survives", async () => {
    await f.su.query("CREATE ROLE analysts NOLOGIN");
    await f.su.query("GRANT analysts TO erin");
    await f.su.query("GRANT orders_readonly TO analysts");
    const d = await engine.grant(f.input("erin-1", { dbUser: "erin" }));
    expect(d.code).toBe("JIT_ALREADY_HAS_ACCESS");
    expect(d.message).toMatch(/through another role/);
    expect(await f.appGranted()).toEqual([]);
    const { rows } = await f.su.query("SELECT pg_has_role('erin', 'orders_readonly', 'MEMBER') AS m, pg_has_role('analysts', 'orders_readonly', 'MEMBER') AS g");
    expect(rows[0]).toEqual({ m: true, g: true });
  });

  it("case 34: access the app granted under another request id also counts as pre-existing", async () => {
    expect((await engine.grant(f.input("fred-1", { dbUser: "fred" }))).ok).toBe(true);
    const d = await engine.grant(f.input("fred-2", { dbUser: "fred" }));
    expect(d.code).toBe("JIT_ALREADY_HAS_ACCESS");
    expect((await f.appGranted()).filter((m) => m.member === "fred")).toHaveLength(1);
    expect(await ledgerRow(f, "fred-1")).toMatchObject({ status: "active" });
  });
});

describe("target user eligibility", () => {
  beforeAll(async () => {
    await f.su.query("CREATE ROLE team_ops NOLOGIN");
    await f.su.query("GRANT team_ops TO alice");
    await f.su.query("CREATE ROLE login_group LOGIN");
    await f.su.query("GRANT login_group TO bob");
    await f.su.query("CREATE ROLE root_user LOGIN SUPERUSER");
    await f.su.query("CREATE ROLE creator LOGIN CREATEROLE");
    await f.su.query("CREATE ROLE nologin_user NOLOGIN");
  });

  it.each([
    ["team_ops", "JIT_USER_NOT_ELIGIBLE", /group role with 1 member|cannot log in/],
    ["login_group", "JIT_USER_NOT_ELIGIBLE", /group role with 1 member/],
    ["root_user", "JIT_USER_NOT_ELIGIBLE", /superuser/],
    ["creator", "JIT_USER_NOT_ELIGIBLE", /CREATEROLE/],
    ["nologin_user", "JIT_USER_NOT_ELIGIBLE", /cannot log in/],
    ["ghost", "JIT_USER_MISSING", /does not exist/],
  ])("case 35: target user %s is refused with %s", async (user, code, why) => {
    const d = await engine.grant(f.input(`u-${user.replaceAll("_", "-")}`, { dbUser: user }));
    expect(d.ok).toBe(false);
    expect(d.code).toBe(code);
    expect(d.problems.map((p) => p.message).join(" ")).toMatch(why);
    expect((await f.appGranted()).filter((m) => m.member === user)).toEqual([]);
    expect(await ledgerRow(f, `u-${user.replaceAll("_", "-")}`)).toMatchObject({ status: "failed", failure_code: code });
  });

  it("case 35: the app role itself is refused before anything is recorded", async () => {
    const d = await engine.grant(f.input("u-app", { dbUser: APP }));
    expect(d.code).toBe("JIT_USER_NOT_ELIGIBLE");
    expect(await ledgerRow(f, "u-app")).toBeUndefined();
    expect(await f.appGranted()).not.toContainEqual(expect.objectContaining({ member: APP }));
  });
});

describe("grantable role purity (I4)", () => {
  const expectations: [string, RegExp][] = [
    ["bad_owner", /owns 1 object\(s\) in database "reports"/],
    ["bad_defacl", /default privileges .* on tables in schema public/],
    ["bad_defacl_global", /default privileges .* on tables$/],
    ["bad_grantopt", /SELECT WITH GRANT OPTION on table orders/],
    ["bad_create", /can CREATE in schema public/],
    ["bad_predef", /member of "pg_read_all_data" \(predefined\)/],
    ["bad_nested", /member of "power" \(CREATEROLE\) through "mid"/],
    ["bad_login", /has LOGIN/],
    ["bad_admin_opt", /ADMIN OPTION on role orders_readonly/],
  ];

  it.each(expectations)("case 36: grant of %s is refused with JIT_ROLE_NOT_PURE", async (role, why) => {
    const { engine } = f.newEngine({ policy: policyWith(BAD) });
    const id = `r-${role.replaceAll("_", "-")}`;
    const d = await engine.grant(f.input(id, { role, dbUser: "carol" }));
    expect(d.ok).toBe(false);
    expect(d.code).toBe("JIT_ROLE_NOT_PURE");
    expect(d.problems.map((p) => p.message).join("\n")).toMatch(why);
    expect(await f.appGranted(role)).toEqual([]);
    expect(await ledgerRow(f, id)).toMatchObject({ status: "failed", failure_code: "JIT_ROLE_NOT_PURE" });
  });

  it("case 36: a predefined role itself and a missing role are refused", async () => {
    const { engine } = f.newEngine({ policy: policyWith([...BAD, "pg_read_all_data", "not_there"]) });
    expect((await engine.grant(f.input("r-pg", { role: "pg_read_all_data", dbUser: "carol" }))).code).toBe("JIT_ROLE_NOT_PURE");
    expect((await engine.grant(f.input("r-missing", { role: "not_there", dbUser: "carol" }))).code).toBe("JIT_ROLE_MISSING");
    expect(await f.appGranted()).not.toContainEqual(expect.objectContaining({ member: "carol" }));
  });

  it("case 36: `jit doctor` reports every impure role with fix SQL, and is healthy once the fixes are applied", async () => {
    writePolicy(["orders_readonly", "orders_admin", ...BAD, "not_there"]);
    const text = await runDoctor(f.env);
    expect(text.code).toBe(1);
    expect(text.out).toMatch(/ok {3}app role "jit_app"/);
    expect(text.out).toMatch(/ok {3}grantable role "orders_readonly"/);
    for (const [role, why] of expectations) {
      expect(text.out).toMatch(new RegExp(`FAIL grantable role "${role}": JIT_ROLE_NOT_PURE: .*${why.source.replace(/\$$/, "")}`));
    }
    expect(text.out).toMatch(/FAIL grantable role "not_there": JIT_ROLE_MISSING/);
    expect(text.out).toContain('REVOKE GRANT OPTION FOR SELECT ON TABLE orders FROM "bad_grantopt" CASCADE;');
    expect(text.out).toContain('REVOKE CREATE ON SCHEMA public FROM "bad_create";');
    expect(text.out).toContain('ALTER ROLE "bad_login" NOLOGIN;');

    // Apply every printed fix (as a DBA would), then doctor is healthy.
    const first = await runDoctor(f.env, ["--format", "json"]);
    const db = first.json!.databases[0]!;
    const reports = await cluster.connect("postgres", "reports");
    try {
      for (const { findings } of db.roles) {
        for (const finding of findings) {
          for (const line of finding.fix.filter((l) => !l.startsWith("--"))) {
            const sql = line.replace("<owner>", "postgres");
            await (finding.message.includes('"reports"') ? reports : f.su).query(sql);
          }
        }
      }
    } finally {
      await reports.end();
    }
    const second = await runDoctor(f.env, ["--format", "json"]);
    expect(second.json!.databases[0]!.roles.filter((r) => r.findings.length)).toEqual([
      // The new role needs the app's ADMIN first: that is an app-role finding, shown next.
    ]);
    expect(second.json!.databases[0]!.app.map((x) => x.code)).toEqual(["JIT_DB_ROLE_INSUFFICIENT"]);
    for (const line of second.json!.databases[0]!.app[0]!.fix) await f.su.query(line);
    const third = await runDoctor(f.env);
    expect(third.out).toContain("doctor: healthy");
    expect(third.code).toBe(0);

    // And the fixed roles are now grantable.
    const { engine } = f.newEngine({ policy: policyWith([...BAD, "not_there"]) });
    const d = await engine.grant(f.input("r-fixed-owner", { role: "bad_owner", dbUser: "carol" }));
    expect(d.ok, JSON.stringify(d.problems)).toBe(true);
  });

  it("jit doctor exits 2 when it cannot connect, naming the variable and never its value", async () => {
    writePolicy(["orders_readonly"]);
    const missing = await runDoctor({});
    expect(missing.code).toBe(2);
    expect(missing.out).toContain(`JIT_CONFIG_MISSING_ENV: environment variable ${ENV_NAME}`);
    const unreachable = await runDoctor({ [ENV_NAME]: "postgresql://jit_app:Sentinel-Secret-42@127.0.0.1:1/orders" });
    expect(unreachable.code).toBe(2);
    expect(unreachable.out).toContain("JIT_DB_UNREACHABLE");
    expect(unreachable.out).not.toContain("Sentinel-Secret-42");
    expect((await runDoctor(f.env, ["--database", "nope"])).code).toBe(2);
  });
});

describe("app role power (I5)", () => {
  const stateUrl = () => cluster.superuserUrl(STATE_DB);

  async function makeApp(name: string, extra: string[]): Promise<NodeJS.ProcessEnv> {
    for (const s of appRoleSql(f.major, name, ["orders_readonly", "orders_admin"])) await f.su.query(s);
    for (const s of extra) await f.su.query(s);
    return { DATABASE_URL: stateUrl(), [ENV_NAME]: f.appUrl(name) };
  }

  async function startupCodes(env: NodeJS.ProcessEnv, policy = makePolicy(["orders_readonly", "orders_admin"])): Promise<string[]> {
    try {
      const s = await startServices({ env, policy, log: silent });
      await s.stop();
      return [];
    } catch (e) {
      expect(e).toBeInstanceOf(StartupError);
      return (e as StartupError).problems.map((p) => p.code);
    }
  }

  it("the minimal app role of docs/database.md starts", async () => {
    expect(await startupCodes({ DATABASE_URL: stateUrl(), [ENV_NAME]: f.appUrl() }, policyWith([...BAD, "not_there"]))).toEqual([]);
    // The same role with a policy that no longer allowlists roles it holds ADMIN on is refused
    // (the doctor test above created not_there and granted the app ADMIN on it).
    expect(await startupCodes({ DATABASE_URL: stateUrl(), [ENV_NAME]: f.appUrl() })).toContain("JIT_DB_ROLE_TOO_POWERFUL");
  });

  it("case 38: CREATEROLE refuses to start with JIT_DB_ROLE_TOO_POWERFUL", async () => {
    expect(await startupCodes(await makeApp("app_createrole", ["ALTER ROLE app_createrole CREATEROLE"]))).toEqual(["JIT_DB_ROLE_TOO_POWERFUL"]);
  });

  it("case 38: superuser refuses to start", async () => {
    expect(await startupCodes(await makeApp("app_super", ["ALTER ROLE app_super SUPERUSER"]))).toContain("JIT_DB_ROLE_TOO_POWERFUL");
  });

  it("case 38: inheriting the granted roles refuses to start (PG15: INHERIT; PG16+: INHERIT TRUE membership)", async () => {
    const extra = f.major >= 16
      ? ["GRANT orders_readonly TO app_inherit WITH INHERIT TRUE"]
      : ["ALTER ROLE app_inherit INHERIT"];
    expect(await startupCodes(await makeApp("app_inherit", extra))).toEqual(["JIT_DB_ROLE_TOO_POWERFUL"]);
  });

  it("case 38: ADMIN on a role no policy allowlists refuses to start", async () => {
    await f.su.query("CREATE ROLE secret_role NOLOGIN");
    const extra = [f.major >= 16 ? "GRANT secret_role TO app_extra WITH ADMIN TRUE, INHERIT FALSE, SET FALSE" : "GRANT secret_role TO app_extra WITH ADMIN OPTION"];
    expect(await startupCodes(await makeApp("app_extra", extra))).toEqual(["JIT_DB_ROLE_TOO_POWERFUL"]);
  });

  it("case 38: a too powerful app role is also refused at grant time, and doctor prints the fix", async () => {
    const env = { [ENV_NAME]: f.appUrl("app_createrole") };
    const { engine } = f.newEngine({ env });
    const d = await engine.grant(f.input("app-cr-1", { dbUser: "carol" }));
    expect(d.code).toBe("JIT_DB_ROLE_TOO_POWERFUL");
    expect(await f.su.query("SELECT 1 FROM pg_auth_members WHERE grantor = 'app_createrole'::regrole").then((r) => r.rowCount)).toBe(0);
    writePolicy(["orders_readonly", "orders_admin"]);
    const r = await runDoctor(env);
    expect(r.code).toBe(1);
    expect(r.out).toContain('ALTER ROLE "app_createrole" NOCREATEROLE;');
  });

  it("a missing target variable is skipped with a warning, not a refusal", async () => {
    const warnings: string[] = [];
    const s = await startServices({ env: { DATABASE_URL: stateUrl() }, policy: makePolicy(["orders_readonly"]), log: { ...silent, warn: (m) => warnings.push(m) } });
    await s.stop();
    expect(warnings.join("\n")).toContain(`${ENV_NAME} is not set`);
    expect(TARGET_DB).toBe("orders");
  });
});
