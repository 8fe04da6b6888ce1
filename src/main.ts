// Process entry for `npm start`. Brings up the state database (DATABASE_URL or the embedded
// PostgreSQL 15 under .data/), applies migrations, checks the app's role on every configured target
// (refusing to start when it is more powerful than invariant I5 allows), reconciles app-granted
// memberships against the ledger, and stops cleanly on SIGINT/SIGTERM. The GitHub App (Probot) is
// loaded on top of startServices(); its handlers run from the delivery queue (src/background.ts),
// never inside the webhook request.
import { JitError } from "./core/errors.ts";
import { problem, type Problem } from "./core/problem.ts";
import type { Policy } from "./core/types.ts";
import { GrantEngine } from "./db/grantor.ts";
import { migrate } from "./db/migrations.ts";
import { consoleLogger, openStateDatabase, type Logger, type StateDatabase } from "./db/state.ts";
import { TargetError, Targets } from "./db/targets.ts";
import { localPolicies } from "./policy-loader.ts";
import { createApp } from "./app.ts";
import { startBackground } from "./background.ts";
import { ConfigError, loadConfig, type AppConfig } from "./config.ts";
import { createLogger } from "./log.ts";
import { loadDotEnv } from "./util/env-file.ts";
import { createProbot, startServer, WEBHOOK_PATH } from "./server.ts";
import { buildDeps } from "./usecases/build-deps.ts";
import { healthEndpoint } from "./scheduler/health.ts";
import { unconfiguredTargetsReader } from "./scheduler/unconfigured-targets.ts";

export class StartupError extends JitError {
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    super(problems[0]?.code ?? "JIT_CONFIG_INVALID", problems.map((p) => `${p.code}: ${p.message}`).join("\n"));
    this.problems = problems;
  }
}

const NO_DATABASES: Policy = { databases: {}, identities: {} };

export interface Services {
  /** The checkout's policies/ when there is one (development); null: read through the API only. */
  policy: Policy | null;
  state: StateDatabase;
  targets: Targets;
  engine: GrantEngine;
  stop(): Promise<void>;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** Working directory: an optional policies/ (development) and, with the embedded database, .data/. */
  cwd?: string;
  log?: Logger;
  /** Use this policy instead of reading policies/*.yaml (tests, or the app's base-branch copy). */
  policy?: Policy;
}

export async function startServices(opts: StartOptions = {}): Promise<Services> {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const log = opts.log ?? consoleLogger;

  // No checkout needed: without a local policies/ the access repositories' policies are read
  // through the API (background.ts); a local one (development) is checked at start as before.
  let policy: Policy | null = opts.policy ?? null;
  if (!policy) {
    const loaded = await localPolicies(cwd);
    if (loaded && (!loaded.ok || !loaded.details)) throw new StartupError(loaded.problems.length ? loaded.problems : [problem("JIT_POLICY_INVALID", loaded.message)]);
    policy = loaded?.details ?? null;
    if (!policy) log.info("policies: no local policies/; read from the access repositories through the GitHub API");
  }

  const state = await openStateDatabase({ env, cwd, log });
  // Without a local policy no target is known at start: each is checked when a policy names it.
  const targets = new Targets(policy ?? NO_DATABASES, env);
  const stop = async () => {
    await targets.close();
    await state.close();
  };
  try {
    if (!state.embedded) log.info(`state: ${state.description}`);
    const applied = await migrate(state.pool);
    log.info(applied.length ? `state: applied migrations ${applied.join(", ")}` : "state: schema up to date");

    const engine = new GrantEngine(state.pool, targets, policy ?? NO_DATABASES);
    const refusals: Problem[] = [];
    for (const key of targets.keys()) {
      if (!targets.configured(key)) {
        log.warn(`target ${key}: ${targets.envName(key)} is not set; this database is skipped and its grants will fail until it is set (JIT_CONFIG_MISSING_ENV)`);
        continue;
      }
      try {
        const info = await targets.info(key);
        const findings = await engine.checkAppRole(key);
        for (const f of findings) {
          const line = `target ${key}: ${f.code}: ${f.message}; fix: ${f.fix.join(" ")}`;
          if (f.code === "JIT_DB_ROLE_TOO_POWERFUL") refusals.push({ ...f, message: `database "${key}": ${f.message}` });
          else log.warn(line);
        }
        if (!findings.length) log.info(`target ${key}: PostgreSQL ${info.pgMajor}, app role "${info.appRole}" is minimal`);
      } catch (e) {
        if (e instanceof TargetError && e.code === "JIT_DB_UNREACHABLE") log.warn(`target ${key}: ${e.message}; will retry when needed`);
        else throw e;
      }
    }
    if (refusals.length) throw new StartupError(refusals);

    const report = await engine.reconcile("startup");
    for (const o of report.orphans) log.error(`JIT_DRIFT_ORPHAN_GRANT: ${o.database}: "${o.role}" granted to "${o.member}" by the app without an active ledger row; ${o.revoked ? "revoked" : `NOT revoked: ${o.error}`}`);
    for (const s of report.standing) log.warn(`JIT_STANDING_ACCESS: ${s.database}: "${s.member}" holds "${s.role}" (granted by ${s.grantor}) outside the app`);
    for (const p of report.problems) if (p.code !== "JIT_CONFIG_MISSING_ENV") log.warn(`reconcile: ${p.code}: ${p.message}`); // missing variables were warned about above

    return { policy, state, targets, engine, stop };
  } catch (e) {
    await stop().catch(() => {});
    throw e;
  }
}

