// I14 variants a grantee can try during a window to keep access after it ends or to brick the role
// for the next person, on the major under test: objects handed to the bundle (PG15: a member may
// give the bundle ownership once the bundle can CREATE in the grantee's own schema), per-database
// role settings. Asserted on the catalog: what the grantee can still do, what the app granted, and
// what the next grant says.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GrantEngine } from "../../src/db/grantor.ts";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";
import { DB_KEY, eventsFor, makePolicy, setupGrantFixture, type GrantFixture } from "../harness/grant-fixture.ts";

let cluster: TestCluster;
let f: GrantFixture;
let engine: GrantEngine;

const BUNDLES = ["k_bundle", "k_bundle2", "k_bundle3"];
/** Every role the app holds ADMIN on in this file, so none makes it "too powerful" for the others. */
const ALL = [...BUNDLES, "k_far", "k_up1", "k_up2", "k_up3", "k_up4", "k_up5"];

beforeAll(async () => {
  cluster = await startPostgres();
  f = await setupGrantFixture(cluster, { roles: BUNDLES, logins: ["mallory", "erin", "frank"] });
  // A login that owns a schema of its own: common, and the lever of the PG15 attack below.
  await f.su.query("CREATE SCHEMA mallory_s AUTHORIZATION mallory");
  engine = f.newEngine({ policy: makePolicy(ALL) }).engine;
}, 120_000);

afterAll(async () => {
  await f?.close();
  await cluster?.stop();
});

const revoke = (requestId: string) => engine.revoke({ repository: "acme/access", database: DB_KEY, requestId }, { reason: "test", actor: "test" });

/** Runs `sql` as a fresh session of `user`; resolves to the error message, or "ok". */
async function as(user: string, sql: string): Promise<string> {
  const c = await cluster.connect(user, "orders");
  try {
    await c.query(sql);
    return "ok";
  } catch (e) {
    return (e as Error).message;
  } finally {
    await c.end();
  }
}

