// A push to the default branch. Request files that arrive there are granted only through a
// verified merged PR (the merge path, idempotent); anything else is alerted and never granted.
// Deleting an active request file revokes it (revoke_by permitting): the core decides, applyAction revokes.
import { visible } from "../core/inert.ts";
import { authorizeEarlyRevoke, pushDeletionAction, type Action } from "../core/action.ts";
import { pushListIncompleteAlert, unverifiedPushAlert, unverifiedPushSummaryAlert } from "../core/messages.ts";
import { parseRequestPath } from "../core/request-path.ts";
import { repoKey, type Octokit, type RepoRef } from "../github/octokit.ts";
import { policyAt } from "../github/policy-at.ts";
import { requestChangesBetween, REQUESTS_DIR } from "../github/request-changes.ts";
import { alertOnce } from "./alerting.ts";
import type { AppDeps } from "./context.ts";
import { applyAction } from "./apply-action.ts";
import { applyEnv, handleMerged, type MergeOutcome } from "./merge.ts";
import { requestStateOf } from "./request-state.ts";
import { keyAuthority } from "../core/repositories.ts";
import { earlyRevokeAuthority } from "./revoke-authority.ts";

export interface PushInput {
  ref: string;
  before: string;
  after: string;
  defaultBranch: string;
}

export interface PushOutcome {
  merged: { pr: number; outcome: MergeOutcome }[];
  unverified: string[];
  revoked: string[];
}

const ZERO = /^0+$/;
/** Request files alerted one by one per push; beyond that, one summary alert. */
const MAX_FILE_ALERTS = 10;

export async function handlePush(deps: AppDeps, octokit: Octokit, ref: RepoRef, push: PushInput): Promise<PushOutcome> {
  const out: PushOutcome = { merged: [], unverified: [], revoked: [] };
  if (push.ref !== `refs/heads/${push.defaultBranch}` || ZERO.test(push.after) || ZERO.test(push.before)) return out;

  // Fresh reads: what the push changed under access-requests/ (complete, I12), and which merged
  // PRs produced its head commit.
  const listed = await requestChangesBetween(octokit, ref, push.before, push.after);
  const files = listed.complete ? listed.changes : [];
  if (listed.complete && files.length === 0) return out;

  const { data: prs } = await octokit.rest.repos.listPullRequestsAssociatedWithCommit({ ...ref, commit_sha: push.after });
  const viaPr = prs.filter((p) => p.merged_at && p.merge_commit_sha === push.after && p.base.ref === push.defaultBranch);
  for (const pr of viaPr) out.merged.push({ pr: pr.number, outcome: await handleMerged(deps, octokit, ref, pr.number) });
  if (viaPr.length > 0) return out;

  if (!listed.complete) {
    // Which request files arrived is unknown: nothing is granted from here anyway, so say so loudly.
    out.unverified.push(REQUESTS_DIR);
    deps.log.warn({ commit: push.after, code: "JIT_LIST_INCOMPLETE" }, "could not list the request files a push changed: nothing granted");
    await alertOnce(deps.state, octokit, ref, pushListIncompleteAlert({ commit: push.after, branch: push.defaultBranch, dir: REQUESTS_DIR, reason: listed.reason }), deps.appId);
    return out;
  }

  for (const f of files) {
    if (f.status === "removed") {
      const where = parseRequestPath(f.filename);
      if (!where.ok) continue;
      const key = { repository: repoKey(ref), database: where.database, requestId: where.requestId };
      const state = await requestStateOf(deps.state, key.repository, key.database, key.requestId);
      const ownedElsewhere = state.status === "active" && keyAuthority(deps.repositories, key.repository, key.database) !== null;
      const policy = state.status === "active" && !ownedElsewhere ? (await policyAt(octokit, ref, push.after)).details : null;
      let action: Action = pushDeletionAction({
        origin: { via: "push", repository: key.repository, commit: push.after, branch: push.defaultBranch, path: f.filename },
        key, active: state.status === "active", ownedElsewhere, policy,
      });
      if (action.kind === "revoke") {
        // A direct push has no verified author or review: it ends a grant early only under revoke_by: [anyone].
        action = authorizeEarlyRevoke(action, await earlyRevokeAuthority(deps, octokit, ref, key, action.policy!, null));
        if (action.kind === "refuse") deps.log.warn({ path: f.filename, commit: push.after, code: action.code }, "request file deleted by a direct push: nothing revoked early");
      }
      const applied = await applyAction(applyEnv(deps, octokit, ref), action);
      if (applied.outcome.kind === "revoked") out.revoked.push(f.filename);
      continue;
    }
    out.unverified.push(f.filename);
    deps.log.warn({ path: visible(f.filename), commit: push.after, code: "JIT_UNVERIFIED_PUSH" }, "request file pushed without a merged pull request: nothing granted");
    if (out.unverified.length > MAX_FILE_ALERTS) continue; // one summary alert below, not thousands of issues
    await alertOnce(deps.state, octokit, ref, unverifiedPushAlert({ path: f.filename, commit: push.after, branch: push.defaultBranch }), deps.appId);
  }
  if (out.unverified.length > MAX_FILE_ALERTS) {
    await alertOnce(deps.state, octokit, ref, unverifiedPushSummaryAlert({
      commit: push.after, branch: push.defaultBranch, total: out.unverified.length, alerted: MAX_FILE_ALERTS,
    }), deps.appId);
  }
  return out;
}
