// The outbox item "ended_comment": a grant ended outside a PR (`jit revoke`) and its request PR
// should hear of it, the requester mentioned (issue 13 item 8). The CLI may run where GitHub is not
// reachable, so it only queues; the app's outbox worker posts, once (commentGrantEnded claims the
// comment by its own key), only in the access repository that owns the key (I10).
import type pg from "pg";
import { ALL_REPOSITORIES, keyAuthority } from "../core/repositories.ts";
import { enqueue } from "../db/outbox.ts";
import { getByKey, type LedgerKey } from "../db/ledger.ts";
import type { GitHubAccess } from "../github/installations.ts";
import { repoRefOf } from "../github/installations.ts";
import { commentGrantEnded } from "../usecases/notify.ts";
import type { OutboxHandler } from "./outbox.ts";

export const ENDED_COMMENT_KIND = "ended_comment";

export function enqueueEndedComment(q: Parameters<typeof enqueue>[0], k: LedgerKey): Promise<boolean> {
  return enqueue(q, { kind: ENDED_COMMENT_KIND, dedupeKey: `ended-item:${k.repository}:${k.database}/${k.requestId}`, payload: { ...k } });
}

export function endedCommentHandler(deps: { state: pg.Pool; github: GitHubAccess }): OutboxHandler {
  return async (item) => {
    const p = item.payload as Partial<LedgerKey> | null;
    if (typeof p?.repository !== "string" || typeof p.database !== "string" || typeof p.requestId !== "string") return "skipped: malformed payload";
    const key = { repository: p.repository, database: p.database, requestId: p.requestId };
    const unbound = keyAuthority(deps.github.repositories ?? ALL_REPOSITORIES, key.repository, key.database);
    if (unbound) return `skipped: ${unbound.code}`;
    const row = await getByKey(deps.state, key);
    const posted = await commentGrantEnded(deps.state, await deps.github.octokitFor(key.repository), repoRefOf(key.repository), row);
    return posted ? "commented" : "nothing to say";
  };
}