describe("I14: a grantee hands objects to the bundle during the window", () => {
  it("I14: a SECURITY DEFINER function and a view given to the bundle keep no access after revoke; the next grant is refused with the fix", async () => {
    expect((await engine.grant(f.input("hand-1", { role: "k_bundle", dbUser: "mallory" }))).ok).toBe(true);
    const m = await f.login("mallory");
    // Mallory lets the bundle create in her own schema, then gives it what she wrote.
    await m.query("GRANT CREATE, USAGE ON SCHEMA mallory_s TO k_bundle");
    await m.query("CREATE FUNCTION mallory_s.peek() RETURNS numeric LANGUAGE sql SECURITY DEFINER AS 'SELECT sum(total) FROM public.orders'");
    await m.query("CREATE VIEW mallory_s.v AS SELECT id, total FROM public.orders");
    const fn = await m.query("ALTER FUNCTION mallory_s.peek() OWNER TO k_bundle").then(() => "ok", (e: Error) => e.message);
    const view = await m.query("ALTER VIEW mallory_s.v OWNER TO k_bundle").then(() => "ok", (e: Error) => e.message);
    if (f.major >= 16) {
      // PG16+: the app grants SET FALSE, and giving an object to a role needs SET on it.
      expect(fn).toMatch(/must be able to SET ROLE "k_bundle"/);
      expect(view).toMatch(/must be able to SET ROLE "k_bundle"/);
    } else {
      expect([fn, view]).toEqual(["ok", "ok"]);
      // As the bundle (PG15: any member may SET ROLE), she lets herself read the view.
      await m.query("SET ROLE k_bundle");
      await m.query("GRANT SELECT ON mallory_s.v TO mallory");
      await m.query("RESET ROLE");
    }
    await m.end().catch(() => {});

    const d = await revoke("hand-1");
    expect(d.ok, d.message).toBe(true);
    expect(await f.appGranted("k_bundle")).toEqual([]);
    // Whatever the major: after the revoke neither object reads orders for her.
    expect(await as("mallory", "SELECT mallory_s.peek()")).toMatch(/permission denied/);
    expect(await as("mallory", "SELECT count(*) FROM mallory_s.v")).toMatch(/permission denied/);
    expect(await as("erin", "SELECT mallory_s.peek()")).toMatch(/permission denied/);

    // Every major: the CREATE she gave the bundle is reported at revoke and refuses the next grant.
    expect(d.details.residue?.remaining).toContainEqual(expect.objectContaining({
      code: "JIT_WINDOW_RESIDUE", message: '"k_bundle" was given CREATE on schema mallory_s by mallory: the next grant of the role is refused until it is revoked',
      fix: ["-- as mallory, the schema owner or a superuser:", "REVOKE CREATE ON SCHEMA mallory_s FROM \"k_bundle\";"],
    }));
    expect(await eventsFor(f, "hand-1")).toContainEqual({ kind: "window_residue", code: "JIT_WINDOW_RESIDUE" });
    const next = await engine.grant(f.input("hand-2", { role: "k_bundle", dbUser: "erin" }));
    expect(next.code).toBe("JIT_ROLE_NOT_PURE");
    const why = next.problems.map((p) => p.message).join("\n");
    expect(why).toContain('role "k_bundle" can CREATE in schema mallory_s');
    if (f.major < 16) {
      // PG15: what she handed over is reported too (the app cannot take ownership back).
      expect(d.details.residue?.remaining).toContainEqual(expect.objectContaining({
        code: "JIT_WINDOW_RESIDUE", message: expect.stringContaining('"k_bundle" owns 2 object(s)'),
      }));
      expect(why).toMatch(/role "k_bundle" owns 2 object\(s\) in database "orders": (function|view)/);
    }
    expect(await f.appGranted("k_bundle")).toEqual([]);
    // The fixes a DBA runs make the role grantable again.
    if (f.major < 16) await f.su.query("REASSIGN OWNED BY k_bundle TO mallory");
    await f.su.query("REVOKE CREATE ON SCHEMA mallory_s FROM k_bundle");
    expect((await engine.grant(f.input("hand-3", { role: "k_bundle", dbUser: "erin" }))).ok).toBe(true);
    expect((await revoke("hand-3")).ok).toBe(true);
  });

  it("I14: a SECURITY DEFINER trigger function given to the bundle no longer runs as the bundle after revoke", async () => {
    expect((await engine.grant(f.input("trig-1", { role: "k_bundle2", dbUser: "mallory" }))).ok).toBe(true);
    const m = await f.login("mallory");
    await m.query("GRANT CREATE, USAGE ON SCHEMA mallory_s TO k_bundle2");
    await m.query("CREATE TABLE mallory_s.loot (total numeric)");
    await m.query("GRANT INSERT ON mallory_s.loot TO k_bundle2");
    await m.query("CREATE TABLE mallory_s.poke (id int)");
    await m.query(`CREATE FUNCTION mallory_s.copy() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS
      'BEGIN INSERT INTO mallory_s.loot SELECT sum(total) FROM public.orders; RETURN NEW; END'`);
    await m.query("CREATE TRIGGER copy AFTER INSERT ON mallory_s.poke FOR EACH ROW EXECUTE FUNCTION mallory_s.copy()");
    const handed = await m.query("ALTER FUNCTION mallory_s.copy() OWNER TO k_bundle2").then(() => "ok", (e: Error) => e.message);
    expect(handed).toBe(f.major >= 16 ? 'must be able to SET ROLE "k_bundle2"' : "ok");
    await m.end().catch(() => {});

    const d = await revoke("trig-1");
    expect(d.ok, d.message).toBe(true);
    expect(await f.appGranted("k_bundle2")).toEqual([]);
    // Her insert fires the trigger; it must not read orders for her any more.
    expect(await as("mallory", "INSERT INTO mallory_s.poke VALUES (1)")).toMatch(/permission denied for table orders/);
    const loot = await f.su.query("SELECT count(*)::int AS n FROM mallory_s.loot");
    expect(loot.rows[0]).toEqual({ n: 0 });
    if (f.major < 16) {
      const fn = await f.su.query("SELECT prosecdef FROM pg_proc WHERE oid = 'mallory_s.copy()'::regprocedure");
      expect(fn.rows[0]).toEqual({ prosecdef: false });
      expect(d.details.residue?.undone.flatMap((x) => x.fix)).toContain("ALTER ROUTINE mallory_s.copy() SECURITY INVOKER;");
      await f.su.query("REASSIGN OWNED BY k_bundle2 TO mallory");
    }
    await f.su.query("REVOKE ALL ON SCHEMA mallory_s FROM k_bundle2");
    await f.su.query("REVOKE ALL ON mallory_s.loot FROM k_bundle2");
    expect((await engine.grant(f.input("trig-2", { role: "k_bundle2", dbUser: "erin" }))).ok).toBe(true);
    expect((await revoke("trig-2")).ok).toBe(true);
  });
});

