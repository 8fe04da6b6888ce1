// The merge side of scheduled start: a verified merge whose request has a future `start` is recorded
// as a scheduled grant (nothing is granted; src/scheduler/activation.ts grants at the start after
// re-verifying), and a merged deletion before the start cancels it. Comments are claimed once.
import type { PullRequestEvaluation } from "../core/pull-request.ts";
import { scheduleCancelledComment, scheduledComment } from "../core/schedule-messages.ts";
import { closeScheduled, getScheduled, insertScheduled } from "../db/scheduled.ts";
import type { LedgerKey } from "../db/ledger.ts";
import { repoKey, type Octokit, type RepoRef } from "../github/octokit.ts";
import type { AppDeps } from "./context.ts";
import type { Md } from "../core/inert.ts";
import { commentOnce as outboxComment } from "./github-effects.ts";
import { dashboardChanged } from "./pending.ts";

/** A comment once per key through the outbox (retried by its drain; a redelivery posts nothing). */
export async function commentOnce(deps: AppDeps, octokit: Octokit, ref: RepoRef, pr: number, key: string, body: Md): Promise<void> {
  await outboxComment(deps.state, { octokit, ref }, { pr, key, body });
}

export type ScheduleOutcome = { kind: "scheduled" | "cancelled"; existing: boolean; startsAt: Date };

/** `e` is a verified grant decision (ok) whose request has startMs. */
export async function scheduleFromMerge(deps: AppDeps, octokit: Octokit, ref: RepoRef, number: number, e: PullRequestEvaluation): Promise<ScheduleOutcome> {
  const repository = repoKey(ref);
  const request = e.request!;
  const policy = e.policy!;
  const approvers = e.approval!.counted.map((c) => c.login);
  const { row, created } = await insertScheduled(deps.state, {
    repository, path: request.path, database: policy.database, requestId: request.requestId, prNumber: number,
    headSha: e.pullRequest.headSha, mergeSha: e.pullRequest.mergeCommitSha, mergedAt: e.pullRequest.mergedAt!,
    requester: e.requester, approvers, role: policy.role, dbUser: policy.dbUser, durationMs: policy.durationMs,
    duration: request.duration, reason: request.reason, ticket: request.ticket ?? null, start: request.start!, actor: `github:merge:${repository}#${number}`,
  });
  if (created) deps.log.info({ pr: number, database: row.database, requestId: row.requestId, startsAt: row.startsAt.toISOString() }, "scheduled");
  deps.onGrant?.(); // re-arms the scheduler's timer for the new start
  if (created) await dashboardChanged(deps, repository);
  await commentOnce(deps, octokit, ref, number, `scheduled:${repository}:${row.database}/${row.requestId}`, scheduledComment({
    role: row.role, dbUser: row.dbUser, database: row.database, requestId: row.requestId, startsAt: row.startsAt.getTime(),
    durationMs: row.durationMs, approvers: row.approvers,
  }, deps.now()));
  return { kind: "scheduled", existing: !created, startsAt: row.startsAt };
}

/**
 * A merged deletion of a request that is still only scheduled: closes it (no GRANT ever happens) and
 * says so on the PR. Null when the request is not a pending scheduled grant.
 */
export async function cancelScheduled(deps: AppDeps, octokit: Octokit, ref: RepoRef, number: number, key: LedgerKey): Promise<ScheduleOutcome | null> {
  const row = await getScheduled(deps.state, key);
  if (!row) return null;
  if (row.status !== "scheduled" && row.status !== "cancelled") return null;
  const closed = row.status === "scheduled"
    ? await closeScheduled(deps.state, row.id, { status: "cancelled", code: "JIT_SCHEDULE_CANCELLED", reason: `request file deleted by pull request #${number}`, actor: `github:merge:${key.repository}#${number}` })
    : undefined;
  // Lost the race to the activation pass (it just granted): the caller revokes the grant instead.
  if (!closed && row.status === "scheduled") return null;
  if (closed) {
    deps.log.info({ pr: number, database: key.database, requestId: key.requestId }, "scheduled grant cancelled");
    await dashboardChanged(deps, key.repository);
  }
  await commentOnce(deps, octokit, ref, number, `schedule-cancelled:${key.repository}:${key.database}/${key.requestId}`,
    scheduleCancelledComment({ requestId: key.requestId, database: key.database, startsAt: row.startsAt.getTime() }, deps.now()));
  return { kind: "cancelled", existing: !closed, startsAt: row.startsAt };
}
