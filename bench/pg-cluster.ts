// A throwaway PostgreSQL for benchmarks that need more connections than the test harness allows
// (1 000 live grantee sessions at once). Same binaries and conventions as test/harness/postgres.ts:
// 127.0.0.1 only, trust auth, a fresh data directory, the `postgres` OS user when run as root,
// stopped by the PID we started and removed afterwards. Not a benchmark itself (no .bench.ts).
import { execFileSync, spawn } from "node:child_process";
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { binDir, type PgMajor, type TestCluster } from "../test/harness/postgres.ts";

function ids(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
  return { uid: id("-u"), gid: id("-g") };
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      srv.close(() => (typeof a === "object" && a ? ok(a.port) : fail(new Error("no port"))));
    });
  });
}

export async function startBenchPostgres(major: PgMajor, settings: Record<string, string>): Promise<TestCluster> {
  const bin = binDir(major);
  const who = ids();
  const dataDir = mkdtempSync(join(tmpdir(), `jit-bench-pg${major}-`));
  if (who.uid !== undefined) chownSync(dataDir, who.uid, who.gid ?? who.uid);
  execFileSync(join(bin, "initdb"), ["-D", dataDir, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"],
    { ...who, env: { ...process.env, LC_ALL: "C" }, stdio: "ignore" });
  const port = await freePort();
  const args = ["-D", dataDir, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", `unix_socket_directories=${dataDir}`,
    "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
    ...Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`])];
  const child = spawn(join(bin, "postgres"), args, { ...who, env: { ...process.env, LC_ALL: "C" }, stdio: "ignore" });
  const exited = new Promise<void>((ok) => child.once("exit", () => ok()));
  const connect = async (user = "postgres", db = "postgres") => {
    const c = new pg.Client({ host: "127.0.0.1", port, user, database: db });
    c.on("error", () => {});
    await c.connect();
    return c;
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const c = await connect();
      await c.end();
      break;
    } catch (e) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`bench PostgreSQL did not start: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const url = (user: string, db: string) => `postgresql://${encodeURIComponent(user)}@127.0.0.1:${port}/${encodeURIComponent(db)}`;
  return {
    major, port, host: "127.0.0.1",
    superuserUrl: (db = "postgres") => url("postgres", db),
    connect,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGINT");
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
