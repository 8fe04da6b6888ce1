// I13: whoever changes a PR's head (opened, reopened, synchronize) or its base (edited with a new
// base) is recorded before the delivery is evaluated, so no later evaluation counts their approval.
// A push to a closed PR's branch sends no synchronize (the reopen names only who reopened it), so
// the push delivery itself records its pusher on every PR whose head is that branch.
import { recordPusher } from "../db/pushers.ts";
import { repoKey, type Octokit, type RepoRef } from "../github/octokit.ts";
import type { AppDeps } from "./context.ts";

const HEAD_CHANGES: ReadonlySet<string> = new Set(["opened", "reopened", "synchronize"]);

export interface PullRequestDelivery {
  id: string;
  action: string;
  sender?: { login: string };
  pull_request: { number: number; head: { sha: string } };
  changes?: { base?: unknown };
}

/** Records the sender when the delivery changed the head or the base; true when it did. */
export async function recordPusherOf(deps: AppDeps, ref: RepoRef, d: PullRequestDelivery): Promise<boolean> {
  if (!HEAD_CHANGES.has(d.action) && !(d.action === "edited" && d.changes?.base !== undefined)) return false;
  if (!d.sender) return false; // GitHub always names the sender of these events
  await recordPusher(deps.state, {
    repository: repoKey(ref), prNumber: d.pull_request.number, login: d.sender.login,
    action: d.action, headSha: d.pull_request.head.sha, deliveryId: d.id,
  });
  return true;
}

export interface BranchPush {
  id: string;
  ref: string;
  after: string;
  /** The push created the branch (before is all zeros). */
  created: boolean;
  defaultBranch: string;
  pusher: string | undefined;
}

/** Records the pusher of a branch on each of its pull requests, open or closed; returns how many. */
export async function recordBranchPush(deps: AppDeps, octokit: Octokit, ref: RepoRef, p: BranchPush): Promise<number> {
  if (!p.ref.startsWith("refs/heads/") || /^0+$/.test(p.after) || !p.pusher) return 0;
  const branch = p.ref.slice("refs/heads/".length);
  if (branch === p.defaultBranch) return 0;
  const prs = await octokit.paginate(octokit.rest.pulls.list, { ...ref, state: "all", head: `${ref.owner}:${branch}`, per_page: 100 });
  for (const pr of prs) {
    if (pr.head.ref !== branch || pr.head.repo?.full_name?.toLowerCase() !== repoKey(ref).toLowerCase()) continue;
    // An open PR's pushes arrive as synchronize too; the push that created its branch is its author's opening.
    if (pr.state === "open" && p.created) continue;
    // Recorded as the synchronize it is (or would have been, were the PR open): one row either way.
    await recordPusher(deps.state, { repository: repoKey(ref), prNumber: pr.number, login: p.pusher, action: "synchronize", headSha: p.after, deliveryId: p.id });
  }
  return prs.length;
}
