// Targets the policies name whose connection variable is unset, for /health: the local policies/
// (development) and the policies at the default branch of each listed access repository, as last
// read through the API. /health never waits on GitHub: each call starts a refresh in the background
// (GitHubPolicySource caches a minute) and answers from what was read before.
import type { AccessRepositories } from "../core/repositories.ts";
import type { Policy } from "../core/types.ts";
import type { UnconfiguredTarget } from "./health.ts";
import { GitHubPolicySource, type PolicySource } from "./policy-source.ts";

export function unconfiguredTargetsReader(local: Policy | null, source: PolicySource, repositories: AccessRepositories, env: NodeJS.ProcessEnv): () => Promise<UnconfiguredTarget[]> {
  const lastRead = new Map<string, Policy>();
  let refreshing: Promise<void> | null = null;
  const refresh = () => {
    if (!(source instanceof GitHubPolicySource) || refreshing) return;
    refreshing = Promise.all(repositories.entries.map(async (r) => {
      const p = await source.atDefaultBranch(r.name).catch(() => null);
      if (p) lastRead.set(r.name, p);
    })).then(() => { refreshing = null; });
  };
  return async () => {
    refresh();
    return targetsWithoutVariable([...(local ? [local] : []), ...lastRead.values()], env);
  };
}

export function targetsWithoutVariable(policies: readonly Policy[], env: NodeJS.ProcessEnv): UnconfiguredTarget[] {
  const out = new Map<string, UnconfiguredTarget>();
  for (const p of policies) {
    for (const [database, db] of Object.entries(p.databases)) {
      if (!env[db.connectionEnv]) out.set(`${database}\0${db.connectionEnv}`, { database, env: db.connectionEnv });
    }
  }
  return [...out.values()].sort((a, b) => (a.database < b.database ? -1 : a.database > b.database ? 1 : 0));
}
