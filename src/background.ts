// Work that no webhook starts: the expiry scheduler (sweeps, revert PRs, reminders, drift) and the
// health endpoint. With the GitHub App configured, policies come from each repository's default
// branch and revert PRs are opened; without it, the local policies/ serve and GitHub work waits in
// the outbox.
import type { Probot } from "probot";
import type { Logger as PinoLogger } from "pino";
import { ConfigError } from "./config.ts";
import { probotGitHub } from "./github/installations.ts";
import type { Services } from "./main.ts";
import { loadSchedulerConfig } from "./scheduler/config.ts";
import { GitHubPolicySource, StaticPolicySource } from "./scheduler/policy-source.ts";
import { startScheduler } from "./scheduler/scheduler.ts";
import type { HealthHandler } from "./server.ts";
import type { AppDeps } from "./usecases/context.ts";
import type { EngineRegistry } from "./usecases/engines.ts";

export interface Background {
  health: HealthHandler;
  stop(): Promise<void>;
}

export async function startBackground(opts: {
  services: Services; deps: AppDeps & { engines: EngineRegistry }; probot: Probot | null; log: PinoLogger;
}): Promise<Background> {
  const { config, problems } = loadSchedulerConfig(process.env);
  if (problems.length) throw new ConfigError(problems);
  const github = opts.probot ? probotGitHub(opts.probot, opts.deps.appId, opts.deps.repositories) : undefined;
  const policies = github
    ? new GitHubPolicySource({ github, state: opts.services.state.pool, fallback: opts.services.policy })
    : new StaticPolicySource(opts.services.policy, null);
  const scheduler = startScheduler({
    state: opts.services.state.pool, engines: opts.deps.engines, policies, log: opts.log, config, now: opts.deps.now,
    ...(github ? { github } : {}),
  });
  // The app pokes the timer after every grant and extension, so a short grant ends on the second.
  opts.deps.onGrant = () => scheduler.poke();
  return { health: scheduler.healthHandler, stop: () => scheduler.stop() };
}
