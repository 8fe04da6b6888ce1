// I17 on the grant engine: the window opens at merged_at, judged by the state database's clock.
// A merge handled late grants only the rest of its window; one handled after the window, or after
// the state database lost its ledger, grants nothing and uses the request id up. Extensions keep
// the original anchor.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { extendGrant } from "../../src/db/extend.ts";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";
import { eventsFor, ledgerRow, setupGrantFixture, type GrantFixture } from "../harness/grant-fixture.ts";

let cluster: TestCluster;
let f: GrantFixture;
let aliceMergedAt = "";

beforeAll(async () => {
  cluster = await startPostgres();
  f = await setupGrantFixture(cluster, { logins: ["alice", "bob", "carol", "dave", "erin", "frank", "gina", "hank"] });
});
afterAll(async () => {
  await f?.close();
  await cluster?.stop();
});

const HOUR = 3_600_000;

/** The state database's clock, minus `ms`, as GitHub would write merged_at. */
async function dbAgo(ms: number): Promise<string> {
  const { rows } = await f.stateSu.query<{ t: Date }>("SELECT clock_timestamp() - $1::bigint * interval '1 millisecond' AS t", [ms]);
  return rows[0]!.t.toISOString();
}

/** Nothing granted: no app-granted membership of `user`, no active or in-flight ledger row. */
async function nothingGranted(requestId: string, user: string): Promise<void> {
  expect((await f.appGranted()).filter((m) => m.member === user)).toEqual([]);
  const { rows } = await f.stateSu.query("SELECT status FROM ledger WHERE request_id = $1 AND status IN ('active', 'intent')", [requestId]);
  expect(rows).toEqual([]);
}

