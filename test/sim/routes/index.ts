// All REST handlers by operationId. Every operation in OPERATIONS must have one.
import type { AppAuth } from "../auth.ts";
import type { Handler } from "../router.ts";
import { activityRoutes } from "../activity.ts";
import { appRoutes } from "./apps.ts";
import { checkRoutes } from "./checks.ts";
import { gitRoutes } from "./git.ts";
import { issueRoutes } from "./issues.ts";
import { pullRoutes } from "./pulls.ts";
import { repoRoutes } from "./repos.ts";
import { teamRoutes } from "./teams.ts";

export function allRoutes(auth: AppAuth): Record<string, Handler> {
  return { ...appRoutes(auth), ...repoRoutes, ...gitRoutes, ...pullRoutes, ...checkRoutes, ...issueRoutes, ...teamRoutes, ...activityRoutes };
}
