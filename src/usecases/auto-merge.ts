// Auto-approval, second half: when the check found a request approved by an auto_approve rule of
// the base policy, the app merges the pull request itself. The merge names the evaluated head SHA
// (`sha`), so GitHub refuses it (409) if anyone pushed after the decision: a later commit can never
// ride along. The merge then takes the normal path (handleMerged), which re-verifies everything from
// API reads at the merge commit, the rule included (at merged_at), before any GRANT.
import { autoMergeBlockedComment } from "../core/messages.ts";
import { claimOnce } from "../db/outbox.ts";
import { repoKey, type Octokit, type RepoRef } from "../github/octokit.ts";
import { commentOnce } from "./github-effects.ts";
import type { CheckOutcome } from "./check.ts";
import type { AppDeps } from "./context.ts";

export type AutoMergeResult = "not-auto-approved" | "merged" | "already-tried" | "head-moved" | "blocked";

const status = (e: unknown): number | undefined => (e as { status?: number }).status;

export async function autoMergeIfApproved(deps: AppDeps, octokit: Octokit, ref: RepoRef, number: number, check: CheckOutcome): Promise<AutoMergeResult> {
  const { decision } = check;
  const e = decision.details;
  if (!decision.ok || check.conclusion !== "success" || e.mode !== "check" || !e.autoApproval?.matched) return "not-auto-approved";
  if ((e.kind !== "grant" && e.kind !== "extension") || e.pullRequest.state !== "open" || e.pullRequest.draft) return "not-auto-approved";
  const sha = e.pullRequest.headSha;
  const key = `automerge:${repoKey(ref)}#${number}@${sha}`;
  // Once per evaluated head: a redelivery or a second replica does not merge twice.
  if (!(await claimOnce(deps.state, "automerge", key, { pr: number, sha }))) return "already-tried";
  try {
    await octokit.rest.pulls.merge({ ...ref, pull_number: number, sha, merge_method: "merge" });
    deps.log.info({ pr: number, sha, rule: e.autoApproval.matched.description }, "auto-approved request merged by the app");
    return "merged";
  } catch (err) {
    const s = status(err);
    if (s === 409) {
      // The head moved after the decision: nothing merged; the push's own check decides again.
      deps.log.warn({ pr: number, sha }, "auto-merge refused by GitHub: the head moved after the decision; nothing merged");
      return "head-moved";
    }
    if (s === 405 || s === 403 || s === 422) {
      deps.log.warn({ pr: number, sha, status: s }, "auto-merge refused by GitHub (branch protection or merge settings); owners must merge");
      await commentOnce(deps.state, { octokit, ref }, { pr: number, key: `automerge-blocked:${key}`,
        body: autoMergeBlockedComment({ requester: e.requester, rule: e.autoApproval.matched.description, status: s }) });
      return "blocked";
    }
    // Transient (5xx, network): not retried for this head (the claim stands, so no replica merges
    // twice); a new push or a person's merge proceeds, and any merge is re-verified anyway.
    deps.log.error({ pr: number, sha, status: s }, "auto-merge failed; not retried for this head");
    return "blocked";
  }
}
