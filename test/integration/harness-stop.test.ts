// The harness cleans up after itself: stop() ends the postmaster it spawned and removes its data.
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { startPostgres } from "../harness/postgres.ts";

describe("test harness teardown", () => {
  it("stop() ends the server and removes its data directory", async () => {
    const cluster = await startPostgres();
    const c = await cluster.connect();
    const { rows } = await c.query<{ d: string }>("SELECT current_setting('data_directory') AS d");
    await c.end();
    expect(existsSync(rows[0]!.d)).toBe(true);
    await cluster.stop();
    expect(existsSync(rows[0]!.d)).toBe(false);
    await expect(cluster.connect()).rejects.toThrow();
  });
});
