// The jit-access check run on a request PR: evaluate (the same decision the merge path uses),
// preview the exact SQL, report on the head SHA the decision was made for, update the sticky comment.
import type { Decision } from "../core/problem.ts";
import { evaluatePullRequest, type PullRequestEvaluation } from "../core/pull-request.ts";
import { isRequestPullRequest, renderCheck, renderStickyComment, type PlanPreview } from "../core/report.ts";
import { renderStatement } from "../core/sql.ts";
import { repoKey, type Octokit, type RepoRef } from "../github/octokit.ts";
import { OctokitPullRequestContext } from "../github/pr-context.ts";
import { upsertStickyComment } from "../github/sticky-comment.ts";
import type { AppDeps } from "./context.ts";
import { requestStateOf } from "./request-state.ts";

export const CHECK_NAME = "jit-access";

export function pullRequestContext(deps: AppDeps, octokit: Octokit, ref: RepoRef, number: number): OctokitPullRequestContext {
  const repository = repoKey(ref);
  return new OctokitPullRequestContext(octokit, ref, number, (db, id) => requestStateOf(deps.state, repository, db, id, number));
}

async function planPreview(deps: AppDeps, e: PullRequestEvaluation): Promise<PlanPreview | null> {
  if (e.kind !== "grant" || !e.policy || !e.basePolicy) return null;
  try {
    const statements = await deps.engines.engine(e.basePolicy).plan(e.policy.database, e.policy.role, e.policy.dbUser);
    return { ok: true, target: e.policy.database, statements: statements.map(renderStatement) };
  } catch (err) {
    const code = (err as { code?: string }).code;
    return { ok: false, code: code?.startsWith("JIT_") ? (code as never) : "JIT_DB_UNREACHABLE", message: (err as Error).message };
  }
}

export interface CheckOutcome {
  decision: Decision<PullRequestEvaluation>;
  checkRunId: number;
  conclusion: string;
}

/**
 * Evaluates PR `number` and writes the check run. `checkRunId` continues a check run GitHub or we
 * already created (check_run.created, re-run); otherwise a new one is created on the evaluated head.
 */
export async function runCheck(deps: AppDeps, octokit: Octokit, ref: RepoRef, number: number, checkRunId?: number): Promise<CheckOutcome> {
  const ctx = pullRequestContext(deps, octokit, ref, number);
  const pr = await ctx.pull();
  // The in-progress check run is created while the evaluation reads (both only need the head SHA).
  const created = checkRunId === undefined
    ? octokit.rest.checks.create({
      ...ref, name: CHECK_NAME, head_sha: pr.headSha, status: "in_progress", started_at: new Date(deps.now()).toISOString(),
    })
    : undefined;
  created?.catch(() => {}); // awaited below; a failure must not be an unhandled rejection meanwhile
  void ctx.prefetch("check").catch(() => {});
  const now = deps.now();
  const decision = await evaluatePullRequest(ctx, { now, mode: "check" });
  const id = checkRunId ?? (await created!).data.id;
  const report = renderCheck(decision, await planPreview(deps, decision.details), now);
  await octokit.rest.checks.update({
    ...ref, check_run_id: id, status: "completed", conclusion: report.conclusion, completed_at: new Date(now).toISOString(),
    output: { title: report.title.text, summary: report.summary.text.slice(0, 65_000), annotations: report.annotations },
  });
  if (isRequestPullRequest(decision)) {
    await upsertStickyComment(octokit, ref, number, renderStickyComment(decision, report), deps.appId);
  }
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
