// The zero-setup state database: embedded PostgreSQL 15 under a data root, persistent across
// starts, surviving a stale postmaster.pid, reused when already running, loopback only, and never
// logging its password. (It is always PostgreSQL 15, whichever major the project runs.)
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbedded, type EmbeddedState } from "../../src/db/embedded.ts";
import { migrate } from "../../src/db/migrations.ts";
import { openStateDatabase } from "../../src/db/state.ts";

let root: string;
const logs: string[] = [];
const log = { info: (m: string) => logs.push(m), warn: (m: string) => logs.push(m), error: (m: string) => logs.push(m) };

async function withClient<T>(e: EmbeddedState, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client(e.connection);
  c.on("error", () => {});
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

function postmasterPid(e: EmbeddedState): number {
  return Number(readFileSync(join(e.dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "jit-embedded-"));
});
afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("embedded state database", () => {
  it("initialises under the data root, listens on loopback only, uses a private password file", async () => {
    const e = await startEmbedded({ dataRoot: root, log });
    try {
      expect(e.reused).toBe(false);
      expect(e.connection.host).toBe("127.0.0.1");
      const settings = await withClient(e, async (c) => (await c.query(
        "SELECT current_setting('listen_addresses') AS listen, current_setting('server_version_num') AS v, current_database() AS db")).rows[0]);
      expect(settings).toEqual({ listen: "127.0.0.1", v: expect.stringMatching(/^15/), db: "jit_access" });
      expect(statSync(join(root, "postgres.password")).mode & 0o777).toBe(0o600);
      // Password authentication is on: a wrong password is refused.
      const wrong = new pg.Client({ ...e.connection, password: "wrong" });
      wrong.on("error", () => {});
      await expect(wrong.connect()).rejects.toThrow(/password authentication failed/);
      await withClient(e, async (c) => {
        await c.query("CREATE TABLE marker (note text)");
        await c.query("INSERT INTO marker VALUES ('first start')");
      });
    } finally {
      await e.stop();
    }
    expect(existsSync(join(e.dataDir, "postmaster.pid"))).toBe(false);
  });

  it("a second start reuses the data", async () => {
    const e = await startEmbedded({ dataRoot: root, log });
    try {
      const rows = await withClient(e, async (c) => (await c.query("SELECT note FROM marker")).rows);
      expect(rows).toEqual([{ note: "first start" }]);
    } finally {
      await e.stop();
    }
  });

  it("survives a stale postmaster.pid whose PID now belongs to another process", async () => {
    const dataDir = join(root, "pg15");
    writeFileSync(join(dataDir, "postmaster.pid"), `${process.pid}\n${dataDir}\n1700000000\n5999\n\n127.0.0.1\n0 0\nready\n`);
    const e = await startEmbedded({ dataRoot: root, log });
    try {
      expect(e.reused).toBe(false);
      expect(postmasterPid(e)).not.toBe(process.pid);
      expect(await withClient(e, async (c) => (await c.query("SELECT count(*)::int AS n FROM marker")).rows[0].n)).toBe(1);
    } finally {
      await e.stop();
    }
  });

  it("reuses a server already running on the same data directory and leaves it running on stop", async () => {
    const first = await startEmbedded({ dataRoot: root, log });
    try {
      const second = await startEmbedded({ dataRoot: root, log });
      expect(second.reused).toBe(true);
      expect(second.connection.port).toBe(first.connection.port);
      await second.stop();
      expect(alive(postmasterPid(first))).toBe(true);
      expect(await withClient(first, async (c) => (await c.query("SELECT 1 AS one")).rows[0].one)).toBe(1);
    } finally {
      await first.stop();
    }
  });

  it("openStateDatabase without DATABASE_URL starts it, migrations apply, close stops it", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "jit-cwd-"));
    try {
      if (process.getuid?.() === 0) {
        // mkdtemp makes a 0700 directory the postgres OS user cannot enter: refused with a clear error.
        await expect(openStateDatabase({ env: {}, cwd, log })).rejects.toThrow(/postgres OS user cannot enter .*chmod o\+x/);
        chmodSync(cwd, 0o755);
      }
      const s = await openStateDatabase({ env: {}, cwd, log });
      expect(s.embedded).toBeDefined();
      expect(await migrate(s.pool)).toContain("001_state.sql");
      const pid = postmasterPid(s.embedded!);
      await s.close();
      expect(alive(pid)).toBe(false);
      expect(existsSync(join(cwd, ".data", "pg15", "PG_VERSION"))).toBe(true);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it("never logs the password", () => {
    const password = readFileSync(join(root, "postgres.password"), "utf8").trim();
    expect(password.length).toBeGreaterThanOrEqual(32);
    expect(logs.length).toBeGreaterThan(0);
    for (const line of logs) expect(line).not.toContain(password);
    expect(logs.join("\n")).toMatch(/listening on 127\.0\.0\.1:\d+/);
  });
});
