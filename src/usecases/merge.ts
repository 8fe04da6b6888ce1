// A merged request PR: re-verify everything from API reads at the merge commit (I1), then grant,
// extend or revoke through the engine. Nothing here trusts the webhook payload beyond "look at PR n".
// Each merged PR is handled once (merge-once.ts); comments and alerts are claimed once.
import type { JitCode } from "../core/codes.ts";
import type { Problem } from "../core/problem.ts";
import { evaluatePullRequest } from "../core/pull-request.ts";
import { earlyRevokeComment, earlyRevokeRefusedAlert, earlyRevokeRefusedComment, extendedComment, grantedComment, mergeRefusedAlert, refusalComment } from "../core/messages.ts";
import type { Md } from "../core/inert.ts";
import { isRequestPullRequest, knownAccounts } from "../core/report.ts";
import { confirmBreakGlass } from "../db/break-glass.ts";
import { extendGrant } from "../db/extend.ts";
import { repoKey, type Octokit, type RepoRef } from "../github/octokit.ts";
import { postComment } from "../github/sticky-comment.ts";
import { claimOnce, releaseClaim } from "../db/outbox.ts";
import { alertOnce } from "./alerting.ts";
import { pullRequestContext } from "./check.ts";
import type { AppDeps } from "./context.ts";
import { oncePerMerge } from "./merge-once.ts";
import { withKeyAuthority } from "./repository-gate.ts";
import { earlyRevokeAuthority } from "./revoke-authority.ts";
import { cancelScheduled, scheduleFromMerge, type ScheduleOutcome } from "./scheduled.ts";

export type MergeOutcome =
  | { kind: "granted" | "extended" | "revoked"; existing: boolean; expiresAt?: Date | string | null }
  | ScheduleOutcome
  | { kind: "refused"; code: string; problems: Problem[] }
  | { kind: "ignored"; why: string };

/** Refusals that may pass when retried (a target down or not configured yet): not recorded as final. */
const TRANSIENT: ReadonlySet<string> = new Set<JitCode>(["JIT_DB_UNREACHABLE", "JIT_CONFIG_MISSING_ENV"]);

/** Refusals that are no incident (I17: a merge handled after its window, e.g. a late replay): commented, not alerted. */
const NOT_INCIDENTS: ReadonlySet<string> = new Set<JitCode>(["JIT_WINDOW_PASSED"]);

const NOT_MERGED = "the API does not show the pull request as merged";

/** Posts a comment once per key (a redelivery or a second replica posts nothing). */
export async function commentOnce(deps: AppDeps, octokit: Octokit, ref: RepoRef, pr: number, key: string, body: Md): Promise<void> {
  if (!(await claimOnce(deps.state, "comment", key, { pr }))) return;
  try {
    await postComment(octokit, ref, pr, body);
  } catch (err) {
    await releaseClaim(deps.state, key);
    throw err;
  }
}

/** `known`: accounts read from GitHub for this PR that the messages may mention (I19). */
async function refuse(deps: AppDeps, octokit: Octokit, ref: RepoRef, pr: number, code: JitCode, problems: Problem[], known?: ReadonlySet<string>): Promise<MergeOutcome> {
  const key = `${repoKey(ref)}#${pr}`;
  deps.log.warn({ pr, code, codes: problems.map((p) => p.code) }, "merge refused: nothing granted");
  await commentOnce(deps, octokit, ref, pr, `refused:${key}`, refusalComment(code, problems, known));
  if (NOT_INCIDENTS.has(code)) return { kind: "refused", code, problems };
  await alertOnce(deps.state, octokit, ref, mergeRefusedAlert(pr, code, problems, known), deps.appId);
  return { kind: "refused", code, problems };
}

/** A deletion revoke_by does not allow: nothing revoked early, the PR says why, and owners are alerted. */
async function refuseEarlyRevoke(deps: AppDeps, octokit: Octokit, ref: RepoRef, pr: number, grant: string, problems: Problem[]): Promise<MergeOutcome> {
  const code = "JIT_REVOKE_NOT_AUTHORIZED";
  deps.log.warn({ pr, code, grant }, "early revoke refused: the grant ends at its expiry");
  await commentOnce(deps, octokit, ref, pr, `revoke-refused:${repoKey(ref)}#${pr}`, earlyRevokeRefusedComment(grant, problems));
  await alertOnce(deps.state, octokit, ref, earlyRevokeRefusedAlert(pr, grant, problems), deps.appId);
  return { kind: "refused", code, problems };
}

export async function handleMerged(deps: AppDeps, octokit: Octokit, ref: RepoRef, number: number): Promise<MergeOutcome> {
  const { outcome, fresh } = await oncePerMerge<MergeOutcome>(deps.state, `merge:${repoKey(ref)}#${number}`, async () => {
    const outcome = await verifyAndApply(deps, octokit, ref, number);
    const final = outcome.kind === "refused" ? !TRANSIENT.has(outcome.code) : outcome.kind !== "ignored" || outcome.why !== NOT_MERGED;
    return { outcome, record: final };
  });
  if (!fresh) deps.log.info({ pr: number, kind: outcome.kind }, "merged pull request already handled");
  return outcome;
}

