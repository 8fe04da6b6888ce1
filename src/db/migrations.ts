// Schema migrations for the state database, applied at start. Idempotent and safe with several
// replicas starting at once: an advisory lock serialises them and each file runs once, in a transaction.
import { readdirSync, readFileSync } from "node:fs";
import type pg from "pg";

const DIR = new URL("./migrations/", import.meta.url);
// Any fixed 64-bit key works; this one spells "jitmigr" in ASCII.
const LOCK_KEY = "29952296304076658";

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

export function loadMigrations(): Migration[] {
  return readdirSync(DIR)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ id: Number(f.slice(0, 3)), name: f, sql: readFileSync(new URL(f, DIR), "utf8") }));
}

/** Applies pending migrations; returns the names applied by this call. */
export async function migrate(pool: pg.Pool, migrations: Migration[] = loadMigrations()): Promise<string[]> {
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query(`SELECT pg_advisory_lock(${LOCK_KEY}::bigint)`);
    try {
      await client.query(
        "CREATE TABLE IF NOT EXISTS jit_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT clock_timestamp())");
      const done = new Set((await client.query<{ id: number }>("SELECT id FROM jit_migrations")).rows.map((r) => r.id));
      for (const m of migrations) {
        if (done.has(m.id)) continue;
        await client.query("BEGIN");
        try {
          await client.query(m.sql); // our own static file: multi-statement by design
          await client.query("INSERT INTO jit_migrations (id, name) VALUES ($1, $2)", [m.id, m.name]);
          await client.query("COMMIT");
        } catch (e) {
          await client.query("ROLLBACK").catch(() => {});
          throw new Error(`migration ${m.name} failed: ${(e as Error).message}`, { cause: e });
        }
        applied.push(m.name);
      }
    } finally {
      await client.query(`SELECT pg_advisory_unlock(${LOCK_KEY}::bigint)`).catch(() => {});
    }
  } finally {
    client.release();
  }
  return applied;
}
