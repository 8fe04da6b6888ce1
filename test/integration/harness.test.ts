// The harness itself: a real server of the major under test that accepts roles and grants.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";

describe("test harness", () => {
  let cluster: TestCluster;
  let su: pg.Client;

  beforeAll(async () => {
    cluster = await startPostgres();
    su = await cluster.connect();
  });
  afterAll(async () => {
    await su?.end();
    await cluster?.stop();
  });

  it("runs the PostgreSQL major named by JIT_TEST_PG_MAJOR on loopback", async () => {
    const expected = process.env.JIT_TEST_PG_MAJOR ?? "15";
    const { rows } = await su.query<{ v: string; addr: string }>(
      "SELECT current_setting('server_version_num') AS v, inet_server_addr()::text AS addr");
    expect(String(Math.floor(Number(rows[0]!.v) / 10000))).toBe(expected);
    expect(cluster.major).toBe(expected);
    expect(rows[0]!.addr).toBe("127.0.0.1/32");
    expect(cluster.superuserUrl("postgres")).toBe(`postgresql://postgres@127.0.0.1:${cluster.port}/postgres`);
  });

  it("creates roles, grants membership and reports it through pg_has_role", async () => {
    await su.query("CREATE ROLE harness_bundle NOLOGIN");
    await su.query("CREATE ROLE harness_alice LOGIN");
    const before = await su.query<{ m: boolean }>("SELECT pg_has_role('harness_alice', 'harness_bundle', 'MEMBER') AS m");
    expect(before.rows[0]!.m).toBe(false);
    await su.query("GRANT harness_bundle TO harness_alice");
    const after = await su.query<{ m: boolean }>("SELECT pg_has_role('harness_alice', 'harness_bundle', 'MEMBER') AS m");
    expect(after.rows[0]!.m).toBe(true);
    const alice = await cluster.connect("harness_alice");
    const who = await alice.query<{ u: string }>("SELECT current_user AS u");
    expect(who.rows[0]!.u).toBe("harness_alice");
    await alice.end();
  });
});
