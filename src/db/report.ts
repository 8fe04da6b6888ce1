// What `jit report` reads for a period (docs/audit.md): ledger rows recorded in [since, until),
// merge refusals that left no ledger row (the merge-once records in the outbox), and event counts.
// Read-only; the totals and the rendering are pure (src/core/report-*.ts).
import { FACT_COLUMNS, toFacts, type AuditFacts } from "./audit.ts";
import type { Queryable } from "./state.ts";

export interface ReportLedgerRow {
  id: number;
  repository: string;
  database: string;
  requestId: string;
  path: string;
  status: string;
  role: string;
  dbUser: string;
  prNumber: number | null;
  mergeSha: string | null;
  approvers: string[];
  durationMs: number;
  createdAt: Date;
  grantedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  revokeReason: string | null;
  revokedBy: string | null;
  failureCode: string | null;
  sessionsEnded: number;
  /** The revoke's verification said no app-made membership is left (null: not revoked or not recorded). */
  revokeVerified: boolean | null;
  extensions: number;
  /** auto_approved, and break_glass where this ledger records it. */
  flags: Record<string, boolean>;
  facts: AuditFacts;
}

export interface ReportRefusal {
  repository: string;
  prNumber: number;
  code: string;
  at: Date;
  path: string | null;
}

export interface ReportData {
  rows: ReportLedgerRow[];
  refusals: ReportRefusal[];
  /** Events in the period by kind and code (drift findings, alerts of other features), generic. */
  events: { kind: string; code: string | null; count: number }[];
  /** Which flags this ledger can tell (break_glass only where break_glass_grants exists). */
  flagColumns: string[];
  /** The database clock, capped at `until`: active grants expired before it are overdue. */
  asOf: Date;
}

/**
 * Break-glass and auto-approval, counted from what this ledger has: an approver recorded as
 * `auto_approve[N]` (the rule that stood in for reviewers), and a row of `break_glass_grants` for
 * the request where that table exists (null when it does not: not recorded, not "none").
 */
async function flagSql(q: Queryable): Promise<{ sql: string; known: string[] }> {
  const { rows } = await q.query<{ bg: boolean }>("SELECT to_regclass('break_glass_grants') IS NOT NULL AS bg");
  const auto = "EXISTS (SELECT 1 FROM unnest(approvers) a WHERE starts_with(a, 'auto_approve['))";
  const bg = rows[0]!.bg
    ? "EXISTS (SELECT 1 FROM break_glass_grants b WHERE b.repository = ledger.repository AND b.database = ledger.database AND b.request_id = ledger.request_id)"
    : "NULL::boolean";
  return { sql: `, jsonb_strip_nulls(jsonb_build_object('auto_approved', ${auto}, 'break_glass', ${bg})) AS flags`, known: rows[0]!.bg ? ["auto_approved", "break_glass"] : ["auto_approved"] };
}

export async function reportData(q: Queryable, p: { since: string; until: string; database: string | null }): Promise<ReportData> {
  const flags = await flagSql(q);
  const { rows } = await q.query(
    `SELECT id::int8 AS id, repository, database, request_id, path, status, role, db_user, pr_number, merge_sha, approvers,
            duration_ms::int8 AS duration_ms, created_at, granted_at, expires_at, revoked_at, revoke_reason, revoked_by, failure_code,
            sessions_ended, (verification->'revoke'->>'membershipGone')::boolean AS revoke_verified,
            jsonb_array_length(extensions) AS extension_facts, ${FACT_COLUMNS}${flags.sql},
            (SELECT count(*) FROM events e WHERE e.ledger_id = ledger.id AND e.kind = 'extended')::int AS extended
       FROM ledger
      WHERE created_at >= $1::timestamptz AND created_at < $2::timestamptz AND ($3::text IS NULL OR database = $3)
      ORDER BY created_at, id`,
    [p.since, p.until, p.database]);
  const refusals = await q.query(
    `SELECT o.dedupe_key, o.payload->>'code' AS code, o.created_at AS at,
            (SELECT pr->>'path' FROM jsonb_array_elements(coalesce(o.payload->'problems', '[]'::jsonb)) pr WHERE pr ? 'path' LIMIT 1) AS path
       FROM outbox o
      WHERE o.kind = 'merge' AND o.payload->>'kind' = 'refused' AND o.payload->>'rebuilt' IS NULL AND o.created_at >= $1::timestamptz AND o.created_at < $2::timestamptz
      ORDER BY o.created_at, o.id`,
    [p.since, p.until]);
  const ledgerPrs = new Set(rows.map((r) => `${r.repository}#${r.pr_number}`));
  const out: ReportRefusal[] = [];
  for (const r of refusals.rows) {
    const m = /^merge:(.+)#(\d+)$/.exec(r.dedupe_key as string);
    if (!m || ledgerPrs.has(`${m[1]}#${m[2]}`)) continue; // a failed grant: its ledger row already counts
    if (p.database && !(typeof r.path === "string" && r.path.startsWith(`access-requests/${p.database}/`))) continue;
    out.push({ repository: m[1]!, prNumber: Number(m[2]), code: r.code ?? "JIT_MERGE_REFUSED", at: r.at, path: r.path ?? null });
  }
  const events = await q.query(
    `SELECT kind, code, count(*)::int AS count FROM events
      WHERE at >= $1::timestamptz AND at < $2::timestamptz AND ($3::text IS NULL OR database = $3)
      GROUP BY kind, code ORDER BY kind, code NULLS FIRST`,
    [p.since, p.until, p.database]);
  return {
    rows: rows.map((r) => ({
      id: Number(r.id), repository: r.repository, database: r.database, requestId: r.request_id, path: r.path, status: r.status, role: r.role,
      dbUser: r.db_user, prNumber: r.pr_number, mergeSha: r.merge_sha, approvers: r.approvers, durationMs: Number(r.duration_ms),
      createdAt: r.created_at, grantedAt: r.granted_at, expiresAt: r.expires_at, revokedAt: r.revoked_at, revokeReason: r.revoke_reason,
      revokedBy: r.revoked_by, failureCode: r.failure_code, sessionsEnded: r.sessions_ended, revokeVerified: r.revoke_verified,
      extensions: Math.max(Number(r.extended), Number(r.extension_facts)), flags: r.flags ?? {}, facts: toFacts(r),
    })),
    refusals: out,
    events: events.rows.map((e) => ({ kind: e.kind, code: e.code, count: e.count })),
    flagColumns: flags.known,
    asOf: (await q.query<{ at: Date }>("SELECT least(now(), $1::timestamptz) AS at", [p.until])).rows[0]!.at,
  };
}