describe("I14: objects the bundle owns at revoke, however they got there", () => {
  it("I14: a SECURITY DEFINER function, a view and a sequence a superuser gave the bundle during the window are defused at revoke on every major", async () => {
    expect((await engine.grant(f.input("slip-1", { role: "k_bundle2", dbUser: "frank" }))).ok).toBe(true);
    await f.su.query("CREATE SCHEMA slip");
    await f.su.query("GRANT USAGE ON SCHEMA slip TO PUBLIC");
    await f.su.query("CREATE FUNCTION slip.total() RETURNS numeric LANGUAGE sql SECURITY DEFINER AS 'SELECT sum(total) FROM public.orders'");
    await f.su.query("CREATE VIEW slip.v AS SELECT id FROM public.orders");
    await f.su.query("CREATE SEQUENCE slip.s");
    for (const o of ["FUNCTION slip.total()", "VIEW slip.v", "SEQUENCE slip.s"]) await f.su.query(`ALTER ${o} OWNER TO k_bundle2`);
    await f.su.query("GRANT SELECT ON slip.v TO frank");
    await f.su.query("GRANT USAGE ON SEQUENCE slip.s TO PUBLIC");
    expect(await as("frank", "SELECT slip.total()")).toBe("ok");

    const d = await revoke("slip-1");
    expect(d.ok, d.message).toBe(true);
    expect(d.details.residue?.undone.flatMap((x) => x.fix)).toEqual([
      "ALTER ROUTINE slip.total() SECURITY INVOKER;",
      "ALTER VIEW slip.v SET (security_invoker = true);",
      "REVOKE ALL ON SEQUENCE slip.s FROM PUBLIC;",
      "REVOKE ALL ON ROUTINE slip.total() FROM PUBLIC;",
      "REVOKE ALL ON TABLE slip.v FROM frank;",
    ]);
    for (const sql of ["SELECT slip.total()", "SELECT count(*) FROM slip.v", "SELECT nextval('slip.s')"]) {
      expect(await as("frank", sql), sql).toMatch(/permission denied/);
    }
    // The app's own membership is back to what it was: nothing lent survives the transaction.
    const app = await f.su.query("SELECT count(*)::int AS n FROM pg_auth_members WHERE roleid = 'k_bundle2'::regrole AND member = 'jit_app'::regrole");
    expect(app.rows[0]).toEqual({ n: 1 });
    expect(d.details.residue?.remaining.map((x) => x.message)).toContain('"k_bundle2" owns 3 object(s) or default privilege entr(ies) in database "orders"');
    const next = await engine.grant(f.input("slip-2", { role: "k_bundle2", dbUser: "erin" }));
    expect(next.code).toBe("JIT_ROLE_NOT_PURE");
    expect(await f.appGranted("k_bundle2")).toEqual([]);
    await f.su.query("DROP SCHEMA slip CASCADE");
    expect((await engine.grant(f.input("slip-3", { role: "k_bundle2", dbUser: "erin" }))).ok).toBe(true);
    expect((await revoke("slip-3")).ok).toBe(true);
  });
});

