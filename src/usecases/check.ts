// The jit-access check run on a request PR: evaluate (the same decision the merge path uses),
// preview the exact SQL, report on the head SHA the decision was made for, update the sticky comment.
import { isPolicyPath } from "../core/policy.ts";
import { decide, type Decision, type Problem } from "../core/problem.ts";
import { evaluatePullRequest, type PullRequestEvaluation } from "../core/pull-request.ts";
import { isRequestPullRequest, isWaitingOnly, renderCheck, renderStickyComment } from "../core/report.ts";
import { isUnderRequestsDir } from "../core/request-path.ts";
import { pushersOf } from "../db/pushers.ts";
import { stickyMemory } from "../db/sticky-comments.ts";
import { pushersFromActivity } from "../github/activity-pushers.ts";
import { isNotFound, repoKey, type Octokit, type RepoRef } from "../github/octokit.ts";
import { OctokitPullRequestContext, type ListCacheHint } from "../github/pr-context.ts";
import { upsertStickyComment } from "../github/sticky-comment.ts";
import type { AppDeps } from "./context.ts";
import { notePending } from "./pending.ts";
import { withKeyAuthority } from "./repository-gate.ts";
import { earlyRevokeAuthority } from "./revoke-authority.ts";
import { requestStateOf } from "./request-state.ts";
import { plannedReviews, requestReviewsOnce } from "./review-requests.ts";
import { checkTargets } from "./target-checks.ts";

export const CHECK_NAME = "jit-access";

export function pullRequestContext(deps: AppDeps, octokit: Octokit, ref: RepoRef, number: number, lists?: ListCacheHint): OctokitPullRequestContext {
  const repository = repoKey(ref);
  return new OctokitPullRequestContext(octokit, ref, number, (db, id) => requestStateOf(deps.state, repository, db, id, number),
    async () => [...await pushersOf(deps.state, repository, number), ...(deps.pushersFromGitHub ? await pushersFromActivity(octokit, ref, number) : [])], lists);
}

/** How a check is run: `reevaluation` (same head, e.g. a review) writes its check run in one call. */
export interface CheckOptions { reevaluation?: boolean; shas?: ListCacheHint }

export interface CheckOutcome {
  decision: Decision<PullRequestEvaluation>;
  checkRunId: number;
  conclusion: string;
}

/**
 * Evaluates PR `number` and writes the check run. `checkRunId` continues a check run GitHub or we
 * already created (check_run.created, re-run); otherwise a new one is created on the evaluated head.
 */
export async function runCheck(deps: AppDeps, octokit: Octokit, ref: RepoRef, number: number, checkRunId?: number, opts: CheckOptions = {}): Promise<CheckOutcome> {
  const ctx = pullRequestContext(deps, octokit, ref, number, opts.shas ?? {});
  void ctx.prefetch("check").catch(() => {}); // its first reads go out with the pull request's
  const pr = await ctx.pull();
  // The in-progress check run is created while the evaluation reads (both only need the head SHA);
  // a re-evaluation creates its check run completed at the end instead (one call, not two).
  const direct = checkRunId === undefined && opts.reevaluation === true;
  const created = checkRunId === undefined && !direct
    ? octokit.rest.checks.create({
      ...ref, name: CHECK_NAME, head_sha: pr.headSha, status: "in_progress", started_at: new Date(deps.now()).toISOString(),
    })
    : undefined;
  created?.catch(() => {}); // awaited below; a failure must not be an unhandled rejection meanwhile
  const now = deps.now();
  let decision = withKeyAuthority(deps, repoKey(ref), await evaluatePullRequest(ctx, { now, mode: "check" }));
  const e = decision.details;
  if (e.kind === "revoke" && e.basePolicy && e.database && e.requestId) {
    // Says before the merge whether merging would end the grant now (revoke_by).
    const authority = await earlyRevokeAuthority(deps, octokit, ref, { repository: repoKey(ref), database: e.database, requestId: e.requestId }, e.basePolicy,
      { ctx, author: e.pullRequest.author, headSha: e.pullRequest.headSha });
    if (!authority.ok) decision = decide(e, [...decision.problems, ...authority.problems], "");
  }
  // Green means grantable: what the merge would refuse on in the target keeps the check from green.
  const targets = await checkTargets(deps, decision.details, repoKey(ref));
  if (targets.problems.length) {
    const waiting = decision.problems.filter((p) => isWaitingOnly([p]));
    decision = decide(decision.details, [...decision.problems.filter((p) => !isWaitingOnly([p])), ...targets.problems, ...waiting], "");
  }
  const reviewers = await plannedReviews(deps, ctx, ref, decision);
  const report = renderCheck(decision, targets.plan, now, reviewers ?? undefined);
  const done = {
    status: "completed" as const, conclusion: report.conclusion, completed_at: new Date(now).toISOString(),
    output: { title: report.title.text, summary: report.summary.text.slice(0, 65_000), annotations: report.annotations },
  };
  let id: number;
  if (direct) {
    id = (await octokit.rest.checks.create({ ...ref, name: CHECK_NAME, head_sha: pr.headSha, started_at: new Date(now).toISOString(), ...done })).data.id;
  } else {
    id = checkRunId ?? (await created!).data.id;
    await octokit.rest.checks.update({ ...ref, check_run_id: id, ...done });
  }
  if (isRequestPullRequest(decision)) {
    await upsertStickyComment(octokit, ref, number, renderStickyComment(decision, report), deps.appId, stickyMemory(deps.state, repoKey(ref)));
  }
  await notePending(deps, repoKey(ref), decision, report.conclusion); // the dashboard's pending section
  if (reviewers) await requestReviewsOnce(deps, octokit, ref, number, decision.details.pullRequest.headSha, reviewers);
  deps.log.info({ pr: number, code: decision.code, conclusion: report.conclusion, kind: decision.details.kind }, "check evaluated");
  return { decision, checkRunId: id, conclusion: report.conclusion };
}

