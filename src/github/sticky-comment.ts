// One comment per pull request for people, found by a hidden marker and edited in place, so a
// busy PR does not collect a new comment on every event. Only a comment this App made counts as
// the sticky: anyone (another App's bot included) can post the marker.
import { createHash } from "node:crypto";
import { marker, type Md } from "../core/inert.ts";
import type { StickyMemory } from "../db/sticky-comments.ts";
import { madeByApp, type Authored } from "./authored.ts";
import { isNotFound, type Octokit, type RepoRef } from "./octokit.ts";

export const STICKY_MARKER = marker("jit-access:sticky").text;

type Listed = Authored & { id: number; body?: string | null };

async function stickies(octokit: Octokit, ref: RepoRef, issueNumber: number, appId: number | undefined): Promise<Listed[]> {
  const comments = await octokit.paginate(octokit.rest.issues.listComments, { ...ref, issue_number: issueNumber, per_page: 100 });
  return comments.filter((c: Listed) => c.body?.startsWith(STICKY_MARKER) && madeByApp(c, appId)).sort((a, b) => a.id - b.id);
}

const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");

/**
 * `appId`: this GitHub App; comments by anyone else are never edited or deleted. `memory`: the id
 * of the App's own sticky and the hash of the body it last wrote (src/db/sticky-comments.ts): the
 * same body is not written again, another is written by id; a comment that is gone (404) or that
 * GitHub no longer shows as this App's is forgotten and the comments are listed as before.
 */
export async function upsertStickyComment(octokit: Octokit, ref: RepoRef, issueNumber: number, body: Md, appId: number | undefined, memory?: StickyMemory): Promise<number> {
  // Untrusted text in `body` went through inert.ts: it cannot hold a second marker (I19).
  const full = `${STICKY_MARKER}\n${body.text}`;
  const hash = sha256(full);
  const known = memory && appId !== undefined ? await memory.get(issueNumber) : null;
  if (known) {
    if (known.bodySha256 === hash) return known.commentId;
    try {
      const { data } = await octokit.rest.issues.updateComment({ ...ref, comment_id: known.commentId, body: full });
      if (madeByApp(data, appId)) {
        await memory!.set(issueNumber, { commentId: known.commentId, bodySha256: hash });
        return known.commentId;
      }
      // Ids are remembered only from this App's own comments; anything else is forgotten, never trusted.
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    await memory!.forget(issueNumber, known.commentId);
  }
  const id = await upsertByListing(octokit, ref, issueNumber, full, appId);
  if (memory && appId !== undefined) await memory.set(issueNumber, { commentId: id, bodySha256: hash });
  return id;
}

async function upsertByListing(octokit: Octokit, ref: RepoRef, issueNumber: number, full: string, appId: number | undefined): Promise<number> {
  const mine = (await stickies(octokit, ref, issueNumber, appId))[0];
  if (mine) {
    if (mine.body !== full) await octokit.rest.issues.updateComment({ ...ref, comment_id: mine.id, body: full });
    return mine.id;
  }
  const created = await octokit.rest.issues.createComment({ ...ref, issue_number: issueNumber, body: full });
  // Two replicas evaluating the same PR at once may both have found none: keep the oldest, drop
  // the rest (whoever runs this sees the same list), so there is one comment again.
  const all = await stickies(octokit, ref, issueNumber, appId);
  for (const extra of all.slice(1)) {
    await octokit.rest.issues.deleteComment({ ...ref, comment_id: extra.id }).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  }
  return all[0]?.id ?? created.data.id;
}

/** A one-off comment (granted, revoked, refused) that stays in the PR's history. */
export async function postComment(octokit: Octokit, ref: RepoRef, issueNumber: number, body: Md): Promise<number> {
  const created = await octokit.rest.issues.createComment({ ...ref, issue_number: issueNumber, body: body.text });
  return created.data.id;
}