describe("I17: the grant window is anchored to merged_at", () => {
  it("I17: a merge handled 90 minutes late grants only the 30 minutes left of a 2h window", async () => {
    const mergedAt = (aliceMergedAt = await dbAgo(90 * 60_000));
    const d = await f.engine.grant(f.input("alice-late", { mergedAt }));
    expect(d.ok, JSON.stringify(d.problems)).toBe(true);
    const row = (await ledgerRow(f, "alice-late"))!;
    expect((row.expires_at as Date).toISOString()).toBe(new Date(Date.parse(mergedAt) + 2 * HOUR).toISOString());
    // granted now, expiring in about 30 minutes: the delay came out of the window, not on top of it
    const left = (row.expires_at as Date).getTime() - (row.granted_at as Date).getTime();
    expect(left).toBeGreaterThan(25 * 60_000);
    expect(left).toBeLessThanOrEqual(30 * 60_000);
    expect(await f.appGranted("orders_readonly")).toContainEqual({ role: "orders_readonly", member: "alice", admin: false });
  });

  it("I17: a merge handled after its window has passed grants nothing (JIT_WINDOW_PASSED) and uses the request id up", async () => {
    const mergedAt = await dbAgo(3 * HOUR);
    const d = await f.engine.grant(f.input("bob-replayed", { dbUser: "bob", mergedAt }));
    expect(d.ok).toBe(false);
    expect(d.code).toBe("JIT_WINDOW_PASSED");
    expect(d.message).toContain("nothing granted");
    await nothingGranted("bob-replayed", "bob");
    const row = (await ledgerRow(f, "bob-replayed"))!;
    expect(row).toMatchObject({ status: "failed", failure_code: "JIT_WINDOW_PASSED", granted_at: null, expires_at: null, sql_executed: [] });
    expect(await eventsFor(f, "bob-replayed")).toEqual([{ kind: "grant_intent", code: null }, { kind: "grant_refused", code: "JIT_WINDOW_PASSED" }]);

    // The same merge replayed again, even with a fresh merged_at (a forged or re-read value): the id is used.
    const again = await f.engine.grant(f.input("bob-replayed", { dbUser: "bob", mergedAt: await dbAgo(0) }));
    expect(again.code).toBe("JIT_WINDOW_PASSED");
    await nothingGranted("bob-replayed", "bob");
  });

  it("I17: a window that ends exactly now, or a millisecond ago, is passed", async () => {
    for (const [id, user, ago] of [["carol-edge", "carol", 2 * HOUR], ["dave-edge", "dave", 2 * HOUR + 1]] as const) {
      const d = await f.engine.grant(f.input(id, { dbUser: user, mergedAt: await dbAgo(ago) }));
      expect(d.code, id).toBe("JIT_WINDOW_PASSED");
      await nothingGranted(id, user);
    }
  });

  it("I17: a replay after the state database lost its ledger grants nothing once the window has passed", async () => {
    const mergedAt = await dbAgo(10 * 60_000);
    const first = await f.engine.grant(f.input("erin-lost", { dbUser: "erin", durationMs: 30 * 60_000, mergedAt }));
    expect(first.ok, JSON.stringify(first.problems)).toBe(true);
    // Revoked at expiry, then the state database is lost (restored empty).
    expect((await f.engine.revoke({ repository: "acme/access", database: "orders-prod", requestId: "erin-lost" }, { reason: "expired", actor: "test" })).ok).toBe(true);
    await f.stateSu.query("DELETE FROM ledger WHERE request_id = 'erin-lost'");
    // The same merge, replayed 40 minutes after merged_at: nothing.
    const replay = await f.engine.grant(f.input("erin-lost", { dbUser: "erin", durationMs: 30 * 60_000, mergedAt: await dbAgo(40 * 60_000) }));
    expect(replay.code).toBe("JIT_WINDOW_PASSED");
    await nothingGranted("erin-lost", "erin");
  });

  it("I17: a merged_at ahead of the database clock never lengthens the window", async () => {
    const future = new Date(Date.parse(await dbAgo(0)) + HOUR).toISOString();
    const d = await f.engine.grant(f.input("frank-skew", { dbUser: "frank", mergedAt: future }));
    expect(d.ok, JSON.stringify(d.problems)).toBe(true);
    const row = (await ledgerRow(f, "frank-skew"))!;
    // anchored at the grant (the earlier of the two), so exactly the duration
    expect((row.expires_at as Date).getTime() - (row.granted_at as Date).getTime()).toBe(2 * HOUR);
  });

  it("I17: a merged PR without a usable merged_at fails closed (JIT_MERGE_TIME_UNKNOWN), before any SQL reaches the server", async () => {
    for (const [id, mergedAt] of [["gina-null", null], ["gina-local", "2026-12-01T10:00"], ["gina-junk", "yesterday'); DROP TABLE ledger; --"], ["gina-feb", "2026-02-30T10:00:00Z"]] as const) {
      const d = await f.engine.grant(f.input(id, { dbUser: "gina", mergedAt }));
      expect(d.code, id).toBe("JIT_MERGE_TIME_UNKNOWN");
      await nothingGranted(id, "gina");
    }
    const { rows } = await f.stateSu.query("SELECT count(*)::int AS n FROM ledger");
    expect(rows[0].n).toBeGreaterThan(0); // the ledger is still there
  });

  it("I17: granted_at and expires_at come from one clock reading (no drift between two clock_timestamp() calls)", async () => {
    const d = await f.engine.grant(f.input("hank-one-clock", { dbUser: "hank", durationMs: 45 * 60_000 }));
    expect(d.ok, JSON.stringify(d.problems)).toBe(true);
    const row = (await ledgerRow(f, "hank-one-clock"))!;
    expect((row.expires_at as Date).getTime() - (row.granted_at as Date).getTime()).toBe(45 * 60_000);
  });

  it("I17: an extension keeps the original anchor: the new duration counts from merged_at, not from the grant or the extension", async () => {
    // alice-late was anchored 90 minutes before its grant; extend it to 4h total.
    const ext = await extendGrant(f.state, { repository: "acme/access", database: "orders-prod", requestId: "alice-late" },
      { durationMs: 4 * HOUR, role: "orders_readonly", dbUser: "alice", actor: "test", prNumber: 13, approvers: ["dba-dana"] });
    expect(ext.ok, JSON.stringify(ext.problems)).toBe(true);
    expect(ext.details.expiresAt.toISOString()).toBe(new Date(Date.parse(aliceMergedAt) + 4 * HOUR).toISOString());
    expect(((await ledgerRow(f, "alice-late"))!.expires_at as Date).toISOString()).toBe(ext.details.expiresAt.toISOString());
  });
});
