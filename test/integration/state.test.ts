// The state database schema on a real server: migrations, append-only events, single-use request
// ids, deliveries and the outbox.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
import { recordDelivery, markDeliveryProcessed } from "../../src/db/deliveries.ts";
import { appendEvent, listEvents } from "../../src/db/events.ts";
import { findDue, insertIntent, markActive, nextExpiry } from "../../src/db/ledger.ts";
import { loadMigrations, migrate } from "../../src/db/migrations.ts";
import { claimDue, complete, enqueue, fail } from "../../src/db/outbox.ts";
import { createPool } from "../../src/db/state.ts";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";

let cluster: TestCluster;
let pool: pg.Pool;

beforeAll(async () => {
  cluster = await startPostgres();
  const su = await cluster.connect();
  await su.query("CREATE DATABASE state");
  await su.end();
  pool = createPool({ connectionString: cluster.superuserUrl("state") });
});
afterAll(async () => {
  await pool?.end();
  await cluster?.stop();
});

const intent = (requestId: string) => ({
  repository: "acme/access", path: `access-requests/orders-prod/${requestId}.yaml`, requestId, prNumber: 1, headSha: null, mergeSha: null,
  approvers: ["dana"], database: "orders-prod", clusterId: "c1", role: "orders_readonly", dbUser: "alice", durationMs: 60_000, actor: "test",
});

describe("migrations", () => {
  it("apply once, even when several replicas start at the same time", async () => {
    const results = await Promise.all([migrate(pool), migrate(pool), migrate(pool)]);
    expect(results.flat()).toEqual(loadMigrations().map((m) => m.name));
    expect(await migrate(pool)).toEqual([]);
    const { rows } = await pool.query("SELECT name FROM jit_migrations ORDER BY id");
    expect(rows.map((r) => r.name)).toEqual(loadMigrations().map((m) => m.name));
    expect(rows[0]!.name).toBe("001_state.sql");
  });
});

describe("ledger and events", () => {
  it("request ids are single-use per (repository, database): a second intent returns the first row", async () => {
    const a = await insertIntent(pool, intent("r-1"));
    const b = await insertIntent(pool, { ...intent("r-1"), role: "orders_admin" });
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    expect(b.row.id).toBe(a.row.id);
    expect(b.row.role).toBe("orders_readonly");
    await expect(pool.query("INSERT INTO ledger (repository, path, request_id, database, cluster_id, role, db_user, duration_ms, status, actor) SELECT repository, path, request_id, database, cluster_id, role, db_user, duration_ms, 'intent', actor FROM ledger WHERE request_id = 'r-1'"))
      .rejects.toThrow(/ledger_request_once/);
  });

  it("expiry is computed by the database clock; findDue and nextExpiry read the active index", async () => {
    const { row } = await insertIntent(pool, intent("r-2"));
    const active = await markActive(pool, row.id, { sql: [], verification: {} });
    expect(active.expiresAt!.getTime() - active.grantedAt!.getTime()).toBe(60_000);
    expect((await findDue(pool, 10)).map((r) => r.requestId)).not.toContain("r-2");
    await pool.query("UPDATE ledger SET expires_at = clock_timestamp() - interval '1 minute' WHERE id = $1", [row.id]);
    expect((await findDue(pool, 10)).map((r) => r.requestId)).toEqual(["r-2"]);
    expect(await nextExpiry(pool)).toEqual((await findDue(pool, 1))[0]!.expiresAt);
    await expect(pool.query("UPDATE ledger SET status = 'active', granted_at = NULL WHERE id = $1", [row.id])).rejects.toThrow(/ledger_active_has_times/);
  });

  it("events are append-only: UPDATE, DELETE and TRUNCATE are refused", async () => {
    await appendEvent(pool, { kind: "granted", repository: "acme/access", requestId: "r-2", details: { x: 1 } });
    const [e] = await listEvents(pool, { kind: "granted" });
    expect(e).toMatchObject({ kind: "granted", requestId: "r-2", details: { x: 1 } });
    await expect(pool.query("UPDATE events SET kind = 'revoked'")).rejects.toThrow(/append-only/);
    await expect(pool.query("DELETE FROM events")).rejects.toThrow(/append-only/);
    await expect(pool.query("TRUNCATE events")).rejects.toThrow(/append-only/);
    expect(await listEvents(pool, { kind: "granted" })).toHaveLength(1);
  });
});

describe("deliveries and outbox", () => {
  it("a delivery id is recorded once", async () => {
    expect(await recordDelivery(pool, { id: "d-1", event: "pull_request", action: "closed" })).toBe(true);
    expect(await recordDelivery(pool, { id: "d-1", event: "pull_request", action: "closed" })).toBe(false);
    await markDeliveryProcessed(pool, "d-1", "granted");
    const { rows } = await pool.query("SELECT outcome, processed_at IS NOT NULL AS done FROM deliveries WHERE delivery_id = 'd-1'");
    expect(rows[0]).toEqual({ outcome: "granted", done: true });
  });

  it("outbox entries are unique per key, claimed by one worker at a time, retried with backoff", async () => {
    expect(await enqueue(pool, { kind: "revert_pr", dedupeKey: "revert:r-2", payload: { n: 1 } })).toBe(true);
    expect(await enqueue(pool, { kind: "revert_pr", dedupeKey: "revert:r-2", payload: { n: 2 } })).toBe(false);
    const a = await pool.connect();
    const b = await pool.connect();
    try {
      await a.query("BEGIN");
      await b.query("BEGIN");
      const first = await claimDue(a, 10);
      const second = await claimDue(b, 10);
      expect(first.map((i) => i.payload)).toEqual([{ n: 1 }]);
      expect(second).toEqual([]);
      await fail(a, first[0]!.id, "GitHub 502");
      await a.query("COMMIT");
      await b.query("COMMIT");
    } finally {
      a.release();
      b.release();
    }
    const { rows } = await pool.query("SELECT attempts, last_error, next_attempt_at > clock_timestamp() AS later FROM outbox WHERE dedupe_key = 'revert:r-2'");
    expect(rows[0]).toEqual({ attempts: 1, last_error: "GitHub 502", later: true });
    await pool.query("UPDATE outbox SET next_attempt_at = clock_timestamp() - interval '1 second'");
    const c = await pool.connect();
    try {
      await c.query("BEGIN");
      const [item] = await claimDue(c, 10);
      await complete(c, item!.id);
      await c.query("COMMIT");
    } finally {
      c.release();
    }
    const again = await pool.connect();
    try {
      await again.query("BEGIN");
      expect(await claimDue(again, 10)).toEqual([]);
      await again.query("COMMIT");
    } finally {
      again.release();
    }
  });
});
