// A push to the default branch. Request files that arrive there are granted only through a
// verified merged PR (the merge path, idempotent); anything else is alerted and never granted.
// Deleting an active request file revokes it: revoking only ever reduces privilege.
import { visible } from "../core/inert.ts";
import { unverifiedPushAlert } from "../core/messages.ts";
import { isUnderRequestsDir, parseRequestPath } from "../core/request-path.ts";
import { repoKey, type Octokit, type RepoRef } from "../github/octokit.ts";
import { policyAt } from "../github/policy-at.ts";
import { alertOnce } from "./alerting.ts";
import type { AppDeps } from "./context.ts";
import { handleMerged, type MergeOutcome } from "./merge.ts";
import { requestStateOf } from "./request-state.ts";

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

export async function handlePush(deps: AppDeps, octokit: Octokit, ref: RepoRef, push: PushInput): Promise<PushOutcome> {
  const out: PushOutcome = { merged: [], unverified: [], revoked: [] };
  if (push.ref !== `refs/heads/${push.defaultBranch}` || ZERO.test(push.after) || ZERO.test(push.before)) return out;

  // Fresh reads: what the push changed, and which merged PRs produced its head commit.
  const { data: cmp } = await octokit.rest.repos.compareCommitsWithBasehead({ ...ref, basehead: `${push.before}...${push.after}` });
  const files = (cmp.files ?? []).filter((f) => isUnderRequestsDir(f.filename) || (f.previous_filename && isUnderRequestsDir(f.previous_filename)));
  if (files.length === 0) return out;

  const { data: prs } = await octokit.rest.repos.listPullRequestsAssociatedWithCommit({ ...ref, commit_sha: push.after });
  const viaPr = prs.filter((p) => p.merged_at && p.merge_commit_sha === push.after && p.base.ref === push.defaultBranch);
  for (const pr of viaPr) out.merged.push({ pr: pr.number, outcome: await handleMerged(deps, octokit, ref, pr.number) });
  if (viaPr.length > 0) return out;

  for (const f of files) {
    if (f.status === "removed") {
      const where = parseRequestPath(f.filename);
      if (!where.ok) continue;
      const state = await requestStateOf(deps.state, repoKey(ref), where.database, where.requestId);
      if (state.status !== "active") continue;
      const policy = await policyAt(octokit, ref, push.after);
      if (!policy.details) continue;
      const r = await deps.engines.engine(policy.details).revoke({ repository: repoKey(ref), ...where }, {
        reason: `early revoke: request file deleted by push ${push.after.slice(0, 12)}`, actor: `github:push:${repoKey(ref)}@${push.after}`,
      });
      if (r.ok) out.revoked.push(f.filename);
      continue;
    }
    out.unverified.push(f.filename);
    deps.log.warn({ path: visible(f.filename), commit: push.after, code: "JIT_UNVERIFIED_PUSH" }, "request file pushed without a merged pull request: nothing granted");
    await alertOnce(deps.state, octokit, ref, unverifiedPushAlert({ path: f.filename, commit: push.after, branch: push.defaultBranch }), deps.appId);
  }
  return out;
}
