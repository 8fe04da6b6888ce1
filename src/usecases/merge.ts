// A merged request PR: re-verify everything from API reads at the merge commit (I1); the core turns
// that decision into one action (src/core/action.ts) and applyAction carries it out. Nothing here
// trusts the webhook payload beyond "look at PR n". Each merged PR is handled once
// (merge-once.ts); comments and alerts are claimed once.
import { authorizeEarlyRevoke, mergeAction } from "../core/action.ts";
import { evaluatePullRequest } from "../core/pull-request.ts";
import { getByKey } from "../db/ledger.ts";
import { repoKey, type Octokit, type RepoRef } from "../github/octokit.ts";
import { applyAction, type ApplyEnv, type Outcome } from "./apply-action.ts";
import { recordMergeFacts } from "./audit-facts.ts";
import { pullRequestContext } from "./check.ts";
import type { AppDeps } from "./context.ts";
import { oncePerMerge } from "./merge-once.ts";
import { commentGrantEnded } from "./notify.ts";
import { withKeyAuthority } from "./repository-gate.ts";
import { withTargetChecks } from "./target-checks.ts";
import { earlyRevokeAuthority } from "./revoke-authority.ts";
import { cancelScheduled, scheduleFromMerge, type ScheduleOutcome } from "./scheduled.ts";
import { confirmBreakGlass } from "../db/break-glass.ts";
import { dashboardChanged } from "./pending.ts";

export type MergeOutcome = Outcome | ScheduleOutcome;

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
    return { outcome: applied.outcome as MergeOutcome, record: applied.final };
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
  // Scheduled start (src/usecases/scheduled.ts): a grant with a future start is recorded, not granted
  // (the target checks run at the start); a deletion before the start cancels it.
  if (action.kind === "grant" && action.evaluation.request.startMs !== undefined) {
    return { outcome: await scheduleFromMerge(deps, octokit, ref, number, action.evaluation), final: true };
  }
  if (action.kind === "revoke" && action.authority === "allowed") {
    const cancelled = await cancelScheduled(deps, octokit, ref, number, action.key);
    if (cancelled) return { outcome: cancelled, final: true };
  }
  // Green means grantable, at merge too: benign target refusals and overlaps before any ledger row.
  if (action.kind === "grant") action = await withTargetChecks(deps, action, repository);
  const applied = await applyAction(applyEnv(deps, octokit, ref), action);
  // docs/audit.md: the facts of a grant or extension (of the grant the action names), once the outcome is known; never throws.
  await recordMergeFacts(deps.state, deps.log, "key" in action ? action.key : null, ctx, decision, applied.outcome.kind);
  // A break-glass grant of this PR, now eligibly approved and merged, continues as a normal grant.
  if (action.kind === "grant" && applied.outcome.kind === "granted" && await confirmBreakGlass(deps.state, action.key, action.actor)) await dashboardChanged(deps, repository);
  // Item 8: the request's own PR hears of an early revoke, its author mentioned (queued once).
  if (action.kind === "revoke" && applied.outcome.kind === "revoked") {
    await commentGrantEnded(deps.state, octokit, ref, await getByKey(deps.state, action.key), { deletionPr: number });
  }
  return applied;
}