async function verifyAndApply(deps: AppDeps, octokit: Octokit, ref: RepoRef, number: number): Promise<MergeOutcome> {
  const repository = repoKey(ref);
  const ctx = pullRequestContext(deps, octokit, ref, number);
  void ctx.prefetch("merge").catch(() => {});
  const decision = withKeyAuthority(deps, repository, await evaluatePullRequest(ctx, { now: deps.now(), mode: "merge" }));
  const e = decision.details;
  const actor = `github:merge:${repository}#${number}`;

  // A stale or mistaken event for a PR the API does not show as merged: nothing to do, nothing to
  // say, and nothing recorded, so the real merge is handled when it happens.
  if (decision.problems.some((p) => p.code === "JIT_PR_NOT_MERGED")) return { kind: "ignored", why: NOT_MERGED };

  // Deleting an active request only ever reduces privilege: revoke whatever else the PR did
  // (but only for a PR into the default branch: elsewhere the file is still there).
  // A key another access repository owns is never revoked from here (I10).
  const wrongBase = decision.problems.some((p) => p.code === "JIT_PR_BASE_NOT_DEFAULT" || p.code === "JIT_REPO_KEY_NOT_BOUND");
  if (e.kind === "revoke" && e.database && e.requestId && e.basePolicy && !wrongBase) {
    // Only the requester, or an eligible approver's approval, may end someone's grant early (revoke_by).
    const authority = await earlyRevokeAuthority(deps, octokit, ref, { repository, database: e.database, requestId: e.requestId }, e.basePolicy,
      { ctx, author: e.pullRequest.author, headSha: e.pullRequest.headSha });
    if (!authority.ok) return refuseEarlyRevoke(deps, octokit, ref, number, `${e.database}/${e.requestId}`, authority.problems);
    // A scheduled grant not started yet: cancelled, nothing to revoke (src/usecases/scheduled.ts).
    const cancelled = await cancelScheduled(deps, octokit, ref, number, { repository, database: e.database, requestId: e.requestId });
    if (cancelled) return cancelled;
    const r = await deps.engines.engine(e.basePolicy).revoke({ repository, database: e.database, requestId: e.requestId }, {
      reason: `early revoke: request file deleted by pull request #${number}`, actor,
    });
    if (r.ok && !r.details.alreadyClosed) {
      deps.log.info({ pr: number, database: e.database, requestId: e.requestId }, "revoked early");
      await commentOnce(deps, octokit, ref, number, `revoked:${repository}:${e.database}/${e.requestId}`,
        earlyRevokeComment({ requestId: e.requestId, database: e.database, outcome: r.message }));
    }
    if (!r.ok) {
      // Not recorded as final: a redelivery retries, and the sweeper revokes at expiry anyway.
      deps.log.error({ pr: number, code: r.code }, "early revoke failed; the sweeper retries at expiry");
      throw Object.assign(new Error(`early revoke of ${e.database}/${e.requestId} failed: ${r.code}`), { code: r.code });
    }
    return { kind: "revoked", existing: r.details.alreadyClosed };
  }
  if (!isRequestPullRequest(decision) || (decision.ok && e.kind === "none")) {
    return { kind: "ignored", why: "not a request pull request" };
  }
  if (!decision.ok || !e.policy || !e.request || !e.basePolicy || !e.approval) {
    return refuse(deps, octokit, ref, number, decision.code, decision.problems, knownAccounts(e));
  }

  const approvers = e.approval.counted.map((c) => c.login);
  if (e.kind === "extension") {
    const ext = await extendGrant(deps.state, { repository, database: e.policy.database, requestId: e.request.requestId },
      { durationMs: e.policy.durationMs, role: e.policy.role, dbUser: e.policy.dbUser, actor, prNumber: number, approvers });
    if (!ext.ok) return refuse(deps, octokit, ref, number, ext.code, ext.problems, knownAccounts(e));
    deps.onGrant?.();
    deps.log.info({ pr: number, database: e.policy.database, requestId: e.request.requestId, expiresAt: ext.details.expiresAt.toISOString() }, "extended");
    await commentOnce(deps, octokit, ref, number, `extended:${repository}#${number}`, extendedComment({
      role: e.policy.role, dbUser: e.policy.dbUser, database: e.policy.database, expiresAt: ext.details.expiresAt.getTime(), approvers,
    }, deps.now()));
    return { kind: "extended", existing: ext.details.unchanged, expiresAt: ext.details.expiresAt };
  }

  // A future start: recorded now, granted by the scheduler at the start (src/scheduler/activation.ts).
  if (e.request.startMs !== undefined) return scheduleFromMerge(deps, octokit, ref, number, e);
  const granted = await deps.engines.engine(e.basePolicy).grant({
    repository, database: e.policy.database, requestId: e.request.requestId, path: e.request.path,
    prNumber: number, headSha: e.pullRequest.headSha, mergeSha: e.pullRequest.mergeCommitSha, approvers,
    role: e.policy.role, dbUser: e.policy.dbUser, durationMs: e.policy.durationMs, actor,
    // I17: the window opens at GitHub's merge time, whenever this delivery is handled.
    mergedAt: e.pullRequest.mergedAt,
  });
  if (!granted.ok) return refuse(deps, octokit, ref, number, granted.code, granted.problems, knownAccounts(e));
  // A break-glass grant of this PR, now eligibly approved and merged, continues as a normal grant.
  await confirmBreakGlass(deps.state, { repository, database: e.policy.database, requestId: e.request.requestId }, actor);
  deps.onGrant?.();
  const row = granted.details.row!;
  const until = row.expiresAt!;
  if (!granted.details.existing) {
    deps.log.info({ pr: number, database: row.database, role: row.role, dbUser: row.dbUser, expiresAt: until.toISOString() }, "granted");
  }
  await commentOnce(deps, octokit, ref, number, `granted:${repository}:${row.database}/${row.requestId}`,
    grantedComment({ role: row.role, dbUser: row.dbUser, database: row.database, expiresAt: until.getTime(), approvers }, deps.now()));
  return { kind: "granted", existing: granted.details.existing, expiresAt: until };
}
