// The package's default export is a Probot ApplicationFunction: `probot run ./src/index.ts` and
// `new Probot(...).load(defaultExport)` run the whole app. Loaded here into a plain Probot behind
// Probot's own middleware, against the simulator and a real PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNodeMiddleware, Probot } from "probot";
import { GitHubSimulator } from "../sim/index.ts";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";
import { TestOctokit } from "./harness.ts";
import jitAccess, { stopJitAccess } from "../../src/index.ts";

const REPO = join(import.meta.dirname, "..", "..");
let sim: GitHubSimulator;
let pg: TestCluster;
let probot: Probot;
let server: Server;
let dir: string;
const saved = { DATABASE_URL: process.env.DATABASE_URL, JIT_REPOSITORIES: process.env.JIT_REPOSITORIES };

beforeAll(async () => {
  pg = await startPostgres();
  const c = await pg.connect();
  try { await c.query("CREATE DATABASE jit_state"); } finally { await c.end(); }
  process.env.DATABASE_URL = pg.superuserUrl("jit_state");
  process.env.JIT_REPOSITORIES = "acme/access";
  dir = mkdtempSync(join(tmpdir(), "jit-default-export-"));
  cpSync(join(REPO, "test", "fixtures", "policies"), join(dir, "policies"), { recursive: true });
  sim = await GitHubSimulator.start();
  probot = new Probot({ appId: sim.app.id, privateKey: sim.app.privateKey, secret: sim.app.webhookSecret, baseUrl: sim.baseUrl, Octokit: TestOctokit, logLevel: "error" });
  const middleware = await createNodeMiddleware(() => {}, { probot, webhooksPath: "/api/github/webhooks" }); // what `probot run` serves
  server = createServer((req, res) => { void middleware(req, res); });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  sim.setWebhookUrls([`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/github/webhooks`]);
}, 120_000);

afterAll(async () => {
  await stopJitAccess(probot);
  await new Promise<void>((r) => server.close(() => r()));
  await sim.close();
  await pg.stop();
  rmSync(dir, { recursive: true, force: true });
  for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
});

describe("default export", () => {
  it("package.json points main and exports at src/index.ts", () => {
    const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { main: string; exports: Record<string, string> };
    expect(pkg.main).toBe("src/index.ts");
    expect(pkg.exports["."]).toBe("./src/index.ts");
  });

  it("`probot run ./src/index.ts` resolves it to the app function (Probot's own resolver, in a child process)", () => {
    // Probot's resolver imports the path natively: TypeScript needs Node's type stripping (Node 24)
    // or, on an older Node, the tsx loader.
    const strip = (process as { features?: { typescript?: unknown } }).features?.typescript;
    const script = `const { resolveAppFunction } = await import(${JSON.stringify(join(REPO, "node_modules/probot/lib/helpers/resolve-app-function.js"))});
const fn = await resolveAppFunction("./src/index.ts");
console.log(typeof fn, fn.length);`;
    const out = execFileSync(process.execPath, [...(strip ? [] : ["--import", "tsx"]), "--input-type=module", "-e", script], { cwd: REPO, encoding: "utf8", env: { ...process.env, NODE_NO_WARNINGS: "1" } });
    expect(out.trim()).toBe("function 2");
  });

  it("is a function Probot loads, and the loaded app handles deliveries (I10: another repository gets a neutral check only)", async () => {
    expect(typeof jitAccess).toBe("function");
    // without a server Probot's load() hands the app an addHandler that throws; the app copes
    await probot.load(jitAccess, { cwd: dir, addHandler: () => { throw new Error("No server instance"); } });
    await sim.createRepo({ owner: "acme", name: "access" });
    const other = await sim.createRepo({ owner: "acme", name: "other", collaborators: { alice: "write" } });
    const { headSha } = await other.openPullRequest("alice", "req", { "access-requests/orders-prod/alice-1.yaml": "role: orders_readonly\n" });
    await sim.waitForIdle();
    const runs = await other.checkRuns(headSha);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ conclusion: "neutral" });
    expect(JSON.stringify(runs[0])).toContain("not an access repository");
  });
});
