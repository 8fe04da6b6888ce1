// Outcome notifications (issue 13 item 8): the requester is @-mentioned on every outcome, and the
// request's own pull request hears when its grant ends (expiry or early revoke). The mentioned
// login is always read from GitHub (the request PR's author), never taken from the request file
// (I19). Each comment is claimed once in the outbox by a key, so a redelivery, a retried outbox
// item or a second replica posts nothing twice.
import { endedComment, requesterLine } from "../core/messages.ts";
import type { Md } from "../core/inert.ts";
import type { LedgerKey, LedgerRow } from "../db/ledger.ts";
import { isNotFound, type Octokit, type RepoRef } from "../github/octokit.ts";
import { commentOnce } from "./github-effects.ts";

/** The author of pull request `number` as GitHub reports it now, or null (deleted PR or account). */
export async function pullAuthor(octokit: Octokit, ref: RepoRef, number: number): Promise<string | null> {
  try {
    const { data } = await octokit.rest.pulls.get({ ...ref, pull_number: number });
    return data.user?.type === "Bot" ? null : (data.user?.login ?? null);
  } catch (e) {
    if (isNotFound(e)) return null;
    throw e;
  }
}

/** `body` followed by a line that mentions the PR's author (read from GitHub), when there is one. */
export async function addressedToAuthor(octokit: Octokit, ref: RepoRef, number: number, body: Md): Promise<Md> {
  return requesterLine(body, await pullAuthor(octokit, ref, number));
}

export const endedKey = (k: LedgerKey) => `ended:${k.repository}:${k.database}/${k.requestId}`;

/**
 * A comment on the request PR of a grant that ended (expired or revoked early), mentioning its
 * author. `extra`: a line on where the ending came from (the deletion PR, the revert PR).
 */
export async function commentGrantEnded(state: Parameters<typeof commentOnce>[0], octokit: Octokit, ref: RepoRef, row: LedgerRow | null | undefined, extra?: { deletionPr?: number; revertPr?: number }): Promise<boolean> {
  if (!row || !row.prNumber || row.status !== "revoked") return false;
  const pr = row.prNumber;
  const body = endedComment({
    requester: await pullAuthor(octokit, ref, pr), role: row.role, dbUser: row.dbUser, database: row.database, requestId: row.requestId,
    expired: row.revokeReason === "expired", revokedAt: row.revokedAt?.getTime() ?? null, sessionsEnded: row.sessionsEnded, ...extra,
  });
  // Queued once per key and tried at once; the outbox drain retries a failed post.
  return commentOnce(state, { octokit, ref }, { pr, key: endedKey(row), body });
}
