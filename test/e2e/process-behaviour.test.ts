// Honest process behaviour (issue 11 item 6) on real processes, in a checkout whose path has
// spaces (a copy of what the image copies, plus policies/; node_modules linked): `npm start` in
// development with the embedded PostgreSQL starts there, /health shows its details only to
// loopback or a caller with JIT_HEALTH_TOKEN, SIGTERM to npm stops the app and its PostgreSQL (no
// process left, port free), and `jit` exits non-zero when a command fails whether it started the
// embedded database itself or not.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const TOKEN = randomBytes(16).toString("hex");
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });

let dir: string;
let app: ChildProcess;
let out = "";
let err = "";
let url = "";

const env = () => ({
  PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH ?? "/usr/bin:/bin"}`, HOME: dir,
  APP_ID: "4242", PRIVATE_KEY: privateKey, WEBHOOK_SECRET: randomBytes(8).toString("hex"),
  JIT_REPOSITORIES: "acme/access", LOG_FORMAT: "json" as const, PORT: "0", HOST: "127.0.0.1", JIT_HEALTH_TOKEN: TOKEN,
});

async function until<T>(what: string, f: () => T | null | undefined, ms = 90_000): Promise<T> {
  for (const start = Date.now(); Date.now() - start < ms;) {
    const v = f();
    if (v !== null && v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; stdout: ${out.slice(-2000)} stderr: ${err.slice(-2000)}`);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const portOpen = (port: number) => new Promise<boolean>((r) => {
  const s = connect(port, "127.0.0.1");
  s.once("connect", () => { s.destroy(); r(true); });
  s.once("error", () => r(false));
});
const pidFile = () => join(dir, ".data/pg15/postmaster.pid");
const postmaster = () => {
  const [pid, , , port] = readFileSync(join(dir, ".data/pg15/postmaster.pid"), "utf8").split("\n");
  return { pid: Number(pid), port: Number(port) };
};
const jit = (...args: string[]) => spawnSync(join(ROOT, "node_modules/.bin/node"), [join(dir, "bin/jit.mjs"), ...args], { cwd: dir, env: env(), encoding: "utf8", timeout: 120_000 });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "jit checkout with spaces "));
  chmodSync(dir, 0o755); // the postgres OS user must enter it (the cluster runs as postgres under root)
  for (const part of ["src", "bin", "schemas", "policies", "app.yml", "package.json"]) cpSync(join(ROOT, part), join(dir, part), { recursive: true });
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  app = spawn("npm", ["start"], { cwd: dir, env: env(), stdio: ["ignore", "pipe", "pipe"] });
  app.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  app.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  url = (await until("the listening line", () => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] ?? (app.exitCode !== null ? "exited" : null), 150_000));
  if (url === "exited") throw new Error(`npm start exited ${app.exitCode}: ${out.slice(-2000)} ${err.slice(-2000)}`);
}, 180_000);

afterAll(async () => {
  if (app && app.exitCode === null) app.kill("SIGKILL");
  if (dir && existsSync(pidFile())) {
    const { pid } = postmaster();
    if (alive(pid)) process.kill(pid, "SIGINT");
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("npm start in a checkout whose path has spaces", () => {
  it("starts the app with the embedded PostgreSQL there (it used to exit 0 doing nothing)", () => {
    expect(dir).toContain(" ");
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(alive(postmaster().pid)).toBe(true);
  });
});

describe("/health", () => {
  it("shows loopback the queue, dead letters and the targets without a connection variable", async () => {
    const res = await fetch(`${url}/health`);
    const body = await res.json() as Record<string, unknown>;
    expect(body.queue).toMatchObject({ dead: 0 });
    expect(Object.keys(body.queue as object)).toEqual(expect.arrayContaining(["dead"]));
    // policies/orders.yaml names orders-prod, whose ORDERS_PROD_DATABASE_URL is not set here.
    expect(body.unconfiguredTargets).toEqual([{ database: "orders-prod", env: "ORDERS_PROD_DATABASE_URL" }]);
    expect(body.status).toBe("degraded");
    expect(res.status).toBe(503);
    expect((body.problems as { code: string }[]).map((p) => p.code)).toContain("JIT_CONFIG_MISSING_ENV");
  });

  it("answers a request that came through a proxy with the status alone, unless it carries the token", async () => {
    for (const headers of [{ "x-forwarded-for": "203.0.113.7" }, { forwarded: "for=203.0.113.7" }, { "x-real-ip": "203.0.113.7" }, { "x-forwarded-for": "203.0.113.7", authorization: "Bearer wrong" }]) {
      const res = await fetch(`${url}/health`, { headers });
      expect(await res.json()).toEqual({ status: "degraded" });
      expect(res.status).toBe(503);
    }
    const res = await fetch(`${url}/health`, { headers: { "x-forwarded-for": "203.0.113.7", authorization: `Bearer ${TOKEN}` } });
    expect(await res.json()).toMatchObject({ status: "degraded", unconfiguredTargets: [{ database: "orders-prod" }] });
  });
});

describe("jit while the app runs", () => {
  it("a command that fails exits 1 when it reuses the app's embedded PostgreSQL, and leaves it running", () => {
    const pg = postmaster();
    const r = jit("deliveries", "retry", "no-such-delivery");
    expect(r.stderr).toContain("no dead or queued delivery");
    expect(r.status).toBe(1);
    expect(alive(pg.pid)).toBe(true);
  });
});

describe("SIGTERM to npm start", () => {
  it("stops the app and its embedded PostgreSQL: no postgres process left, the port free", async () => {
    const pg = postmaster();
    const appPid = Number(/listening on .*pid (\d+)/.exec(out)?.[1]);
    expect(alive(appPid)).toBe(true);
    expect(await portOpen(pg.port)).toBe(true);
    const exited = new Promise<[number | null, string | null]>((r) => app.once("exit", (code, signal) => r([code, signal])));
    app.kill("SIGTERM");
    // npm passes the signal on to the app, waits for it, and then ends as the signal asks.
    expect([[0, null], [null, "SIGTERM"]]).toContainEqual(await exited);
    await until("the app to exit", () => (alive(appPid) ? null : true), 30_000);
    expect(out).toContain("jit-access: stopped");
    await until("the postmaster to exit", () => (alive(pg.pid) ? null : true), 30_000);
    expect(alive(pg.pid)).toBe(false);
    expect(await portOpen(pg.port)).toBe(false);
    const left = spawnSync("pgrep", ["-f", join(dir, ".data")], { encoding: "utf8" });
    expect(left.stdout.trim()).toBe("");
  });
});

describe("jit exit codes with the embedded database", () => {
  it("a command that fails exits 1 when jit started the embedded PostgreSQL itself (it used to exit 0)", () => {
    const r = jit("deliveries", "retry", "no-such-delivery");
    expect(r.stderr).toContain("no dead or queued delivery");
    expect(r.status).toBe(1);
    // and it stopped the cluster it started
    expect(existsSync(pidFile()) && alive(postmaster().pid)).toBe(false);
  });

  it("usage errors exit 2, success exits 0", () => {
    expect(jit("deliveries", "bogus").status).toBe(2);
    const ok = jit("deliveries", "list");
    expect(ok.stdout).toContain("no dead letters");
    expect(ok.status).toBe(0);
  });
});
