// Append-only event log: every ledger transition and every alert. The table refuses UPDATE,
// DELETE and TRUNCATE (trigger in migration 001).
import type { JitCode } from "../core/codes.ts";
import type { Queryable } from "./state.ts";

export type EventKind =
  | "grant_intent" | "granted" | "grant_refused" | "grant_failed" | "grant_compensated"
  | "revoked" | "revoke_noop" | "revoke_failed" | "window_residue"
  | "drift_orphan_revoked" | "intent_abandoned"
  | "extended"
  | "revert_pr_opened" | "revert_pr_merged" | "revert_pr_skipped" | "revert_pr_attempt"
  | "pending_closed"
  | "rebuilt"
  | "scheduled" | "schedule_cancelled" | "schedule_refused" | "schedule_activated"
  | "break_glass_granted" | "break_glass_confirmed" | "break_glass_expired";

export interface EventInput {
  ledgerId?: number | null;
  kind: EventKind;
  code?: JitCode | null;
  repository?: string | null;
  database?: string | null;
  requestId?: string | null;
  actor?: string | null;
  details?: Record<string, unknown>;
}

export interface EventRow {
  id: number;
  at: Date;
  ledgerId: number | null;
  kind: EventKind;
  code: JitCode | null;
  repository: string | null;
  database: string | null;
  requestId: string | null;
  actor: string | null;
  details: Record<string, unknown>;
}

export async function appendEvent(q: Queryable, e: EventInput): Promise<void> {
  await q.query(
    `INSERT INTO events (ledger_id, kind, code, repository, database, request_id, actor, details)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [e.ledgerId ?? null, e.kind, e.code ?? null, e.repository ?? null, e.database ?? null, e.requestId ?? null, e.actor ?? null, JSON.stringify(e.details ?? {})]);
}

export async function listEvents(q: Queryable, filter: { ledgerId?: number; kind?: EventKind; code?: JitCode } = {}): Promise<EventRow[]> {
  const { rows } = await q.query(
    `SELECT id::int8 AS id, at, ledger_id, kind, code, repository, database, request_id, actor, details FROM events
      WHERE ($1::bigint IS NULL OR ledger_id = $1) AND ($2::text IS NULL OR kind = $2) AND ($3::text IS NULL OR code = $3)
      ORDER BY id`,
    [filter.ledgerId ?? null, filter.kind ?? null, filter.code ?? null]);
  return rows.map((r) => ({
    id: Number(r.id), at: r.at, ledgerId: r.ledger_id === null ? null : Number(r.ledger_id), kind: r.kind, code: r.code,
    repository: r.repository, database: r.database, requestId: r.request_id, actor: r.actor, details: r.details,
  }));
}

/** appendEvent for many events in one statement (a batch revoke records one event per row, as a single revoke does). */
export async function appendEvents(q: Queryable, events: EventInput[]): Promise<void> {
  if (events.length === 0) return;
  await q.query(
    `INSERT INTO events (ledger_id, kind, code, repository, database, request_id, actor, details)
     SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[])`,
    [events.map((e) => e.ledgerId ?? null), events.map((e) => e.kind), events.map((e) => e.code ?? null), events.map((e) => e.repository ?? null),
      events.map((e) => e.database ?? null), events.map((e) => e.requestId ?? null), events.map((e) => e.actor ?? null),
      events.map((e) => JSON.stringify(e.details ?? {}))]);
}

/** Where the grant's expiry stood before PR `prNumber` extended it (its first `extended` event), if it did. */
export async function expiryBeforeExtension(q: Queryable, ledgerId: number, prNumber: number): Promise<Date | undefined> {
  const { rows } = await q.query<{ from_at: Date | null }>(
    `SELECT (details->>'from')::timestamptz AS from_at FROM events
      WHERE ledger_id = $1 AND kind = 'extended' AND details->>'prNumber' = $2 ORDER BY id LIMIT 1`, [ledgerId, String(prNumber)]);
  return rows[0]?.from_at ?? undefined;
}
