// Audit facts recorded after a grant or an extension (migration 021): the reviewed blob, reason,
// ticket, requester, merge time, the approvals with their review ids and the merge decision. Kept
// apart from the grant transaction so the GRANT never waits on them; a crash in between leaves
// them unrecorded, and `jit audit` says so. Idempotent: a redelivery changes nothing.
import type { LedgerKey } from "./ledger.ts";
import type { Queryable } from "./state.ts";

export interface RecordedApproval {
  login: string;
  reviewId: number;
  commitId: string;
  submittedAt: string | null;
}

export interface GrantFacts {
  blobSha: string | null;
  reason: string | null;
  ticket: string | null;
  requester: string | null;
  mergedAt: string | null;
  approvals: RecordedApproval[];
  decision: { ok: boolean; code: string; message: string };
}

/** Fills the facts of a grant once (a redelivery keeps the first recording). */
export async function recordGrantFacts(q: Queryable, key: LedgerKey, f: GrantFacts): Promise<void> {
  await q.query(
    `UPDATE ledger SET request_blob_sha = coalesce(request_blob_sha, $4), reason = coalesce(reason, $5), ticket = coalesce(ticket, $6),
            requester = coalesce(requester, $7), merged_at = coalesce(merged_at, $8::timestamptz),
            approvals = CASE WHEN approvals = '[]'::jsonb THEN $9::jsonb ELSE approvals END, decision = coalesce(decision, $10::jsonb)
      WHERE repository = $1 AND database = $2 AND request_id = $3`,
    [key.repository, key.database, key.requestId, f.blobSha, f.reason, f.ticket, f.requester, f.mergedAt,
      JSON.stringify(f.approvals), JSON.stringify(f.decision)]);
}

/** Appends one extension's facts, once per extension PR. */
export async function recordExtensionFacts(q: Queryable, key: LedgerKey, e: { prNumber: number; mergeSha: string | null; mergedAt: string | null; blobSha: string | null; approvals: RecordedApproval[] }): Promise<void> {
  await q.query(
    `UPDATE ledger SET extensions = extensions || jsonb_build_array($4::jsonb)
      WHERE repository = $1 AND database = $2 AND request_id = $3
        AND NOT extensions @> jsonb_build_array(jsonb_build_object('prNumber', $5::int))`,
    [key.repository, key.database, key.requestId, JSON.stringify(e), e.prNumber]);
}
