// I16 variants: one cluster reached under two database keys whose connection strings share
// nothing a configuration check can see (key=value vs URL, localhost vs 127.0.0.1, another
// database), with and without the app being allowed to read the cluster's system identifier; and
// a login renamed between check and merge.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Policy } from "../../src/core/types.ts";
import { recordBinding } from "../../src/db/target-binding.ts";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";
import { APP, DB_KEY, ledgerRow, makePolicy, rolePolicy, setupGrantFixture, type GrantFixture } from "../harness/grant-fixture.ts";

let cluster: TestCluster;
let f: GrantFixture;

beforeAll(async () => {
  cluster = await startPostgres();
  f = await setupGrantFixture(cluster, { logins: ["alice", "bob", "carol", "dave"] });
  await f.su.query("CREATE DATABASE other");
}, 120_000);

afterAll(async () => {
  await f?.close();
  await cluster?.stop();
});

const OTHER_KEY = "orders-archive";
const OTHER_ENV = "ORDERS_ARCHIVE_DSN";

function twoKeys(): Policy {
  const base = makePolicy(["orders_readonly", "orders_admin"]);
  return {
    ...base,
    databases: {
      ...base.databases,
      [OTHER_KEY]: { connectionEnv: OTHER_ENV, source: "policies/archive.yaml", roles: { orders_readonly: { ...rolePolicy("24h", 24 * 3_600_000), approvals: 1, approvers: ["someone-else"] } } },
    },
  };
}

/**
 * The other key's connection, spelled so the configuration check cannot match it; the driver
 * connects with URLs only, so a libpq key=value string makes that key unreachable (fail closed).
 */
const spellings = (): [string, "JIT_ROLE_SHARED_ACROSS_KEYS" | "JIT_DB_UNREACHABLE"][] => [
  [`postgres://${APP}@localhost:${cluster.port}/other?sslmode=disable`, "JIT_ROLE_SHARED_ACROSS_KEYS"],
  [`postgresql://${APP}@127.1:${cluster.port}/jit_state`, "JIT_ROLE_SHARED_ACROSS_KEYS"],
  [`host=localhost port=${cluster.port} dbname=other user=${APP}`, "JIT_DB_UNREACHABLE"],
  [`host=127.0.0.1 port=${cluster.port} dbname=jit_state user=${APP} application_name=x`, "JIT_DB_UNREACHABLE"],
];

async function refusedUnderBoth(env: NodeJS.ProcessEnv, tag: string, otherCode: string): Promise<string[]> {
  const { engine } = f.newEngine({ policy: twoKeys(), env });
  const messages: string[] = [];
  for (const database of [DB_KEY, OTHER_KEY]) {
    const id = `${tag}-${database}`;
    const d = await engine.grant(f.input(id, { database, path: `access-requests/${database}/${id}.yaml`, dbUser: "bob" }));
    messages.push(d.message);
    expect(d.code, `${tag} ${database}: ${d.message}`).toBe(database === DB_KEY ? "JIT_ROLE_SHARED_ACROSS_KEYS" : otherCode);
    expect(d.message).not.toMatch(/localhost|127\.0\.0\.1|dbname|postgres:/);
    expect(await ledgerRow(f, id)).toBeUndefined();
  }
  expect(await f.appGranted()).toEqual([]);
  const { rows } = await f.su.query("SELECT pg_has_role('bob', 'orders_readonly', 'MEMBER') AS m");
  expect(rows[0]).toEqual({ m: false });
  return messages;
}

describe("I16: one cluster under two keys, however the connection is spelled", () => {
  it("I16: key=value vs URL, localhost vs 127.0.0.1, another database on the same cluster: refused under either key", async () => {
    let i = 0;
    for (const [other, code] of spellings()) await refusedUnderBoth({ ...f.env, [OTHER_ENV]: other }, `spell${i++}`, code);
  });

  it("I16: still refused when the app may not read the system identifier (EXECUTE on pg_control_system revoked)", async () => {
    await f.su.query("REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC");
    try {
      const denied = await cluster.connect(APP, "orders");
      await expect(denied.query("SELECT system_identifier FROM pg_control_system()")).rejects.toThrow(/permission denied/);
      await denied.end();
      let i = 0;
      for (const [other, code] of spellings()) await refusedUnderBoth({ ...f.env, [OTHER_ENV]: other }, `nosysid${i++}`, code);
      // 127.1 is told apart by neither configuration nor system identifier: by the server's start time and databases.
      const [first] = await refusedUnderBoth({ ...f.env, [OTHER_ENV]: `postgresql://${APP}@127.1:${cluster.port}/other` }, "print", "JIT_ROLE_SHARED_ACROSS_KEYS");
      expect(first).toContain("the same server (equal start time and databases)");
    } finally {
      await f.su.query("GRANT EXECUTE ON FUNCTION pg_control_system() TO PUBLIC");
    }
  });
});

describe("I16: the login is bound by OID", () => {
  it("I16: a login renamed between check and merge, and another login renamed to its name, are refused", async () => {
    const { engine, targets } = f.newEngine();
    const info = await targets.info(DB_KEY);
    const oid = (await f.su.query("SELECT oid::text AS oid FROM pg_roles WHERE rolname = 'carol'")).rows[0]!.oid as string;
    const bind = { repository: "acme/access", headSha: "c".repeat(40), database: DB_KEY, dbUser: "carol" };
    await recordBinding(f.state, bind, { clusterId: info.clusterId, memberOid: oid });
    // carol is renamed away and dave takes her name: the name the approvers saw is now someone else.
    await f.su.query("ALTER ROLE carol RENAME TO carol_old");
    await f.su.query("ALTER ROLE dave RENAME TO carol");
    const d = await engine.grant(f.input("renamed", { dbUser: "carol", headSha: "c".repeat(40) }));
    expect(d.code).toBe("JIT_TARGET_CHANGED");
    expect((await f.appGranted()).filter((m) => m.member.startsWith("carol"))).toEqual([]);
    const { rows } = await f.su.query("SELECT pg_has_role('carol', 'orders_readonly', 'MEMBER') AS a, pg_has_role('carol_old', 'orders_readonly', 'MEMBER') AS b");
    expect(rows[0]).toEqual({ a: false, b: false });
  });
});
