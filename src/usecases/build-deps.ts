// Assembles the use cases' dependencies from a state pool; shared by `npm start` and the e2e tests.
import type pg from "pg";
import { repositoriesFrom } from "../config.ts";
import type { AppDeps, UseCaseLogger } from "./context.ts";
import { EngineRegistry } from "./engines.ts";

export function buildDeps(opts: { state: pg.Pool; env: NodeJS.ProcessEnv; now?: () => number; log: UseCaseLogger; appId?: number }): AppDeps & { close(): Promise<void> } {
  const engines = new EngineRegistry(opts.state, opts.env);
  return {
    state: opts.state,
    engines,
    now: opts.now ?? (() => Date.now()),
    log: opts.log,
    repositories: repositoriesFrom(opts.env),
    ...(opts.appId !== undefined ? { appId: opts.appId } : {}),
    close: () => engines.close(),
  };
}
