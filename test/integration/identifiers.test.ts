// The database side of docs/security.md cases 6, 10 and 11: non-strings never reach SQL, hostile
// identifiers leave no side effect on a real server, and request data never becomes a connection.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGrantPlan, quoteIdent, SqlIdentifierError } from "../../src/core/sql.ts";
import { execute } from "../../src/db/executor.ts";
import { GrantEngine } from "../../src/db/grantor.ts";
import { Targets } from "../../src/db/targets.ts";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";
import { APP, DB_KEY, ENV_NAME, ledgerRow, setupGrantFixture, type GrantFixture } from "../harness/grant-fixture.ts";

let cluster: TestCluster;
let f: GrantFixture;

beforeAll(async () => {
  cluster = await startPostgres();
  f = await setupGrantFixture(cluster);
  await f.su.query("CREATE ROLE victim LOGIN");
  await f.su.query(`CREATE ROLE ${"a".repeat(63)} LOGIN`);
});
afterAll(async () => {
  await f?.close();
  await cluster?.stop();
});

async function snapshot(): Promise<unknown> {
  const { rows } = await f.su.query(`SELECT (SELECT array_agg(rolname ORDER BY rolname) FROM pg_roles) AS roles,
    (SELECT array_agg(roleid::text || ':' || member::text || ':' || grantor::text ORDER BY 1) FROM pg_auth_members) AS members`);
  return rows[0];
}

describe("case 6: non-strings never reach SQL", () => {
  it("an array as user or role makes the grant fail with JIT_IDENTIFIER before any database is touched", async () => {
    // A Targets whose variable is unset: any connection attempt would fail with JIT_CONFIG_MISSING_ENV.
    const untouched = new Targets(f.policy, {});
    const engine = new GrantEngine(f.state, untouched, f.policy);
    for (const [field, value] of [["dbUser", ["alice", "bob"]], ["role", ["orders_readonly"]], ["dbUser", { toString: () => "alice" }], ["dbUser", 42]] as const) {
      const d = await engine.grant(f.input("arr-1", { [field]: value as unknown as string }));
      expect(d.ok).toBe(false);
      expect(d.code === "JIT_IDENTIFIER" || (field === "role" && d.code === "JIT_ROLE_NOT_ALLOWED")).toBe(true);
    }
    expect(await ledgerRow(f, "arr-1")).toBeUndefined();
    expect(() => buildGrantPlan({ role: "orders_readonly", dbUser: ["alice", "bob"] as unknown as string, appRole: APP, pgMajor: f.major })).toThrow(SqlIdentifierError);
    await untouched.close();
  });
});

describe("case 10: hostile identifiers", () => {
  const metacharacters = [
    'victim"; DROP ROLE victim; --',
    "victim'; DROP ROLE victim; --",
    'x" WITH ADMIN OPTION; --',
    "alice\nGRANT orders_admin TO victim",
    "Alice",
    "аlice",
    "alice ",
  ];

  it("the builder refuses them; quoted as escapeIdentifier would, the server still leaves no side effect", async () => {
    const before = await snapshot();
    const asApp = await cluster.connect(APP, "orders");
    try {
      for (const name of metacharacters) {
        expect(() => quoteIdent(name)).toThrow(SqlIdentifierError);
        const d = await f.engine.grant(f.input("meta-1", { dbUser: name }));
        expect(d.code).toBe("JIT_IDENTIFIER");
        // Defence in depth: the same name, quoted the way pg's escapeIdentifier does, is just a
        // (missing) role name to the server.
        await expect(asApp.query(`GRANT "orders_readonly" TO ${asApp.escapeIdentifier(name)}`)).rejects.toThrow(/does not exist/);
      }
    } finally {
      await asApp.end();
    }
    expect(await snapshot()).toEqual(before);
    expect(await ledgerRow(f, "meta-1")).toBeUndefined();
  });

  it("reserved names (current_user, public, session_user) are refused by the grant and are no-ops on the server", async () => {
    const before = await snapshot();
    const app = await f.targets.connect(DB_KEY);
    try {
      for (const name of ["current_user", "public", "session_user", "current_role"]) {
        const d = await f.engine.grant(f.input(`reserved-${name.replace("_", "-")}`, { dbUser: name }));
        expect(d.code).toBe("JIT_IDENTIFIER");
        // Quoted, they do not mean the app (CURRENT_USER) or everyone (PUBLIC) to the server either.
        await expect(execute(app, { kind: "grant", text: `GRANT "orders_readonly" TO ${quoteIdent(name)}`, params: [] })).rejects.toThrow(/does not exist/);
      }
    } finally {
      app.release();
    }
    expect(await snapshot()).toEqual(before);
    const { rows } = await f.su.query("SELECT has_table_privilege('victim', 'orders', 'SELECT') AS pub, pg_has_role($1, 'orders_readonly', 'USAGE') AS app", [APP]);
    expect(rows[0]).toEqual({ pub: false, app: false });
  });

  it("64 bytes whose first 63 name an existing role: refused, where the server would have truncated to that role", async () => {
    const long = "a".repeat(64);
    const d = await f.engine.grant(f.input("long-1", { dbUser: long }));
    expect(d.code).toBe("JIT_IDENTIFIER");
    expect(await f.appGranted()).toEqual([]);
    // What the allowlist prevents: PostgreSQL truncates the identifier and grants to the 63-byte role.
    const { rows } = await f.su.query(`SELECT $1::name::text AS truncated`, [long]);
    expect(rows[0].truncated).toBe("a".repeat(63));
  });
});

describe("case 11: connection strings never come from request data", () => {
  it("a database value shaped like a connection string is an unknown database; no connection is made", async () => {
    for (const database of ["postgresql://evil@10.0.0.1:5432/postgres", "host=10.0.0.1 user=evil", "__proto__", "constructor", DB_KEY.toUpperCase()]) {
      const d = await f.engine.grant(f.input("conn-1", { database }));
      expect(d.code).toBe("JIT_DATABASE_UNKNOWN");
      expect(() => f.targets.pool(database)).toThrow(expect.objectContaining({ code: "JIT_DATABASE_UNKNOWN" }));
    }
    expect(await ledgerRow(f, "conn-1")).toBeUndefined();
  });

  it("a missing variable is JIT_CONFIG_MISSING_ENV naming the variable, never another variable's value", async () => {
    const targets = new Targets(f.policy, { OTHER_DATABASE_URL: "postgresql://u:Sentinel-Secret-1@127.0.0.1/x" });
    let error: { code?: string; message?: string } = {};
    try {
      targets.pool(DB_KEY);
    } catch (e) {
      error = e as typeof error;
    }
    expect(error.code).toBe("JIT_CONFIG_MISSING_ENV");
    expect(error.message).toContain(ENV_NAME);
    expect(error.message).not.toContain("Sentinel-Secret-1");
  });

  it("a connection failure names the database and variable but not the password", async () => {
    const targets = new Targets(f.policy, { [ENV_NAME]: "postgresql://jit_app:Sentinel-Secret-2@127.0.0.1:1/orders" });
    const d = await new GrantEngine(f.state, targets, f.policy).grant(f.input("conn-2"));
    expect(d.code).toBe("JIT_DB_UNREACHABLE");
    expect(d.message).toContain(ENV_NAME);
    expect(JSON.stringify(d)).not.toContain("Sentinel-Secret-2");
    await targets.close();
  });
});
