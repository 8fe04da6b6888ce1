// The one evaluation of a request PR that the check and the merge path share: the core's decision
// (src/core/pull-request.ts), plus the rule that only the default branch's policies and CODEOWNERS
// decide. A PR into any other branch is measured against that branch's files, which anyone who can
// push a branch may rewrite; so a request PR must target the default branch (I1).
import { evaluatePullRequest, type EvaluatePullRequestOptions, type PullRequestEvaluation } from "../core/pull-request.ts";
import { decide, problem, type Decision } from "../core/problem.ts";
import { isRequestPullRequest } from "../core/report.ts";
import type { OctokitPullRequestContext } from "../github/pr-context.ts";

export async function evaluateRequestPullRequest(ctx: OctokitPullRequestContext, opts: EvaluatePullRequestOptions): Promise<Decision<PullRequestEvaluation>> {
  const decision = await evaluatePullRequest(ctx, opts);
  const [pr, base] = [await ctx.pull(), await ctx.baseRef()];
  const main = pr.repository.defaultBranch;
  const nothingToDo = decision.ok && decision.details.kind === "none";
  if (base === main || !isRequestPullRequest(decision) || nothingToDo) return decision;
  const wrongBase = problem("JIT_PR_BASE_NOT_DEFAULT",
    `pull request #${pr.number} targets ${base}, not the default branch ${main}; requests are granted only from ${main}`,
    { hint: `change the pull request's base branch to ${main}` });
  return decide(decision.details, [wrongBase, ...decision.problems], "");
}
