// Migration files carry their id in the name; two branches picking the same number would make the
// second fail at start (the state database's jit_migrations key), so ids must be unique.
import { describe, expect, it } from "vitest";
import { loadMigrations } from "../../src/db/migrations.ts";

describe("state migrations", () => {
  it("have unique, increasing ids that match their file names", () => {
    const ms = loadMigrations();
    const ids = ms.map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    for (const m of ms) expect(m.name).toMatch(new RegExp(`^${String(m.id).padStart(3, "0")}_[a-z0-9_]+\\.sql$`));
  });
});