async function main(): Promise<void> {
  loadDotEnv();
  let config: AppConfig;
  try {
    config = loadConfig(process.env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const p of e.problems) process.stderr.write(`refusing to start: ${p.code}: ${p.message}\n`);
    process.exitCode = 1;
    return;
  }
  // One logger for the app, Probot and Octokit (src/log.ts); secrets are never passed to a log call.
  const root = createLogger({ level: config.logLevel, format: config.logFormat });
  const log: Logger = { info: (m) => root.info(m), warn: (m) => root.warn(m), error: (m) => root.error(m) };
  // Registration flow (src/setup/): development without credentials serves the setup page first.
  // Loaded only when needed: the setup page, its Octokit and the smee client are not in an idle server's memory.
  if (!config.production && (!config.appId || !config.privateKey)) {
    const { needsSetup, runSetup } = await import("./setup/run.ts");
    if (needsSetup(config)) {
      await runSetup(config, log);
      config = loadConfig(process.env);
    }
  }
  if (config.repositories.mode === "all") {
    log.warn("JIT_REPOSITORIES is unset: EVERY repository of the installation may grant and revoke (I10). Development only; production refuses to start without it.");
  }
  // A signal while the services start (the embedded PostgreSQL among them) is kept and acted on once
  // they are up: stopping them then stops the cluster instead of leaving it orphaned on its port.
  let pending: string | null = null;
  const early = (signal: string) => { pending = signal; };
  const forget = () => {
    process.removeListener("SIGINT", early);
    process.removeListener("SIGTERM", early);
  };
  process.on("SIGINT", early);
  process.on("SIGTERM", early);
  let services: Services;
  try {
    services = await startServices({ log });
  } catch (e) {
    forget();
    if (e instanceof StartupError) {
      for (const p of e.problems) log.error(`refusing to start: ${p.code}: ${p.message}${"fix" in p ? `\n  fix: ${(p as { fix: string[] }).fix.join("\n       ")}` : ""}`);
      process.exitCode = 1;
      return;
    }
    throw e;
  }

  const probot = createProbot(config, root);
  const deps = buildDeps({
    state: services.state.pool, env: process.env, log: probot?.log ?? root,
    ...(config.appId ? { appId: Number(config.appId) } : {}),
  });
  if (!probot) log.warn("GitHub App not configured (APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH, WEBHOOK_SECRET): webhooks are disabled");
  else await probot.load(createApp(deps));
  let background: Awaited<ReturnType<typeof startBackground>>;
  try {
    background = await startBackground({ services, deps, probot, log: root, ...(config.webhookSecret ? { webhookSecret: config.webhookSecret } : {}) });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const p of e.problems) log.error(`refusing to start: ${p.code}: ${p.message}`);
    await deps.close();
    await services.stop();
    forget();
    process.exitCode = 1;
    return;
  }
  const health = healthEndpoint({
    read: background.readHealth,
    unconfiguredTargets: unconfiguredTargetsReader(services.policy, background.policies, config.repositories, process.env),
    ...(process.env.JIT_HEALTH_TOKEN ? { token: process.env.JIT_HEALTH_TOKEN } : {}),
  });
  const server = await startServer({ config, webhooks: background.webhooks, health });
  log.info(`jit-access: listening on ${server.url} (webhooks at ${WEBHOOK_PATH}, health at /health), pid ${process.pid}`);
  // Development: a smee channel forwards GitHub's deliveries here (src/setup/webhook-proxy.ts).
  const proxy = config.webhookProxyUrl && !config.production && probot
    ? await import("./setup/webhook-proxy.ts").then(({ startWebhookProxy, forwardTarget }) =>
      startWebhookProxy({ source: config.webhookProxyUrl!, target: forwardTarget(server.url, WEBHOOK_PATH), log }))
    : null;

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`jit-access: ${signal} received, stopping`);
    (async () => {
      await proxy?.stop();
      await server.close();
      await background.stop();
      await deps.close();
      await services.stop();
    })().then(
      () => {
        log.info("jit-access: stopped");
        process.exit(0);
      },
      (e: unknown) => {
        log.error(`jit-access: error while stopping: ${(e as Error).message}`);
        process.exit(1);
      });
  };
  forget();
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  if (pending) shutdown(pending);
}

// import.meta.main, not a comparison of import.meta.url with argv[1]: the URL percent-encodes a
// space (or any other such character) in the checkout's path, and the process then did nothing.
if (import.meta.main) await main();
