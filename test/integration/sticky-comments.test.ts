// The sticky comment's memory in the state database (migration 023): one row per pull request,
// per repository; forgetting is by the comment id it was told, so a replica that forgets a comment
// that is gone never drops the id another replica just remembered.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
import { migrate } from "../../src/db/migrations.ts";
import { createPool } from "../../src/db/state.ts";
import { stickyMemory } from "../../src/db/sticky-comments.ts";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";

let cluster: TestCluster;
let pool: pg.Pool;

beforeAll(async () => {
  cluster = await startPostgres();
  const su = await cluster.connect();
  await su.query("CREATE DATABASE state");
  await su.end();
  pool = createPool({ connectionString: cluster.superuserUrl("state") });
  await migrate(pool);
});
afterAll(async () => {
  await pool?.end();
  await cluster?.stop();
});

describe("sticky comment memory", () => {
  it("remembers the latest id and hash per (repository, PR); forgets only the id it is told", async () => {
    const a = stickyMemory(pool, "acme/access");
    const b = stickyMemory(pool, "acme/other");
    expect(await a.get(7)).toBeNull();
    await a.set(7, { commentId: 6_000_001, bodySha256: "h1" });
    await b.set(7, { commentId: 6_000_009, bodySha256: "hb" });
    await a.set(7, { commentId: 6_000_001, bodySha256: "h2" });
    expect(await a.get(7)).toEqual({ commentId: 6_000_001, bodySha256: "h2" });
    expect(await a.get(8)).toBeNull();
    // ids above 2^31 (GitHub's comment ids are 64-bit) round-trip
    await a.set(8, { commentId: 2 ** 33 + 5, bodySha256: "h3" });
    expect(await a.get(8)).toEqual({ commentId: 2 ** 33 + 5, bodySha256: "h3" });
    await a.forget(7, 6_000_002); // not the remembered id: kept
    expect(await a.get(7)).toEqual({ commentId: 6_000_001, bodySha256: "h2" });
    await a.forget(7, 6_000_001);
    expect(await a.get(7)).toBeNull();
    expect(await b.get(7)).toEqual({ commentId: 6_000_009, bodySha256: "hb" });
  });
});
