// I13 in actions mode: the check job's state database is thrown away, so the pushers the server
// records from deliveries are unknown to the grant job. GitHub's repository activity names who
// moved the head branch (push, force push, creation); read at evaluation time, it stands in for
// (and adds to) the recorded pushers. Fail closed: a fork's branch (its activity is another
// repository's), an activity list the app cannot read, one with an update by nobody GitHub can
// name, or one that does not contain the update that made the PR's head all throw
// JIT_PUSHERS_UNKNOWN, which the evaluation turns into a refusal.
import type { Pusher } from "../core/context.ts";
import { JitError } from "../core/errors.ts";
import type { Octokit, RepoRef } from "./octokit.ts";

/** Updates that move a branch to a new head; deletion and merges (of the base) do not. */
const HEAD_MOVES: ReadonlySet<string> = new Set(["push", "force_push", "branch_creation"]);

const unknown = (why: string) => new JitError("JIT_PUSHERS_UNKNOWN", `who pushed to the head branch is unknown: ${why}`);

export async function pushersFromActivity(octokit: Octokit, ref: RepoRef, number: number): Promise<Pusher[]> {
  const { data: pr } = await octokit.rest.pulls.get({ ...ref, pull_number: number });
  const base = pr.base.repo.full_name.toLowerCase();
  if (!pr.head.repo || pr.head.repo.full_name.toLowerCase() !== base) {
    throw unknown(`pull request #${number} comes from ${pr.head.repo?.full_name ?? "a deleted repository"}, whose pushes this repository's activity does not list`);
  }
  let activity;
  try {
    activity = await octokit.paginate(octokit.rest.repos.listActivities, { ...ref, ref: `refs/heads/${pr.head.ref}`, per_page: 100 });
  } catch (e) {
    const status = (e as { status?: number }).status;
    if (status === 403 || status === 404) throw unknown(`GitHub answered ${status} to the repository activity`);
    throw e; // anything else is a failed read, retried like any other
  }
  const out: Pusher[] = [];
  let headFound = false;
  for (const a of activity) {
    if (!HEAD_MOVES.has(a.activity_type)) continue;
    if (!a.actor?.login) throw unknown(`the ${a.activity_type} to ${a.after.slice(0, 12)} names no account`);
    out.push({ login: a.actor.login.toLowerCase(), action: a.activity_type, headSha: a.after });
    if (a.after === pr.head.sha) headFound = true;
  }
  // Every head the branch had came from a listed update; without the current one the list is partial.
  if (!headFound) throw unknown(`no listed push made the head ${pr.head.sha.slice(0, 12)} of pull request #${number}`);
  return out.reverse(); // GitHub lists newest first; pushers are kept oldest first
}
