// What the dashboard's "pending requests" section knows: each open request PR as its last check saw
// it (the app's own conclusion, approvals counted, whom it waits for). Recorded after every check
// and forgotten when the PR closes; then the dashboard is asked to refresh (debounced).
import type { Decision } from "../core/problem.ts";
import type { PullRequestEvaluation } from "../core/pull-request.ts";
import { isRequestPullRequest } from "../core/report.ts";
import { accessEntry } from "../core/repositories.ts";
import { forgetPending, isDashboardIssue, recordPending } from "../db/dashboard.ts";
import { touchDashboard } from "../jobs/dashboard.ts";
import type { AppDeps } from "./context.ts";

/** Asks for a dashboard refresh of an access repository the operator named (never any other, I10). */
export async function dashboardChanged(deps: Pick<AppDeps, "state" | "repositories">, repository: string, o: { force?: boolean } = {}): Promise<void> {
  if (!accessEntry(deps.repositories, repository)) return;
  await touchDashboard(deps.state, repository, o);
}

export async function notePending(deps: Pick<AppDeps, "state" | "repositories">, repository: string, d: Decision<PullRequestEvaluation>, conclusion: string): Promise<void> {
  const e = d.details;
  if (e.pullRequest.state !== "open" || !isRequestPullRequest(d)) {
    await forgetPending(deps.state, repository, e.pullRequest.number);
  } else {
    const a = e.approval;
    const waiting = a && (a.approvals < a.required || a.blockedBy.length) ? [...a.blockedBy.map((b) => b.login), ...(a.approvals < a.required ? a.eligibleOwners : [])] : [];
    await recordPending(deps.state, {
      repository, prNumber: e.pullRequest.number, database: e.database, requestId: e.requestId, requester: e.requester, role: e.policy?.role ?? e.request?.role ?? null,
      conclusion, code: d.code, approvals: a?.approvals ?? 0, required: a?.required ?? e.policy?.approvalRequirement.count ?? 0,
      waitingFor: [...new Set(waiting)], headSha: e.pullRequest.headSha,
    });
  }
  await dashboardChanged(deps, repository);
}

export async function pullRequestClosed(deps: Pick<AppDeps, "state" | "repositories">, repository: string, prNumber: number): Promise<void> {
  await forgetPending(deps.state, repository, prNumber);
  await dashboardChanged(deps, repository);
}

/** issues.edited by someone other than a bot: when it is the dashboard, a forced refresh restores it. */
export async function dashboardEdited(deps: Pick<AppDeps, "state" | "repositories">, repository: string, issueNumber: number): Promise<string> {
  if (!accessEntry(deps.repositories, repository) || !(await isDashboardIssue(deps.state, repository, issueNumber))) return "not the dashboard";
  await dashboardChanged(deps, repository, { force: true });
  return "dashboard restore queued";
}
