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

beforeAll(async () => {
  cluster = await startPostgres();
  f = await setupGrantFixture(cluster, { roles: BUNDLES, logins: ["mallory", "erin", "frank"] });
  // A login that owns a schema of its own: common, and the lever of the PG15 attack below.
  await f.su.query("CREATE SCHEMA mallory_s AUTHORIZATION mallory");
  engine = f.newEngine({ policy: makePolicy(BUNDLES) }).engine;
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

    if (f.major >= 16) {
      expect(d.details.residue).toEqual({ undone: [], remaining: [] });
      expect((await engine.grant(f.input("hand-2", { role: "k_bundle", dbUser: "erin" }))).ok).toBe(true);
      return;
    }
    // PG15: what she handed over is reported (the app cannot take ownership back) and refuses the next grant.
    expect(d.details.residue?.remaining).toContainEqual(expect.objectContaining({
      code: "JIT_WINDOW_RESIDUE", message: expect.stringContaining('"k_bundle" owns 2 object(s)'),
    }));
    expect(await eventsFor(f, "hand-1")).toContainEqual({ kind: "window_residue", code: "JIT_WINDOW_RESIDUE" });
    const next = await engine.grant(f.input("hand-2", { role: "k_bundle", dbUser: "erin" }));
    expect(next.code).toBe("JIT_ROLE_NOT_PURE");
    expect(next.problems.map((p) => p.message).join("\n")).toMatch(/role "k_bundle" owns 2 object\(s\) in database "orders": (function|view)/);
    expect(await f.appGranted("k_bundle")).toEqual([]);
    // The fix a DBA runs makes the role grantable again.
    await f.su.query("REASSIGN OWNED BY k_bundle TO mallory");
    await f.su.query("REVOKE ALL ON SCHEMA mallory_s FROM k_bundle");
    expect((await engine.grant(f.input("hand-3", { role: "k_bundle", dbUser: "erin" }))).ok).toBe(true);
  });
});
