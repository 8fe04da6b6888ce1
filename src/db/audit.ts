// One grant's story from the state database (docs/audit.md): the ledger row, the facts recorded at
// grant time (migration 021), its events, revert PR and alerts. Read-only.
import { activityOf } from "./activity.ts";
import { listEvents, type EventRow } from "./events.ts";
import { findByRequest, type LedgerRow } from "./ledger.ts";
import type { RecordedApproval } from "./grant-facts.ts";
import type { Queryable } from "./state.ts";

export interface AuditFacts {
  blobSha: string | null;
  reason: string | null;
  ticket: string | null;
  requester: string | null;
  mergedAt: Date | null;
  approvals: RecordedApproval[];
  decision: { ok: boolean; code: string; message: string } | null;
  extensions: { prNumber: number; mergeSha: string | null; mergedAt: string | null; blobSha: string | null; approvals: RecordedApproval[] }[];
  rebuiltAt: Date | null;
  unproven: string[];
}

export interface AlertRecord {
  code: string;
  key: string;
  at: Date;
}

export interface LedgerStory {
  row: LedgerRow;
  facts: AuditFacts;
  events: EventRow[];
  alerts: AlertRecord[];
}

export const FACT_COLUMNS = `request_blob_sha, reason, ticket, requester, merged_at, approvals, decision, extensions, rebuilt_at, unproven`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function toFacts(r: any): AuditFacts {
  return {
    blobSha: r.request_blob_sha ?? null, reason: r.reason ?? null, ticket: r.ticket ?? null, requester: r.requester ?? null,
    mergedAt: r.merged_at ?? null, approvals: r.approvals ?? [], decision: r.decision ?? null, extensions: r.extensions ?? [],
    rebuiltAt: r.rebuilt_at ?? null, unproven: r.unproven ?? [],
  };
}

/** Ledger rows for database/request id (several when several repositories use one state database). */
export async function findStories(q: Queryable, database: string, requestId: string): Promise<LedgerRow[]> {
  return findByRequest(q, database, requestId);
}

/**
 * The alerts the app raised about this grant (src/core/messages.ts keys them by PR, ledger id or
 * request): found among the outbox's alert claims, which keep the code, the key and when.
 */
async function alertsOf(q: Queryable, row: LedgerRow, extensionPrs: number[]): Promise<AlertRecord[]> {
  const prs = [row.prNumber, ...extensionPrs].filter((n): n is number => typeof n === "number");
  const keys = [...prs.flatMap((n) => [`merge:${n}`, `revoke:${n}`]), `residue:${row.id}`, `overdue:${row.id}`, `revert:${row.database}/${row.requestId}`];
  const { rows } = await q.query<{ code: string; key: string; at: Date }>(
    `SELECT payload->>'code' AS code, payload->>'key' AS key, created_at AS at FROM outbox
      WHERE kind = 'alert' AND starts_with(dedupe_key, $1) AND payload->>'key' = ANY($2::text[]) ORDER BY created_at, id`,
    [`alert:${row.repository}:`, keys]);
  return rows;
}

export async function loadStory(q: Queryable, row: LedgerRow): Promise<LedgerStory> {
  const { rows } = await q.query(`SELECT ${FACT_COLUMNS} FROM ledger WHERE id = $1`, [row.id]);
  const facts = toFacts(rows[0] ?? {});
  const events = await listEvents(q, { ledgerId: row.id });
  const extensionPrs = events.filter((e) => e.kind === "extended").map((e) => Number(e.details.prNumber)).filter(Number.isSafeInteger);
  return { row, facts, events, alerts: await alertsOf(q, row, extensionPrs) };
}

/** The grantee's activity in the window (issue 14 item 4, src/db/activity.ts); undefined when none was recorded. */
export async function activityForAudit(q: Queryable, row: LedgerRow): Promise<unknown> {
  return activityOf(q, row);
}

/** A scheduled request's schedule (migration 018): recorded at merge, its start, how activation ended. */
export interface ScheduleRecord {
  recordedAt: Date; startsAt: Date; status: string; closedAt: Date | null; code: string | null; reason: string | null; actor: string;
}

/** A break-glass request's facts: granted on the open PR, its retro-approval deadline, confirmed or expired. */
export interface BreakGlassRecord {
  grantedAt: Date; deadline: Date; status: string; closedAt: Date | null; prNumber: number; requester: string;
}

export async function scheduleForAudit(q: Queryable, key: { repository: string; database: string; requestId: string }): Promise<ScheduleRecord | null> {
  const { rows } = await q.query(
    `SELECT created_at, starts_at, status, closed_at, close_code, close_reason, actor FROM scheduled_grants
      WHERE lower(repository) = lower($1) AND database = $2 AND request_id = $3 ORDER BY id DESC LIMIT 1`, [key.repository, key.database, key.requestId]);
  const r = rows[0];
  return r ? { recordedAt: r.created_at, startsAt: r.starts_at, status: r.status, closedAt: r.closed_at, code: r.close_code, reason: r.close_reason, actor: r.actor } : null;
}

export async function breakGlassForAudit(q: Queryable, key: { repository: string; database: string; requestId: string }): Promise<BreakGlassRecord | null> {
  const { rows } = await q.query(
    `SELECT created_at, deadline, status, closed_at, pr_number, requester FROM break_glass_grants
      WHERE lower(repository) = lower($1) AND database = $2 AND request_id = $3 ORDER BY id DESC LIMIT 1`, [key.repository, key.database, key.requestId]);
  const r = rows[0];
  return r ? { grantedAt: r.created_at, deadline: r.deadline, status: r.status, closedAt: r.closed_at, prNumber: r.pr_number, requester: r.requester } : null;
}
