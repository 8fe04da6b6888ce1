// The delivery queue's SQL on a real server (src/db/deliveries.ts): stored once, claimed once
// however many workers race, per-pull-request order, lease expiry after a worker dies, backoff,
// dead letters and retry.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
import {
  claimDelivery, enqueueDelivery, failDelivery, finishDelivery, queueStats, renewLease, retryDelivery, type NewDelivery,
} from "../../src/db/deliveries.ts";
import { migrate } from "../../src/db/migrations.ts";
import { createPool } from "../../src/db/state.ts";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";

let cluster: TestCluster;
let pool: pg.Pool;

beforeAll(async () => {
  cluster = await startPostgres();
  const su = await cluster.connect();
  await su.query("CREATE DATABASE state");
  await su.end();
  pool = createPool({ connectionString: cluster.superuserUrl("state"), max: 20 });
  await migrate(pool);
});
afterAll(async () => {
  await pool?.end();
  await cluster?.stop();
});

const delivery = (id: string, key: string): NewDelivery => ({
  id, event: "pull_request", action: "closed", payload: { action: "closed", number: 1 }, repository: "acme/access", orderingKey: key,
});

async function clear(): Promise<void> {
  await pool.query("DELETE FROM deliveries");
}

describe("delivery queue", () => {
  it("I17: a delivery id is stored once; the copy queues nothing", async () => {
    await clear();
    expect(await enqueueDelivery(pool, delivery("d-1", "acme/access#1"))).toBe(true);
    expect(await enqueueDelivery(pool, delivery("d-1", "acme/access#1"))).toBe(false);
    expect((await queueStats(pool)).depth).toBe(1);
  });

  it("I17: twenty workers racing claim each job exactly once", async () => {
    await clear();
    for (let i = 0; i < 10; i++) await enqueueDelivery(pool, delivery(`r-${i}`, `acme/access#${i}`));
    const claims = await Promise.all(Array.from({ length: 20 }, (_, i) => claimDelivery(pool, `w-${i}`, 60_000)));
    const ids = claims.filter((c) => c !== null).map((c) => c!.id).sort();
    expect(ids).toEqual(Array.from({ length: 10 }, (_, i) => `r-${i}`).sort());
  });

  it("deliveries of one pull request run one at a time, in arrival order; other pull requests do not wait", async () => {
    await clear();
    await enqueueDelivery(pool, delivery("a-1", "acme/access#7"));
    await enqueueDelivery(pool, delivery("a-2", "acme/access#7"));
    await enqueueDelivery(pool, delivery("b-1", "acme/access#8"));
    expect((await claimDelivery(pool, "w", 60_000))?.id).toBe("a-1");
    expect((await claimDelivery(pool, "w", 60_000))?.id).toBe("b-1"); // a-2 waits for a-1
    expect(await claimDelivery(pool, "w", 60_000)).toBeNull();
    await finishDelivery(pool, "a-1", "w");
    expect((await claimDelivery(pool, "w", 60_000))?.id).toBe("a-2");
  });

  it("I17: a worker that dies after its claim: the job is claimed again once the lease runs out, not before", async () => {
    await clear();
    await enqueueDelivery(pool, delivery("l-1", "acme/access#1"));
    expect((await claimDelivery(pool, "dead", 300))?.attempts).toBe(1);
    expect(await claimDelivery(pool, "alive", 60_000)).toBeNull();
    let again = null;
    for (let i = 0; i < 100 && !again; i++) {
      again = await claimDelivery(pool, "alive", 60_000);
      if (!again) await new Promise((r) => setTimeout(r, 20));
    }
    expect(again).toMatchObject({ id: "l-1", attempts: 2 });
    // the dead worker's late finish or renewal changes nothing: the job is no longer its own
    expect(await renewLease(pool, "l-1", "dead", 60_000)).toBe(false);
    await finishDelivery(pool, "l-1", "dead");
    expect((await pool.query("SELECT state, locked_by FROM deliveries WHERE delivery_id = 'l-1'")).rows[0]).toEqual({ state: "running", locked_by: "alive" });
  });

  it("failures back off, then the job is dead; retry queues it with a fresh budget", async () => {
    await clear();
    await enqueueDelivery(pool, delivery("f-1", "acme/access#1"));
    await claimDelivery(pool, "w", 60_000);
    expect(await failDelivery(pool, "f-1", "w", { error: "HTTP 502", retryInMs: 60_000, maxAttempts: 2 })).toBe("queued");
    expect(await claimDelivery(pool, "w", 60_000)).toBeNull(); // backing off
    await pool.query("UPDATE deliveries SET next_attempt_at = clock_timestamp() WHERE delivery_id = 'f-1'");
    expect((await claimDelivery(pool, "w", 60_000))?.attempts).toBe(2);
    expect(await failDelivery(pool, "f-1", "w", { error: "HTTP 502", retryInMs: 0, maxAttempts: 2 })).toBe("dead");
    expect(await claimDelivery(pool, "w", 60_000)).toBeNull();
    expect(await queueStats(pool)).toMatchObject({ depth: 0, dead: 1 });
    expect(await retryDelivery(pool, "f-1")).toBe(true);
    expect((await claimDelivery(pool, "w", 60_000))?.attempts).toBe(1);
    await finishDelivery(pool, "f-1", "w");
    expect(await retryDelivery(pool, "f-1")).toBe(false); // done stays done
    expect(await queueStats(pool)).toEqual({ depth: 0, dead: 0, oldestMs: null });
  });
});
