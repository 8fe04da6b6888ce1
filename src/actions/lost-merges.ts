// The lost-merge reconciler (src/jobs/lost-merges.ts) for the workflow's own repository: a merge
// whose push run never ran (Actions outage, a cancelled run) is granted by the next grant or sweep
// run through the same merge path (I17). Bounded by the schedule in this mode.
import { reconcileMerges, type LostMergeReport } from "../jobs/lost-merges.ts";
import type { InstalledRepository } from "../github/installations.ts";
import { loadQueueConfig } from "../queue/config.ts";
import type { AppDeps } from "../usecases/context.ts";
import type { JobContext } from "./run.ts";

export async function reconcileThisRepository(ctx: JobContext, deps: AppDeps): Promise<LostMergeReport> {
  const { run, octokit } = ctx;
  const { data } = await octokit.rest.repos.get({ owner: run.owner, repo: run.repo });
  const here: InstalledRepository = {
    repository: data.full_name, id: data.id, ref: { owner: run.owner, repo: run.repo }, defaultBranch: data.default_branch, octokit,
  };
  async function* one(): AsyncGenerator<InstalledRepository> {
    yield here;
  }
  const { config } = loadQueueConfig(ctx.env);
  return reconcileMerges({ deps, repositories: one(), lookbackMs: config.mergeLookbackMs });
}