describe("I14: REASSIGN OWNED BY self TO the bundle", () => {
  it("I14: REASSIGN OWNED BY <grantee> TO <bundle> is refused on every major; nothing reads orders after revoke and the next person is granted", async () => {
    await f.su.query("CREATE ROLE trudy LOGIN");
    // A schema she may create in but does not own (owning one makes REASSIGN need CREATE on the database).
    await f.su.query("CREATE SCHEMA trudy_s");
    await f.su.query("GRANT CREATE, USAGE ON SCHEMA trudy_s TO trudy");
    expect((await engine.grant(f.input("reas-1", { role: "k_bundle", dbUser: "trudy" }))).ok).toBe(true);
    const t = await f.login("trudy");
    await t.query("CREATE FUNCTION trudy_s.peek() RETURNS numeric LANGUAGE sql SECURITY DEFINER AS 'SELECT sum(total) FROM public.orders'");
    await t.query("CREATE VIEW trudy_s.v AS SELECT id, total FROM public.orders");
    const moved = await t.query("REASSIGN OWNED BY trudy TO k_bundle").then(() => "ok", (e: Error) => e.message);
    // PG16+: changing an owner needs SET on the new owner, which the app never grants; PG15: the
    // new owner needs CREATE on the schema, which a pure bundle lacks.
    expect(moved).toBe(f.major >= 16 ? 'must be able to SET ROLE "k_bundle"' : "permission denied for schema trudy_s");
    await t.end().catch(() => {});
    const owned = await f.su.query("SELECT count(*)::int AS n FROM pg_shdepend WHERE refobjid = 'k_bundle'::regrole AND deptype = 'o'");

    const d = await revoke("reas-1");
    expect(d.ok, d.message).toBe(true);
    expect(await f.appGranted("k_bundle")).toEqual([]);
    expect(await as("trudy", "SELECT trudy_s.peek()")).toMatch(/permission denied/);
    expect(await as("trudy", "SELECT count(*) FROM trudy_s.v")).toMatch(/permission denied/);
    expect(owned.rows[0]).toEqual({ n: 0 });
    expect(d.details.residue).toEqual({ undone: [], remaining: [] });
    const again = await engine.grant(f.input("reas-3", { role: "k_bundle", dbUser: "erin" }));
    expect(again.ok, JSON.stringify(again.problems)).toBe(true);
    expect((await revoke("reas-3")).ok).toBe(true);
  });
});

describe("I14: role settings a grantee sets on itself", () => {
  it("I14: ALTER ROLE self IN DATABASE d SET role = bundle (here and in another database) is reported at revoke with the exact reset, and the next person is granted", async () => {
    await f.su.query("CREATE DATABASE elsewhere");
    expect((await engine.grant(f.input("set-1", { role: "k_bundle3", dbUser: "frank" }))).ok).toBe(true);
    const fr = await f.login("frank");
    await fr.query("ALTER ROLE frank IN DATABASE orders SET role = 'k_bundle3'");
    await fr.query("ALTER ROLE frank IN DATABASE elsewhere SET ROLE TO K_BUNDLE3");
    await fr.end().catch(() => {});
    const d = await revoke("set-1");
    expect(d.ok, d.message).toBe(true);
    expect(await f.appGranted("k_bundle3")).toEqual([]);
    expect(d.details.residue?.remaining.flatMap((x) => x.fix).sort()).toEqual([
      "ALTER ROLE frank IN DATABASE elsewhere RESET role;",
      "ALTER ROLE frank IN DATABASE orders RESET role;",
    ]);
    // A new session of frank is frank: the setting only warns once the membership is gone.
    const again = await cluster.connect("frank", "orders");
    expect((await again.query("SELECT current_user::text AS u")).rows[0]).toEqual({ u: "frank" });
    await again.end();
    // Not bricked: the setting is frank's, the bundle stays pure, the next person is granted.
    const next = await engine.grant(f.input("set-2", { role: "k_bundle3", dbUser: "erin" }));
    expect(next.ok, JSON.stringify(next.problems)).toBe(true);
    expect(await f.appGranted("k_bundle3")).toEqual([{ role: "k_bundle3", member: "erin", admin: false }]);
    expect((await revoke("set-2")).ok).toBe(true);
    for (const db of ["orders", "elsewhere"]) await f.su.query(`ALTER ROLE frank IN DATABASE ${db} RESET role`);
  });
});

