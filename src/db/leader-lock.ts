// The leader lock's SQL: a session-level advisory lock on a connection of its own (never the pool:
// advisory locks belong to a connection), and the server's answer whether that connection holds it.
import type { Queryable } from "./state.ts";

/** Advisory lock keys, two-int4 form (class, object). The class spells "jit!" in ASCII. */
export const LOCK_CLASS = 0x6a697421;

/** Takes the lock if free; never waits. Returns the backend pid when taken. */
export async function tryAdvisoryLock(client: Queryable, object: number): Promise<{ ok: boolean; pid: number }> {
  const { rows } = await client.query<{ ok: boolean; pid: number }>(
    "SELECT pg_try_advisory_lock($1::int, $2::int) AS ok, pg_backend_pid() AS pid", [LOCK_CLASS, object]);
  return { ok: Boolean(rows[0]?.ok), pid: rows[0]?.pid ?? 0 };
}

/** Whether THIS connection holds the lock now, asked of the server's lock table. */
export async function holdsAdvisoryLock(client: Queryable, object: number): Promise<boolean> {
  const { rows } = await client.query<{ held: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
                       AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 2 AND granted) AS held`,
    [LOCK_CLASS, object]);
  return Boolean(rows[0]?.held);
}

export async function advisoryUnlock(client: Queryable, object: number): Promise<void> {
  await client.query("SELECT pg_advisory_unlock($1::int, $2::int)", [LOCK_CLASS, object]);
}
