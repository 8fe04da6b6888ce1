// I13: whoever changes a PR's head (opened, reopened, synchronize) or its base (edited with a new
// base) is recorded before the delivery is evaluated, so no later evaluation counts their approval.
import { recordPusher } from "../db/pushers.ts";
import { repoKey, type RepoRef } from "../github/octokit.ts";
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