describe("I14: the closure's powers in other databases of the cluster", () => {
  it("I14: a grant option the bundle holds in another database refuses the grant (membership is cluster-wide); without it the grant proceeds", async () => {
    await f.su.query("CREATE DATABASE archive2");
    await f.su.query("CREATE ROLE k_far NOLOGIN");
    await f.su.query(f.major >= 16 ? `GRANT k_far TO ${"jit_app"} WITH ADMIN TRUE, INHERIT FALSE, SET FALSE` : "GRANT k_far TO jit_app WITH ADMIN OPTION");
    const archive = await cluster.connect("postgres", "archive2");
    try {
      await archive.query("CREATE TABLE secrets (v text)");
      await archive.query("INSERT INTO secrets VALUES ('s3cr3t')");
      await archive.query("GRANT SELECT ON secrets TO k_far WITH GRANT OPTION");
      const e = engine;
      const d = await e.grant(f.input("far-1", { role: "k_far", dbUser: "frank" }));
      expect(d.code, d.message).toBe("JIT_ROLE_NOT_PURE");
      expect(d.problems.map((p) => p.message).join("\n")).toContain('role "k_far" holds privileges in database "archive2"');
      expect(await f.appGranted("k_far")).toEqual([]);
      const { rows } = await f.su.query("SELECT pg_has_role('frank', 'k_far', 'MEMBER') AS m");
      expect(rows[0]).toEqual({ m: false });
      // The DBA's fix: no privileges there at all (the app can only inspect the database it connects to).
      await archive.query("REVOKE ALL ON secrets FROM k_far CASCADE");
      expect((await e.grant(f.input("far-2", { role: "k_far", dbUser: "frank" }))).ok).toBe(true);
    } finally {
      await archive.end();
    }
  });
});

describe("I14: default privileges FOR ROLE the bundle, every form", () => {
  it("I14: global, IN SCHEMA, ON SCHEMAS/TYPES/SEQUENCES, and REVOKE from PUBLIC entries are all undone at revoke; the next person is granted", async () => {
    await f.su.query("CREATE SCHEMA IF NOT EXISTS reports");
    expect((await engine.grant(f.input("adp-1", { role: "k_bundle3", dbUser: "erin" }))).ok).toBe(true);
    const e = await f.login("erin");
    for (const sql of [
      "ALTER DEFAULT PRIVILEGES FOR ROLE k_bundle3 REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC",
      "ALTER DEFAULT PRIVILEGES FOR ROLE k_bundle3 GRANT ALL ON SCHEMAS TO erin",
      "ALTER DEFAULT PRIVILEGES FOR ROLE k_bundle3 REVOKE USAGE ON TYPES FROM PUBLIC",
      "ALTER DEFAULT PRIVILEGES FOR ROLE k_bundle3 IN SCHEMA reports GRANT SELECT ON TABLES TO PUBLIC",
      "ALTER DEFAULT PRIVILEGES FOR ROLE k_bundle3 IN SCHEMA reports GRANT USAGE ON SEQUENCES TO erin WITH GRANT OPTION",
      "ALTER DEFAULT PRIVILEGES FOR ROLE k_bundle3 REVOKE ALL ON TABLES FROM k_bundle3",
    ]) await e.query(sql);
    const during = await f.su.query("SELECT count(*)::int AS n FROM pg_default_acl WHERE defaclrole = 'k_bundle3'::regrole");
    expect(during.rows[0]!.n).toBeGreaterThanOrEqual(5);
    const d = await revoke("adp-1");
    expect(d.ok, d.message).toBe(true);
    expect(d.details.residue?.remaining).toEqual([]);
    const after = await f.su.query("SELECT count(*)::int AS n FROM pg_default_acl WHERE defaclrole = 'k_bundle3'::regrole");
    expect(after.rows[0]).toEqual({ n: 0 });
    const next = await engine.grant(f.input("adp-2", { role: "k_bundle3", dbUser: "frank" }));
    expect(next.ok, JSON.stringify(next.problems)).toBe(true);
    expect(await f.appGranted("k_bundle3")).toEqual([{ role: "k_bundle3", member: "frank", admin: false }]);
    expect((await revoke("adp-2")).ok).toBe(true);
  });
});