/**
 * A PR closed without merging: if it was a request PR (it has a non-neutral jit-access check), the
 * check is re-evaluated so it shows JIT_PR_NOT_MERGED; other PRs get no new check.
 */
export async function recheckClosed(deps: AppDeps, octokit: Octokit, ref: RepoRef, number: number, headSha: string): Promise<string> {
  const { data } = await octokit.rest.checks.listForRef({ ...ref, ref: headSha, check_name: CHECK_NAME, filter: "latest", per_page: 100 });
  const ours = data.check_runs.filter((r) => deps.appId === undefined || r.app?.id === deps.appId);
  if (!ours.some((r) => r.conclusion !== "neutral")) return "not a request pull request";
  return (await runCheck(deps, octokit, ref, number)).conclusion;
}

/**
 * I10: a pull request in a repository that is not an access repository. When it touches requests or
 * policies (or GitHub asked for this check run), a neutral check says why nothing will happen.
 */
export async function notAccessCheck(deps: AppDeps, octokit: Octokit, ref: RepoRef, number: number, why: Problem, checkRunId?: number): Promise<string> {
  // A payload that names a repository it does not come from (I10) may name a PR that is not there.
  const pr = await octokit.rest.pulls.get({ ...ref, pull_number: number }).then((r) => r.data, (e: unknown) => {
    if (isNotFound(e)) return null;
    throw e;
  });
  if (!pr) {
    deps.log.warn({ pr: number, code: why.code }, "not an access repository, and no such pull request there: nothing is evaluated");
    return "not an access repository";
  }
  const files = await octokit.paginate(octokit.rest.pulls.listFiles, { ...ref, pull_number: number, per_page: 100 });
  const relevant = files.some((f) => isUnderRequestsDir(f.filename) || isUnderRequestsDir(f.previous_filename ?? "") || isPolicyPath(f.filename));
  deps.log.info({ pr: number, code: why.code, relevant }, "not an access repository: nothing is evaluated");
  if (!relevant && checkRunId === undefined) return "not an access repository";
  const now = new Date(deps.now()).toISOString();
  const output = { title: `${why.code}: not an access repository`, summary: `${why.message}.${why.hint ? `\n\n${why.hint}.` : ""}` };
  const done = { status: "completed" as const, conclusion: "neutral" as const, completed_at: now, output };
  if (checkRunId !== undefined) await octokit.rest.checks.update({ ...ref, check_run_id: checkRunId, ...done });
  else await octokit.rest.checks.create({ ...ref, name: CHECK_NAME, head_sha: pr.head.sha, started_at: now, ...done });
  return "neutral";
}
