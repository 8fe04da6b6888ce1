// The ledger's answer to "has this request id been used?", in the core's vocabulary.
import type { RequestState } from "../core/context.ts";
import { expiryBeforeExtension } from "../db/events.ts";
import { getByKey } from "../db/ledger.ts";
import { getScheduled } from "../db/scheduled.ts";
import type { Queryable } from "../db/state.ts";

/**
 * `prNumber` is the pull request being evaluated. Its own effects are not a reuse of the request id:
 * when a redelivered or concurrent merge event re-verifies the PR that created the grant, the grant
 * is reported as not yet made (the engine then answers "already granted"), and an extension this PR
 * already applied is reported as it was before. Anything else by any other PR counts as it stands.
 */
export async function requestStateOf(q: Queryable, repository: string, database: string, requestId: string, prNumber?: number): Promise<RequestState> {
  const row = await getByKey(q, { repository, database, requestId });
  if (!row) {
    // A merged request with a future start (migration 018): used up like a ledger row (I9).
    const scheduled = await getScheduled(q, { repository, database, requestId });
    if (!scheduled) return { status: "none" };
    if (scheduled.status !== "scheduled") return { status: "ended" };
    return prNumber !== undefined && scheduled.prNumber === prNumber ? { status: "none" } : { status: "scheduled" };
  }
  if (row.status === "active" || row.status === "intent") {
    if (prNumber !== undefined && row.prNumber === prNumber) return { status: "none" };
    let durationMs = row.durationMs;
    let expiresAt = row.expiresAt?.getTime();
    if (prNumber !== undefined && row.grantedAt) {
      const before = await expiryBeforeExtension(q, row.id, prNumber);
      if (before) {
        expiresAt = before.getTime();
        durationMs = expiresAt - row.grantedAt.getTime();
      }
    }
    return {
      status: "active",
      ...(row.grantedAt ? { grantedAt: row.grantedAt.getTime() } : {}),
      ...(expiresAt !== undefined ? { expiresAt } : {}),
      durationMs,
    };
  }
  // revoked, expired or refused: request ids are single-use (docs/security.md I9)
  return { status: "ended" };
}
