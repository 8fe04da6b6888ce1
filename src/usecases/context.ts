// What every use case needs: the state database, engines per policy, a clock and a logger.
import type pg from "pg";
import type { AccessRepositories } from "../core/repositories.ts";
import type { EngineRegistry } from "./engines.ts";

export interface UseCaseLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface AppDeps {
  state: pg.Pool;
  engines: EngineRegistry;
  /** The app's clock, ms since the epoch; used only for display ("until, if merged now"). Expiry uses the database clock. */
  now: () => number;
  log: UseCaseLogger;
  /** I10: the access repositories and the database keys each owns (JIT_REPOSITORIES). */
  repositories: AccessRepositories;
  /** This GitHub App's id: check runs of other apps named "jit-access" are ignored. */
  appId?: number;
  /** JIT_REVIEW_REQUESTS: how many individual reviewers the app asks at most (default 3; teams are asked as teams). */
  reviewRequestMax?: number;
  /** Actions mode's check job holds no database secret: target checks run at merge only (docs/actions-mode.md). */
  targetsAtMerge?: boolean;
  /** Called after a grant or an extension commits, so the expiry timer can re-arm. */
  onGrant?: () => void;
}
