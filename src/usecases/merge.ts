// A merged request PR: re-verify everything from API reads at the merge commit (I1); the core turns
// that decision into one action (src/core/action.ts) and applyAction carries it out. Nothing here
// trusts the webhook payload beyond "look at PR n". Each merged PR is handled once
// (merge-once.ts); comments and alerts are claimed once.
import { authorizeEarlyRevoke, mergeAction } from "../core/action.ts";
import { evaluatePullRequest } from "../core/pull-request.ts";
import { repoKey, type Octokit, type RepoRef } from "../github/octokit.ts";
import { applyAction, type ApplyEnv, type Outcome } from "./apply-action.ts";
import { pullRequestContext } from "./check.ts";
import type { AppDeps } from "./context.ts";
import { oncePerMerge } from "./merge-once.ts";
import { withKeyAuthority } from "./repository-gate.ts";
import { withTargetChecks } from "./target-checks.ts";
import { earlyRevokeAuthority } from "./revoke-authority.ts";

export type MergeOutcome = Outcome;

/** The applier's view of the app's dependencies, for one event's repository. */
export function applyEnv(deps: AppDeps, octokit: Octokit, ref: RepoRef): ApplyEnv {
  return {
    state: deps.state, log: deps.log, engine: (p) => deps.engines.engine(p), now: deps.now,
    ...(deps.onGrant ? { onGrant: deps.onGrant } : {}), github: { octokit, ref, ...(deps.appId !== undefined ? { appId: deps.appId } : {}) },
  };
}

export async function handleMerged(deps: AppDeps, octokit: Octokit, ref: RepoRef, number: number): Promise<MergeOutcome> {
  const { outcome, fresh } = await oncePerMerge<MergeOutcome>(deps.state, `merge:${repoKey(ref)}#${number}`, async () => {
    const applied = await verifyAndApply(deps, octokit, ref, number);
    return { outcome: applied.outcome, record: applied.final };
  });
  if (!fresh) deps.log.info({ pr: number, kind: outcome.kind }, "merged pull request already handled");
  return outcome;
}

async function verifyAndApply(deps: AppDeps, octokit: Octokit, ref: RepoRef, number: number) {
  const repository = repoKey(ref);
  const ctx = pullRequestContext(deps, octokit, ref, number);
  void ctx.prefetch("merge").catch(() => {});
  const decision = withKeyAuthority(deps, repository, await evaluatePullRequest(ctx, { now: deps.now(), mode: "merge" }));
  let action = mergeAction(decision, repository);
  if (action.kind === "revoke" && action.authority === "pending") {
    // Only the requester, or an eligible approver's approval, may end someone's grant early (revoke_by).
    const e = decision.details;
    action = authorizeEarlyRevoke(action, await earlyRevokeAuthority(deps, octokit, ref, action.key, action.policy!,
      { ctx, author: e.pullRequest.author, headSha: e.pullRequest.headSha }));
  }
  // Green means grantable, at merge too: benign target refusals and overlaps before any ledger row.
  if (action.kind === "grant") action = await withTargetChecks(deps, action, repository);
  return applyAction(applyEnv(deps, octokit, ref), action);
}
