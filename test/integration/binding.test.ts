// I16 on a real server: the same role on one cluster under two database keys with different rules
// is refused (by connection and by cluster system identifier), and the target login is bound by
// OID from the check to the grant.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Policy } from "../../src/core/types.ts";
import { recordBinding } from "../../src/db/target-binding.ts";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";
import { APP, DB_KEY, ENV_NAME, ledgerRow, makePolicy, rolePolicy, setupGrantFixture, type GrantFixture } from "../harness/grant-fixture.ts";

let cluster: TestCluster;
let f: GrantFixture;

beforeAll(async () => {
  cluster = await startPostgres();
  f = await setupGrantFixture(cluster, { logins: ["alice", "bob", "carol", "dave", "erin"] });
  await f.su.query("CREATE DATABASE other");
}, 120_000);

afterAll(async () => {
  await f?.close();
  await cluster?.stop();
});

const OTHER_KEY = "orders-replica";
const OTHER_ENV = "ORDERS_REPLICA_DATABASE_URL";

/** Two keys allowlisting orders_readonly; the second with looser rules unless `same`. */
function twoKeys(same = false): Policy {
  const base = makePolicy(["orders_readonly", "orders_admin"]);
  return {
    ...base,
    databases: {
      ...base.databases,
      [OTHER_KEY]: {
        connectionEnv: OTHER_ENV, source: "policies/replica.yaml",
        roles: { orders_readonly: same ? rolePolicy() : { ...rolePolicy("24h", 24 * 3_600_000), approvals: 1, approvers: ["someone-else"] } },
      },
    },
  };
}

function key(requestId: string, headSha: string) {
  return { repository: "acme/access", headSha, database: DB_KEY, dbUser: f.input(requestId).dbUser };
}

describe("I16: one membership, one set of rules", () => {
  it("I16: a key whose URL names the cluster differently (127.1) is told apart by system identifier and refused", async () => {
    // Another database and another spelling of the host: the configuration cannot tell, the cluster can.
    const env = { ...f.env, [OTHER_ENV]: `postgresql://${APP}@127.1:${cluster.port}/other` };
    const { engine } = f.newEngine({ policy: twoKeys(), env });
    for (const database of [OTHER_KEY, DB_KEY]) {
      const id = `shared-${database}`;
      const d = await engine.grant(f.input(id, { database, path: `access-requests/${database}/${id}.yaml`, dbUser: "bob" }));
      expect(d.ok).toBe(false);
      expect(d.code).toBe("JIT_ROLE_SHARED_ACROSS_KEYS");
      expect(d.message).toContain("the same cluster (equal system identifiers)");
      expect(d.message).not.toContain("127.1");
      expect(await ledgerRow(f, id)).toBeUndefined();
    }
    expect(await f.appGranted()).toEqual([]);
    // The check's SQL preview says so before anyone approves.
    await expect(engine.plan(DB_KEY, "orders_readonly", "bob")).rejects.toMatchObject({ code: "JIT_ROLE_SHARED_ACROSS_KEYS" });
    const { rows } = await f.su.query("SELECT pg_has_role('bob', 'orders_readonly', 'MEMBER') AS m");
    expect(rows[0]).toEqual({ m: false });
  });

  it("I16: the same connection variable or the same host and port is refused without connecting to the other key", async () => {
    const sameVar = twoKeys();
    sameVar.databases[OTHER_KEY]!.connectionEnv = ENV_NAME;
    const d1 = await f.newEngine({ policy: sameVar }).engine.grant(f.input("shared-var", { dbUser: "bob" }));
    expect(d1.code).toBe("JIT_ROLE_SHARED_ACROSS_KEYS");
    expect(d1.message).toContain(`the same connection variable ${ENV_NAME}`);
    const env = { ...f.env, [OTHER_ENV]: `postgresql://nobody:Sentinel-Secret-42@127.0.0.1:${cluster.port}/other` };
    const d2 = await f.newEngine({ policy: twoKeys(), env }).engine.grant(f.input("shared-host", { dbUser: "bob" }));
    expect(d2.code).toBe("JIT_ROLE_SHARED_ACROSS_KEYS");
    expect(d2.message).toContain(`${ENV_NAME} and ${OTHER_ENV} name the same host and port`);
    expect(JSON.stringify(d2)).not.toContain("Sentinel-Secret-42");
    expect(await f.appGranted()).toEqual([]);
  });

  it("I16: equal rules under both keys, or a role only one key allows, are granted", async () => {
    const env = { ...f.env, [OTHER_ENV]: `postgresql://${APP}@127.1:${cluster.port}/other` };
    const same = await f.newEngine({ policy: twoKeys(true), env }).engine.grant(f.input("same-rules", { dbUser: "carol" }));
    expect(same.ok, JSON.stringify(same.problems)).toBe(true);
    const other = await f.newEngine({ policy: twoKeys(), env }).engine.grant(f.input("only-one", { role: "orders_admin", dbUser: "carol" }));
    expect(other.ok, JSON.stringify(other.problems)).toBe(true);
    expect((await f.appGranted()).filter((m) => m.member === "carol").map((m) => m.role)).toEqual(["orders_admin", "orders_readonly"]);
  });
});

