// Assembles the use cases' dependencies from a state pool; shared by `npm start` and the e2e tests.
import type pg from "pg";
import { ConfigError, repositoriesFrom } from "../config.ts";
import { problem } from "../core/problem.ts";
import { parseReviewRequestMax } from "../core/review-requests.ts";
import type { AppDeps, UseCaseLogger } from "./context.ts";
import { EngineRegistry } from "./engines.ts";

export function buildDeps(opts: { state: pg.Pool; env: NodeJS.ProcessEnv; now?: () => number; log: UseCaseLogger; appId?: number }): AppDeps & { close(): Promise<void> } {
  const reviewRequestMax = parseReviewRequestMax(opts.env.JIT_REVIEW_REQUESTS);
  if (reviewRequestMax === null) throw new ConfigError([problem("JIT_CONFIG_INVALID", "JIT_REVIEW_REQUESTS must be a whole number from 0 to 15")]);
  const engines = new EngineRegistry(opts.state, opts.env);
  return {
    state: opts.state,
    engines,
    now: opts.now ?? (() => Date.now()),
    log: opts.log,
    repositories: repositoriesFrom(opts.env),
    reviewRequestMax,
    ...(opts.appId !== undefined ? { appId: opts.appId } : {}),
    close: () => engines.close(),
  };
}
