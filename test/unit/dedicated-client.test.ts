// The leader lock and the per-merge lock open their own connection with the state pool's settings.
// pg-pool hides the password from a spread of its options; losing it broke both locks against a
// password-protected state database (the embedded default uses one).
import pg from "pg";
import { describe, expect, it } from "vitest";
import { dedicatedClient } from "../../src/db/state.ts";

describe("dedicatedClient", () => {
  it("keeps the pool's password, host, port, user and database", async () => {
    const pool = new pg.Pool({ host: "127.0.0.1", port: 5999, user: "jit", password: "not-a-real-secret", database: "state" });
    expect({ ...pool.options }.password).toBeUndefined(); // why the helper exists
    const c = dedicatedClient(pool, "test") as unknown as { password: string; host: string; port: number; user: string; database: string };
    expect(c.password).toBe("not-a-real-secret");
    expect([c.host, c.port, c.user, c.database]).toEqual(["127.0.0.1", 5999, "jit", "state"]);
    await pool.end();
  });
});
