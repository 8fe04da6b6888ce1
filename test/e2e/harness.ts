// End-to-end harness: the GitHub simulator, a real PostgreSQL (test/harness/postgres.ts) and the
// Probot app served over real HTTP on 127.0.0.1, wired together, with a controllable clock.
// The app under test is a parameter (any Probot ApplicationFunction); it receives the clock, the
// env and the state database URL through its options (see E2EAppOptions).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { createLogger } from "../../src/log.ts";
import { createNodeMiddleware, Probot, ProbotOctokit, type ApplicationFunction, type ApplicationFunctionOptions } from "probot";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";
import { GitHubSimulator, type SimulatorOptions } from "../sim/index.ts";

/** A clock tests move by hand; the app and the simulator's timestamps read it. */
export class TestClock {
  #ms: number;
  constructor(start: Date | number = Date.now()) { this.#ms = typeof start === "number" ? start : start.getTime(); }
  now(): Date { return new Date(this.#ms); }
  nowMs(): number { return this.#ms; }
  advance(ms: number): Date { this.#ms += ms; return this.now(); }
  set(to: Date): void { this.#ms = to.getTime(); }
}

/** What the app function receives in its options, besides Probot's cwd/addHandler. */
export interface E2EAppOptions extends ApplicationFunctionOptions {
  clock: TestClock;
  /** APP_ID, PRIVATE_KEY, WEBHOOK_SECRET, GITHUB_API_URL, DATABASE_URL plus `env` from startE2E */
  env: Record<string, string>;
  /** replica index (0-based) when several app servers run */
  replica: number;
}

/** How an app serves its webhook path instead of Probot's middleware (the app's own pipeline). */
export interface E2EWebhookRoute {
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Resolves when every accepted delivery has been processed. */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

export interface E2EOptions {
  app: ApplicationFunction;
  /** Serve the webhook path with this route, built after the app is loaded (default: Probot's middleware, handlers run inside the request). */
  route?: (probot: Probot, replica: number) => Promise<E2EWebhookRoute>;
  env?: Record<string, string>;
  /** app servers sharing the database; deliveries go round-robin (default 1) */
  replicas?: number;
  clockStart?: Date;
  sim?: Omit<SimulatorOptions, "now" | "webhookUrls">;
  /** Probot log level (default "warn"); every line is captured in `logs` whatever the level prints */
  logLevel?: "trace" | "debug" | "info" | "warn" | "error" | "fatal";
  /** false: skip PostgreSQL (pure GitHub-side tests); default true */
  database?: boolean;
}

export interface AppInstance {
  probot: Probot;
  server: Server;
  url: string;
  webhookUrl: string;
  /** Waits until the app's queue is drained (a no-op with Probot's middleware). */
  drain(): Promise<void>;
  /** Stops the app's queue worker, leaving its HTTP server up (a replica that dies mid-job). */
  stopWorker(): Promise<void>;
  stop(): Promise<void>;
}

export interface E2E {
  sim: GitHubSimulator;
  pg: TestCluster | null;
  /** superuser URL of a fresh `jit_state` database (null without a database) */
  databaseUrl: string | null;
  clock: TestClock;
  env: Record<string, string>;
  apps: AppInstance[];
  app: AppInstance;
  /** every log line (JSON) written by the app's Probot loggers */
  logs: string[];
  stop(): Promise<void>;
}

const WEBHOOK_PATH = "/api/github/webhooks";

/** Octokit as the brief prescribes for tests: no retry, no throttling (tests see raw answers). */
export const TestOctokit = ProbotOctokit.defaults((o: Record<string, unknown>) => ({ ...o, retry: { enabled: false }, throttle: { enabled: false } }));

function captureLogger(level: string, lines: string[]) {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString("utf8").split("\n")) if (l) lines.push(l);
      if (process.env.E2E_LOG === "1") process.stderr.write(chunk);
      done();
    },
  });
  return createLogger({ level, destination: sink }); // the app's own logger, serializers included
}

async function startApp(o: E2EOptions, sim: GitHubSimulator, clock: TestClock, env: Record<string, string>, replica: number, logs: string[]): Promise<AppInstance> {
  const probot = new Probot({
    appId: sim.app.id, privateKey: sim.app.privateKey, secret: sim.app.webhookSecret, baseUrl: sim.baseUrl,
    Octokit: TestOctokit, log: captureLogger(o.logLevel ?? "warn", logs),
  });
  const appFn: ApplicationFunction = (app, options) => o.app(app, { ...options, clock, env, replica } satisfies E2EAppOptions);
  let route: E2EWebhookRoute | null = null;
  let handle: (req: IncomingMessage, res: ServerResponse) => void;
  if (o.route) {
    await probot.load(appFn, { cwd: process.cwd(), addHandler: () => { throw new Error("no addHandler in e2e"); } });
    const r = await o.route(probot, replica);
    route = r;
    handle = (req, res) => {
      if ((req.url ?? "").split("?")[0] === WEBHOOK_PATH) r.handle(req, res);
      else res.writeHead(404).end();
    };
  } else {
    const middleware = await createNodeMiddleware(appFn, { probot, webhooksPath: WEBHOOK_PATH });
    handle = (req, res) => { void middleware(req, res, () => { res.writeHead(404).end(); }); };
  }
  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => { server.once("error", reject); server.listen(0, "127.0.0.1", resolve); });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let stopped = false;
  return {
    probot, server, url, webhookUrl: `${url}${WEBHOOK_PATH}`,
    drain: async () => { await route?.drain(); },
    stopWorker: async () => { await route?.stop(); },
    async stop() {
      if (stopped) return;
      stopped = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await route?.stop();
    },
  };
}

export async function startE2E(o: E2EOptions): Promise<E2E> {
  const clock = new TestClock(o.clockStart);
  const started: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    const errors: unknown[] = [];
    for (const s of started.splice(0).reverse()) await s().catch((e: unknown) => errors.push(e));
    if (errors.length) throw errors[0];
  };
  try {
    const sim = await GitHubSimulator.start({ ...o.sim, now: () => clock.now() });
    started.push(() => sim.close());
    let pg: TestCluster | null = null;
    let databaseUrl: string | null = null;
    if (o.database ?? true) {
      pg = await startPostgres();
      started.push(() => pg!.stop());
      const c = await pg.connect();
      try { await c.query("CREATE DATABASE jit_state"); } finally { await c.end(); }
      databaseUrl = pg.superuserUrl("jit_state");
    }
    const env: Record<string, string> = {
      APP_ID: String(sim.app.id), PRIVATE_KEY: sim.app.privateKey, WEBHOOK_SECRET: sim.app.webhookSecret, GITHUB_API_URL: sim.baseUrl,
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}), ...o.env,
    };
    const logs: string[] = [];
    const apps: AppInstance[] = [];
    for (let i = 0; i < (o.replicas ?? 1); i++) {
      const a = await startApp(o, sim, clock, env, i, logs);
      apps.push(a);
      started.push(() => a.stop());
    }
    sim.setWebhookUrls(apps.map((a) => a.webhookUrl));
    // Order of shutdown (reverse of `started`): apps, then PostgreSQL, then the simulator, which
    // waits for in-flight deliveries and throws last if any contract violation was recorded.
    started.splice(0, started.length, () => sim.close(), ...(pg ? [() => pg!.stop()] : []), ...apps.map((a) => () => a.stop()));
    return {
      sim, pg, databaseUrl, clock, env, apps, app: apps[0]!, logs,
      async stop() {
        await sim.waitForIdle().catch(() => {});
        await stopAll();
      },
    };
  } catch (e) {
    await stopAll().catch(() => {});
    throw e;
  }
}
