// Reviewers requested: when a request PR is valid but for approvals, the app asks the eligible
// approvers to review it (src/core/review-requests.ts decides whom), once per PR head — claimed in
// the outbox, so redeliveries and replicas do not ask again — and the check says whom it waits for.
import { contributorLogins } from "../core/approval.ts";
import type { PullRequestContext } from "../core/context.ts";
import type { Decision } from "../core/problem.ts";
import type { PullRequestEvaluation } from "../core/pull-request.ts";
import { DEFAULT_REVIEW_REQUESTS, planReviewRequests, waitsOnlyForApprovals, type ReviewRequestPlan } from "../core/review-requests.ts";
import { claimedPayload, claimOnce } from "../db/outbox.ts";
import { repoKey, type Octokit, type RepoRef } from "../github/octokit.ts";
import type { AppDeps } from "./context.ts";

export type PlannedReviews = ReviewRequestPlan & { org: string };

/** Whom to ask, or null when the PR is not waiting for approvals only. */
export async function plannedReviews(deps: AppDeps, ctx: PullRequestContext, ref: RepoRef, d: Decision<PullRequestEvaluation>): Promise<PlannedReviews | null> {
  if (!waitsOnlyForApprovals(d)) return null;
  // I13: the same reads the approval evaluation used (cached): commit people and pushers are never asked.
  const [commits, pushers] = await Promise.all([ctx.commits(), ctx.pushers()]);
  const excluded = [...contributorLogins(commits).keys(), ...pushers.map((p) => p.login)];
  const plan = planReviewRequests(d.details, { org: ref.owner, max: deps.reviewRequestMax ?? DEFAULT_REVIEW_REQUESTS, excluded });
  return plan.users.length || plan.teams.length ? { ...plan, org: ref.owner } : null;
}

/**
 * Sends the review request once per head SHA: recorded after GitHub accepted it, so a failure is
 * asked again by the next evaluation (two replicas racing ask twice at most; GitHub keeps one request).
 */
export async function requestReviewsOnce(deps: AppDeps, octokit: Octokit, ref: RepoRef, number: number, headSha: string, plan: PlannedReviews): Promise<void> {
  const key = `review-request:${repoKey(ref)}#${number}@${headSha}`;
  if ((await claimedPayload(deps.state, key)) !== undefined) return;
  try {
    await octokit.rest.pulls.requestReviewers({ ...ref, pull_number: number, reviewers: plan.users, team_reviewers: plan.teams });
  } catch (err) {
    deps.log.warn({ pr: number, status: (err as { status?: number }).status }, "review request failed; the next evaluation asks again");
    return;
  }
  if (await claimOnce(deps.state, "review-request", key, { pr: number, users: plan.users, teams: plan.teams })) {
    deps.log.info({ pr: number, users: plan.users, teams: plan.teams }, "review requested");
  }
}
