// One comment per pull request for people, found by a hidden marker and edited in place, so a
// busy PR does not collect a new comment on every event.
import type { Octokit, RepoRef } from "./octokit.ts";

export const STICKY_MARKER = "<!-- jit-access:sticky -->";

export async function upsertStickyComment(octokit: Octokit, ref: RepoRef, issueNumber: number, body: string): Promise<number> {
  const full = `${STICKY_MARKER}\n${body}`;
  const comments = await octokit.paginate(octokit.rest.issues.listComments, { ...ref, issue_number: issueNumber, per_page: 100 });
  const mine = comments.find((c) => c.body?.startsWith(STICKY_MARKER) && c.user?.type === "Bot");
  if (mine) {
    if (mine.body !== full) await octokit.rest.issues.updateComment({ ...ref, comment_id: mine.id, body: full });
    return mine.id;
  }
  const created = await octokit.rest.issues.createComment({ ...ref, issue_number: issueNumber, body: full });
  return created.data.id;
}

/** A one-off comment (granted, revoked, refused) that stays in the PR's history. */
export async function postComment(octokit: Octokit, ref: RepoRef, issueNumber: number, body: string): Promise<number> {
  const created = await octokit.rest.issues.createComment({ ...ref, issue_number: issueNumber, body });
  return created.data.id;
}