describe("I14: powers far up the closure", () => {
  const setups: [string, string[], RegExp][] = [
    ["CREATEDB three levels up", ["CREATE ROLE z1 NOLOGIN", "CREATE ROLE z2 NOLOGIN", "CREATE ROLE z3 NOLOGIN CREATEDB", "GRANT z3 TO z2", "GRANT z2 TO z1", "GRANT z1 TO k_up1"],
      /member of "z3" \(CREATEDB\) through "z1"/],
    ["ADMIN OPTION on another role through an intermediate", ["CREATE ROLE y1 NOLOGIN", "CREATE ROLE y2 NOLOGIN", "GRANT k_bundle TO y2 WITH ADMIN OPTION", "GRANT y2 TO y1", "GRANT y1 TO k_up2"],
      /role "y2" .* holds ADMIN OPTION on role k_bundle/],
    ["ownership of a database", ["CREATE ROLE x1 NOLOGIN", "CREATE DATABASE owned_db", "ALTER DATABASE owned_db OWNER TO x1", "GRANT x1 TO k_up3"],
      /role "x1" .* owns 1 object\(s\) in shared objects: database owned_db/],
    ["ownership of a large object and a foreign server", ["CREATE ROLE w1 NOLOGIN", "SELECT lo_create(424242)", "ALTER LARGE OBJECT 424242 OWNER TO w1",
      "CREATE FOREIGN DATA WRAPPER dummy_fdw", "CREATE SERVER far_srv FOREIGN DATA WRAPPER dummy_fdw", "ALTER SERVER far_srv OWNER TO w1", "GRANT w1 TO k_up4"],
      /role "w1" .* owns 2 object\(s\) in database "orders": (large object 424242, server far_srv|server far_srv, large object 424242)/],
    ["CREATE on a schema through PUBLIC", ["CREATE SCHEMA open_s", "GRANT CREATE ON SCHEMA open_s TO PUBLIC", "CREATE ROLE v1 NOLOGIN", "GRANT v1 TO k_up5"],
      /role "k_up5" can CREATE in schema open_s/],
  ];
  const roles = setups.map((_, i) => `k_up${i + 1}`);

  beforeAll(async () => {
    for (const r of roles) {
      await f.su.query(`CREATE ROLE ${r} NOLOGIN`);
      await f.su.query(f.major >= 16 ? `GRANT ${r} TO jit_app WITH ADMIN TRUE, INHERIT FALSE, SET FALSE` : `GRANT ${r} TO jit_app WITH ADMIN OPTION`);
    }
    for (const [, sql] of setups) for (const s of sql) await f.su.query(s);
  });

  it.each(setups.map(([name, , why], i) => [name, roles[i]!, why] as const))("I14: %s refuses %s, nothing granted", async (_name, role, why) => {
    const e = engine;
    const id = `up-${role.replaceAll("_", "-")}`;
    const d = await e.grant(f.input(id, { role, dbUser: "frank" }));
    expect(d.code).toBe("JIT_ROLE_NOT_PURE");
    expect(d.problems.map((p) => p.message).join("\n")).toMatch(why);
    expect(await f.appGranted(role)).toEqual([]);
    const { rows } = await f.su.query("SELECT pg_has_role('frank', $1, 'MEMBER') AS m", [role]);
    expect(rows[0]).toEqual({ m: false });
  });
});

