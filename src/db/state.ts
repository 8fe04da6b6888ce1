// The state database (ledger, events, deliveries, outbox): DATABASE_URL, or the embedded default.
import pg from "pg";
import { startEmbedded, type EmbeddedState } from "./embedded.ts";

export type Queryable = Pick<pg.Pool | pg.PoolClient, "query">;

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export const consoleLogger: Logger = {
  info: (m) => console.log(m),
  warn: (m) => console.warn(m),
  error: (m) => console.error(m),
};

export function createPool(config: pg.PoolConfig): pg.Pool {
  // A bounded wait for a connection: an exhausted pool fails loudly instead of hanging forever.
  const pool = new pg.Pool({ max: 10, connectionTimeoutMillis: 15_000, ...config });
  // A client whose server connection dies emits "error": the pool forwards it for idle clients, but
  // a checked-out client (e.g. idle in a transaction while the grantor works on a target) has no
  // listener and would crash the process. The failure surfaces on the next query instead, and the
  // pool drops the dead client when it is released.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  return pool;
}

export interface StateDatabase {
  pool: pg.Pool;
  /** Where the state lives, for the log; never contains a password. */
  description: string;
  embedded?: EmbeddedState;
  close(): Promise<void>;
}

/** DATABASE_URL when set, else the embedded PostgreSQL 15 under <cwd>/.data (started or reused). */
export async function openStateDatabase(opts: { env: NodeJS.ProcessEnv; cwd: string; log: Logger }): Promise<StateDatabase> {
  const url = opts.env.DATABASE_URL;
  if (url) {
    const pool = createPool({ connectionString: url, application_name: "jit-access" });
    return { pool, description: "state database from DATABASE_URL", close: () => pool.end() };
  }
  const embedded = await startEmbedded({ dataRoot: `${opts.cwd}/.data`, log: opts.log });
  const pool = createPool({ ...embedded.connection, application_name: "jit-access" });
  return {
    pool,
    embedded,
    description: `embedded PostgreSQL on 127.0.0.1:${embedded.connection.port} (data in ${embedded.dataDir})`,
    async close() {
      await pool.end();
      await embedded.stop();
    },
  };
}

/**
 * A connection of its own with the pool's settings, for session-scoped state (advisory locks) that
 * must not occupy or leak into a pool slot. pg-pool keeps the password non-enumerable, so a spread
 * of the options alone would drop it.
 */
export function dedicatedClient(pool: pg.Pool, applicationName: string): pg.Client {
  const client = new pg.Client({ ...pool.options, password: pool.options.password, application_name: applicationName });
  client.on("error", () => {}); // a dropped connection surfaces as a failed query
  return client;
}

/** Runs fn in a transaction on one client; rolls back on error. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const out = await fn(client);
    await client.query("COMMIT");
    return out;
  } catch (e) {
    await client.query("ROLLBACK").catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}

/** A session-level advisory lock on a text key; released by unlocking or by ending the session. */
export async function lockKey(client: Queryable, key: string): Promise<void> {
  await client.query("SELECT pg_advisory_lock(hashtextextended($1, 0))", [key]);
}
