// `jit rebuild` writes (docs/operations.md): the rows planned from GitHub (src/core/rebuild-plan.ts)
// into a state database that holds nothing for the repository, in one transaction, each with a
// `rebuilt` event saying what it cannot prove. The merge-once records of those PRs are restored so a
// replayed delivery is refused without a second comment; the ledger's unique key keeps every
// rebuilt request id single-use whatever arrives later. No target database is touched.
import type pg from "pg";
import type { RebuiltRow } from "../core/rebuild-plan.ts";
import { appendEvent } from "./events.ts";
import { claimOnce } from "./outbox.ts";
import { inTransaction } from "./state.ts";

/** The cluster of a rebuilt row is not provable from GitHub; no open row ever carries this value. */
export const UNKNOWN_CLUSTER = "unknown (rebuilt)";

export async function ledgerRowsFor(q: pg.Pool, repository: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>("SELECT count(*)::int AS n FROM ledger WHERE lower(repository) = lower($1)", [repository]);
  return rows[0]!.n;
}

export async function stateNow(q: pg.Pool): Promise<number> {
  const { rows } = await q.query<{ at: Date }>("SELECT now() AS at");
  return rows[0]!.at.getTime();
}

const ts = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Inserts the rebuilt rows; returns how many. Refuses (throws) when the repository already has rows. */
export async function writeRebuilt(pool: pg.Pool, repository: string, rows: RebuiltRow[], actor: string): Promise<number> {
  return inTransaction(pool, async (client) => {
    await client.query("LOCK TABLE ledger IN SHARE ROW EXCLUSIVE MODE"); // no grant slips in between the check and the inserts
    const { rows: present } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM ledger WHERE lower(repository) = lower($1)", [repository]);
    if (present[0]!.n > 0) throw Object.assign(new Error(`the state database already holds ${present[0]!.n} ledger rows for ${repository}`), { code: "JIT_REBUILD_NOT_EMPTY" });
    for (const r of rows) {
      const { rows: ins } = await client.query<{ id: string }>(
        `INSERT INTO ledger (repository, path, request_id, pr_number, head_sha, merge_sha, approvers, database, cluster_id, role, db_user, duration_ms,
                             status, granted_at, expires_at, revoked_at, revoke_reason, revoked_by, failure_code, actor, verification,
                             request_blob_sha, reason, ticket, requester, merged_at, approvals, extensions, rebuilt_at, unproven)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
                 $22, $23, $24, $25, $26, $27, $28, clock_timestamp(), $29)
         RETURNING id::int8 AS id`,
        [r.repository, r.path, r.requestId, r.prNumber, r.headSha, r.mergeSha, r.approvals.map((a) => a.login), r.database, UNKNOWN_CLUSTER, r.role, r.dbUser,
          r.durationMs, r.status, ts(r.grantedAt), ts(r.expiresAt), ts(r.revokedAt), r.revokeReason, r.revokedBy, r.failureCode, actor,
          JSON.stringify({ rebuilt: { verified: "unknown" } }), r.blobSha, r.reason, r.ticket, r.requester, ts(r.mergedAt),
          JSON.stringify(r.approvals), JSON.stringify(r.extensions), r.unproven]);
      const ledgerId = Number(ins[0]!.id);
      await appendEvent(client, {
        ledgerId, kind: "rebuilt", repository: r.repository, database: r.database, requestId: r.requestId, actor,
        details: { status: r.status, unproven: r.unproven, mergePrs: r.mergePrs, revertPr: r.revertPr?.number ?? null },
      });
      if (r.revertPr) {
        await appendEvent(client, { ledgerId, kind: "revert_pr_merged", repository: r.repository, database: r.database, requestId: r.requestId, actor,
          details: { state: "merged", pr: r.revertPr.number, rebuilt: true } });
      }
      for (const n of r.mergePrs) {
        await claimOnce(client, "merge", `merge:${r.repository}#${n}`, {
          kind: "refused", code: "JIT_REQUEST_ID_USED", rebuilt: true,
          problems: [{ code: "JIT_REQUEST_ID_USED", message: `rebuilt from GitHub: pull request #${n} was handled before the state was lost; request ids are single-use` }],
        });
      }
    }
    return rows.length;
  });
}