describe("I16: the target login is bound by OID", () => {
  it("I16: a login dropped and recreated between check and merge is a different person: JIT_TARGET_CHANGED, nothing granted", async () => {
    const sha = "1".repeat(40);
    const checked = await f.engine.bindTarget(key("oid-1", sha));
    const { rows } = await f.su.query<{ oid: string }>("SELECT oid::text AS oid FROM pg_roles WHERE rolname = 'alice'");
    expect(checked.recorded).toEqual({ clusterId: expect.stringMatching(/^\d+$/), memberOid: rows[0]!.oid });
    await f.su.query("DROP ROLE alice");
    await f.su.query("CREATE ROLE alice LOGIN");
    // A re-run of the check on the same head cannot launder the swap: the first binding stays.
    const again = await f.engine.bindTarget(key("oid-1", sha));
    expect(again.recorded).toEqual(checked.recorded);
    expect(again.current.memberOid).not.toBe(checked.recorded.memberOid);

    const d = await f.engine.grant(f.input("oid-1", { headSha: sha }));
    expect(d.ok).toBe(false);
    expect(d.code).toBe("JIT_TARGET_CHANGED");
    expect(d.message).toContain(`was OID ${checked.recorded.memberOid} when the check ran and is OID ${again.current.memberOid} now`);
    expect(await f.appGranted()).not.toContainEqual(expect.objectContaining({ member: "alice" }));
    expect(await ledgerRow(f, "oid-1")).toMatchObject({ status: "failed", failure_code: "JIT_TARGET_CHANGED" });
  });

  it("I16: a login that did not exist at check time and exists at merge is refused", async () => {
    const sha = "2".repeat(40);
    await f.su.query("CREATE ROLE late_user NOLOGIN");
    await f.su.query("DROP ROLE late_user");
    expect((await f.engine.bindTarget({ ...key("oid-2", sha), dbUser: "late_user" })).recorded.memberOid).toBeNull();
    await f.su.query("CREATE ROLE late_user LOGIN");
    const d = await f.engine.grant(f.input("oid-2", { headSha: sha, dbUser: "late_user" }));
    expect(d.code).toBe("JIT_TARGET_CHANGED");
    expect(d.message).toContain("was no such login when the check ran");
    expect(await f.appGranted()).not.toContainEqual(expect.objectContaining({ member: "late_user" }));
  });

  it("I16: a binding recorded on another cluster refuses the grant", async () => {
    const sha = "3".repeat(40);
    const oid = (await f.su.query<{ oid: string }>("SELECT oid::text AS oid FROM pg_roles WHERE rolname = 'dave'")).rows[0]!.oid;
    await recordBinding(f.state, { ...key("oid-3", sha), dbUser: "dave" }, { clusterId: "7000000000000000001", memberOid: oid });
    const d = await f.engine.grant(f.input("oid-3", { headSha: sha, dbUser: "dave" }));
    expect(d.code).toBe("JIT_TARGET_CHANGED");
    expect(d.message).toContain("another cluster");
    expect(await f.appGranted()).not.toContainEqual(expect.objectContaining({ member: "dave" }));
  });

  it("I16: the same login on the checked head, and a new head checked after the recreation, are granted", async () => {
    const sha = "4".repeat(40);
    await f.engine.bindTarget({ ...key("oid-4", sha), dbUser: "erin" });
    const d = await f.engine.grant(f.input("oid-4", { headSha: sha, dbUser: "erin" }));
    expect(d.ok, JSON.stringify(d.problems)).toBe(true);
    // alice was recreated above; a new commit gets a new check (and new approvals) for the new role.
    const fresh = "5".repeat(40);
    await f.engine.bindTarget(key("oid-5", fresh));
    const g = await f.engine.grant(f.input("oid-5", { headSha: fresh }));
    expect(g.ok, JSON.stringify(g.problems)).toBe(true);
    expect(await f.appGranted("orders_readonly")).toEqual(expect.arrayContaining([
      { role: "orders_readonly", member: "alice", admin: false }, { role: "orders_readonly", member: "erin", admin: false },
    ]));
  });
});
