// The lost-merge reconciler (I17): a merge whose webhook never arrived, or whose job died, is still
// granted. For every repository of every installation, closed pull requests into the default
// branch updated since the repository's watermark are listed; a merged one that touches
// access-requests/ and has no recorded merge outcome goes through the same merge path as the
// webhook (handleMerged: fresh API reads, re-verification, once per PR). The watermark only moves
// past pull requests whose outcome is final, so a transient failure is looked at again next time.
import { gateRepository } from "../usecases/repository-gate.ts";
import { isUnderRequestsDir } from "../core/request-path.ts";
import { advanceMergeWatermark, mergeRecorded, mergeWatermark } from "../db/merge-watermarks.ts";
import type { InstalledRepository } from "../github/installations.ts";
import type { AppDeps } from "../usecases/context.ts";
import { handleMerged, type MergeOutcome } from "../usecases/merge.ts";

/** GitHub's updated_at has one-second resolution and replicas' views lag a little: look back this much further. */
const OVERLAP_MS = 60_000;

export interface LostMergeReport {
  repositories: number;
  /** Merged pull requests examined (with no recorded outcome). */
  examined: number;
  recovered: { repository: string; number: number; kind: MergeOutcome["kind"]; code?: string }[];
  failed: { repository: string; number: number; error: string }[];
}

export async function reconcileMerges(o: {
  deps: AppDeps; repositories: AsyncIterable<InstalledRepository>; lookbackMs: number;
  /** Checked before each repository: a replica that lost leadership stops (the scheduler's leader lock). */
  stillLeader?: () => Promise<boolean>;
}): Promise<LostMergeReport> {
  const report: LostMergeReport = { repositories: 0, examined: 0, recovered: [], failed: [] };
  for await (const repo of o.repositories) {
    if (o.stillLeader && !(await o.stillLeader())) break;
    // I10: only the operator's access repositories (same name and pinned id) can reach the merge path.
    if (!(await gateRepository(o.deps, repo.repository, repo.id)).ok) continue;
    report.repositories += 1;
    await reconcileRepository(o.deps, repo, o.lookbackMs, report);
  }
  return report;
}

async function reconcileRepository(deps: AppDeps, r: InstalledRepository, lookbackMs: number, report: LostMergeReport): Promise<void> {
  const since = (await mergeWatermark(deps.state, r.repository)) ?? new Date(deps.now() - lookbackMs);
  const from = since.getTime() - OVERLAP_MS;
  let newest: number | null = null;
  let oldestPending: number | null = null;
  for await (const { data } of r.octokit.paginate.iterator(r.octokit.rest.pulls.list, {
    ...r.ref, state: "closed", base: r.defaultBranch, sort: "updated", direction: "desc", per_page: 50,
  })) {
    let older = false;
    for (const pr of data) {
      const updated = Date.parse(pr.updated_at);
      if (updated < from) {
        older = true;
        break;
      }
      newest = Math.max(newest ?? updated, updated);
      if (!pr.merged_at) continue;
      const key = `merge:${r.repository}#${pr.number}`;
      if (await mergeRecorded(deps.state, key)) continue;
      report.examined += 1;
      try {
        const files = await r.octokit.paginate(r.octokit.rest.pulls.listFiles, { ...r.ref, pull_number: pr.number, per_page: 100 });
        if (!files.some((f) => isUnderRequestsDir(f.filename) || (f.previous_filename !== undefined && isUnderRequestsDir(f.previous_filename)))) continue;
        const outcome = await handleMerged(deps, r.octokit, r.ref, pr.number);
        if (!(await mergeRecorded(deps.state, key))) oldestPending = Math.min(oldestPending ?? updated, updated);
        report.recovered.push({ repository: r.repository, number: pr.number, kind: outcome.kind, ...(outcome.kind === "refused" ? { code: outcome.code } : {}) });
        deps.log.warn({ code: "JIT_MERGE_RECOVERED", repository: r.repository, pr: pr.number, kind: outcome.kind }, "merged pull request found by the merge reconciler");
      } catch (e) {
        oldestPending = Math.min(oldestPending ?? updated, updated);
        report.failed.push({ repository: r.repository, number: pr.number, error: (e as Error).message });
        deps.log.warn({ repository: r.repository, pr: pr.number, error: (e as Error).message }, "merge reconciler: could not handle a merged pull request; retried next round");
      }
    }
    if (older) break;
  }
  const to = oldestPending ?? newest;
  if (to !== null) await advanceMergeWatermark(deps.state, r.repository, new Date(to));
}
