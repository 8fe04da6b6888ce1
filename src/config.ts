// Environment → app configuration. Production refuses unsafe settings (docs/security.md I9, case 27):
// Probot silently accepts the secret "development" and serves its setup page without an APP_ID.
import { JitError } from "./core/errors.ts";
import { readFileSync } from "node:fs";
import type { Problem } from "./core/problem.ts";
import { problem } from "./core/problem.ts";
import { parseRepositories, type AccessRepositories } from "./core/repositories.ts";
import { GITHUB_COM, parseGitHubHost, type GitHubHost } from "./core/github-host.ts";

export interface AppConfig {
  production: boolean;
  appId?: string;
  privateKey?: string;
  webhookSecret?: string;
  webhookProxyUrl?: string;
  host: string;
  port: number;
  logLevel: string;
  /** LOG_FORMAT: "pretty" for humans; otherwise JSON lines. */
  logFormat?: string;
  databaseUrl?: string;
  /** I10: the access repositories (JIT_REPOSITORIES); "all" only outside production. */
  repositories: AccessRepositories;
  /** github.com, or GitHub Enterprise Server from GHE_HOST/GHE_PROTOCOL (the variables Probot reads). */
  github: GitHubHost;
  /** GH_ORG: register the app under this organization in the setup flow (as Probot does). */
  setupOrg?: string;
}

export class ConfigError extends JitError {
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    super(problems[0]?.code ?? "JIT_CONFIG_INVALID", problems.map((p) => `${p.code}: ${p.message}`).join("\n"));
    this.problems = problems;
  }
}

function privateKeyFrom(env: NodeJS.ProcessEnv): string | undefined {
  if (env.PRIVATE_KEY) return env.PRIVATE_KEY.replace(/\\n/g, "\n");
  if (env.PRIVATE_KEY_PATH) return readFileSync(env.PRIVATE_KEY_PATH, "utf8");
  return undefined;
}

/** Reads the app's configuration; names of variables appear in errors, never their values. */
export function loadConfig(env: NodeJS.ProcessEnv): AppConfig {
  const production = env.NODE_ENV === "production";
  const config: AppConfig = {
    production,
    appId: env.APP_ID || undefined,
    privateKey: privateKeyFrom(env),
    webhookSecret: env.WEBHOOK_SECRET || undefined,
    webhookProxyUrl: env.WEBHOOK_PROXY_URL || undefined,
    host: env.HOST || "127.0.0.1",
    port: env.PORT ? Number(env.PORT) : 3000,
    logLevel: env.LOG_LEVEL || "info",
    logFormat: env.LOG_FORMAT || undefined,
    databaseUrl: env.DATABASE_URL || undefined,
    repositories: { mode: "all", entries: [] },
    github: GITHUB_COM,
    setupOrg: env.GH_ORG || undefined,
  };
  const repos = parseRepositories(env.JIT_REPOSITORIES);
  config.repositories = repos.details;
  const github = parseGitHubHost(env.GHE_HOST, env.GHE_PROTOCOL, production);
  config.github = github.details;
  const problems = [...(production ? productionProblems(config) : []), ...repos.problems, ...github.problems];
  if (config.webhookProxyUrl !== undefined && !/^https?:\/\/[^\s/@]+\/\S*$/.test(config.webhookProxyUrl)) {
    problems.push(problem("JIT_CONFIG_INVALID", "WEBHOOK_PROXY_URL must be an http(s) channel URL, e.g. https://smee.io/<channel>"));
  }
  if (config.setupOrg !== undefined && !/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/.test(config.setupOrg)) {
    problems.push(problem("JIT_CONFIG_INVALID", "GH_ORG must be an organization login"));
  }
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) {
    problems.push(problem("JIT_PRODUCTION_CONFIG", "PORT must be an integer from 0 to 65535"));
  }
  if (problems.length) throw new ConfigError(problems);
  return config;
}

export function productionProblems(c: AppConfig): Problem[] {
  const out: Problem[] = [];
  if (!c.appId) out.push(problem("JIT_PRODUCTION_CONFIG", "APP_ID is required when NODE_ENV=production"));
  if (!c.privateKey) out.push(problem("JIT_PRODUCTION_CONFIG", "PRIVATE_KEY or PRIVATE_KEY_PATH is required when NODE_ENV=production"));
  if (!c.webhookSecret) out.push(problem("JIT_PRODUCTION_CONFIG", "WEBHOOK_SECRET is required when NODE_ENV=production"));
  else if (c.webhookSecret === "development") {
    out.push(problem("JIT_PRODUCTION_CONFIG", 'WEBHOOK_SECRET must not be Probot\'s fallback "development" in production'));
  }
  if (c.repositories.mode === "all") {
    out.push(problem("JIT_PRODUCTION_CONFIG", "JIT_REPOSITORIES must name the access repositories when NODE_ENV=production (e.g. acme/access)"));
  }
  if (c.webhookProxyUrl) out.push(problem("JIT_PRODUCTION_CONFIG", "WEBHOOK_PROXY_URL is for development only"));
  // The embedded PostgreSQL is a development dependency the production image does not install.
  if (!c.databaseUrl) out.push(problem("JIT_PRODUCTION_CONFIG", "DATABASE_URL is required when NODE_ENV=production (the embedded PostgreSQL is for development only)"));
  return out;
}

/** JIT_REPOSITORIES alone (buildDeps, the CLI); throws ConfigError when it is malformed. */
export function repositoriesFrom(env: NodeJS.ProcessEnv): AccessRepositories {
  const d = parseRepositories(env.JIT_REPOSITORIES);
  if (!d.ok) throw new ConfigError(d.problems);
  return d.details;
}
