// State SQL of the dashboard issue: the debounced refresh request (an outbox item per repository),
// where the issue is, the pending request PRs the checks recorded, and the facts the renderer shows.
// Every read is bounded (LIMIT, partial indexes), so a dashboard costs the same whatever the history.
import type { DashboardBreakGlass, DashboardDeadLetter, DashboardGrant, DashboardPending, DashboardScheduled } from "../core/dashboard.ts";
import type { Queryable } from "./state.ts";

export const DASHBOARD_KIND = "dashboard";
/** At most this many open ledger rows are read (the renderer shows fewer and counts the rest). */
const OPEN_LIMIT = 5_000;

/** Repository names are case-insensitive on GitHub: one dashboard per name, however it is spelled. */
const norm = (repository: string) => repository.toLowerCase();
export const dashboardKey = (repository: string) => `${DASHBOARD_KIND}:${norm(repository)}`;

/**
 * Asks for a refresh of `repository`'s dashboard within `delayMs`: requests made before it runs
 * coalesce into one (the earliest due time wins, so the delay bounds the lag; a refresh that failed
 * keeps its backoff). `force` skips the
 * "nothing changed" shortcut, e.g. after someone else edited the issue.
 */
export async function requestDashboard(q: Queryable, repository: string, o: { delayMs: number; force?: boolean }): Promise<void> {
  await q.query(
    `INSERT INTO outbox (kind, dedupe_key, payload, next_attempt_at)
     VALUES ($1, $2, jsonb_build_object('repository', $3::text, 'force', $4::boolean), clock_timestamp() + $5 * interval '1 millisecond')
     ON CONFLICT (dedupe_key) DO UPDATE SET
       done = false, done_at = NULL,
       created_at = CASE WHEN outbox.done THEN clock_timestamp() ELSE outbox.created_at END,
       attempts = CASE WHEN outbox.done THEN 0 ELSE outbox.attempts END,
       -- a failing refresh keeps its backoff: asking again does not hammer GitHub
       next_attempt_at = CASE WHEN outbox.done THEN excluded.next_attempt_at WHEN outbox.attempts > 0 THEN outbox.next_attempt_at
                              ELSE least(outbox.next_attempt_at, excluded.next_attempt_at) END,
       payload = CASE WHEN outbox.done THEN excluded.payload
                      ELSE jsonb_set(outbox.payload, '{force}', to_jsonb(coalesce((outbox.payload->>'force')::boolean, false) OR $4::boolean)) END`,
    [DASHBOARD_KIND, dashboardKey(repository), repository, o.force ?? false, Math.max(0, o.delayMs)]);
}

export interface DashboardIssueRow {
  issueNumber: number | null;
  fingerprint: string | null;
  /** Milliseconds since the issue was last written (database clock), null when never. */
  writtenAgoMs: number | null;
}

export async function dashboardIssue(q: Queryable, repository: string): Promise<DashboardIssueRow | null> {
  const { rows } = await q.query<{ issue_number: number | null; fingerprint: string | null; ago: string | null }>(
    `SELECT issue_number, fingerprint, (extract(epoch FROM clock_timestamp() - written_at) * 1000)::int8 AS ago
       FROM dashboard_issues WHERE repository = $1`, [norm(repository)]);
  const r = rows[0];
  return r ? { issueNumber: r.issue_number, fingerprint: r.fingerprint, writtenAgoMs: r.ago === null ? null : Number(r.ago) } : null;
}

/** Remembers the issue and what it shows now. */
export async function recordDashboardIssue(q: Queryable, repository: string, issueNumber: number, fingerprint: string): Promise<void> {
  await q.query(
    `INSERT INTO dashboard_issues (repository, issue_number, fingerprint, written_at) VALUES ($1, $2, $3, clock_timestamp())
     ON CONFLICT (repository) DO UPDATE SET issue_number = $2, fingerprint = $3, written_at = clock_timestamp(), updated_at = clock_timestamp()`,
    [norm(repository), issueNumber, fingerprint]);
}

/** The repository whose dashboard is issue `issueNumber`, if any (issues.edited looks it up). */
export async function isDashboardIssue(q: Queryable, repository: string, issueNumber: number): Promise<boolean> {
  const { rowCount } = await q.query("SELECT 1 FROM dashboard_issues WHERE repository = $1 AND issue_number = $2", [norm(repository), issueNumber]);
  return rowCount === 1;
}

export interface PendingInput extends Omit<DashboardPending, "checkedAt"> {
  repository: string;
  headSha: string | null;
}

/** The latest check of an open request PR (one row per PR, replaced by each check). */
export async function recordPending(q: Queryable, p: PendingInput): Promise<void> {
  await q.query(
    `INSERT INTO pending_requests (repository, pr_number, database, request_id, requester, role, conclusion, code, approvals, required, waiting_for, head_sha)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
     ON CONFLICT (repository, pr_number) DO UPDATE SET database = $3, request_id = $4, requester = $5, role = $6, conclusion = $7, code = $8,
       approvals = $9, required = $10, waiting_for = $11, head_sha = $12, checked_at = clock_timestamp()`,
    [norm(p.repository), p.prNumber, p.database, p.requestId, p.requester, p.role, p.conclusion, p.code, p.approvals, p.required, [...p.waitingFor], p.headSha]);
}

export async function forgetPending(q: Queryable, repository: string, prNumber: number): Promise<void> {
  await q.query("DELETE FROM pending_requests WHERE repository = $1 AND pr_number = $2", [norm(repository), prNumber]);
}

export interface DashboardFacts {
  now: number;
  open: DashboardGrant[];
  ended: DashboardGrant[];
  pending: DashboardPending[];
  scheduled: DashboardScheduled[];
  breakGlass: DashboardBreakGlass[];
  deadLetters: DashboardDeadLetter[];
  deadTotal: number;
}

const GRANT_COLUMNS = `status, database, request_id, role, db_user, pr_number, approvers,
  (extract(epoch FROM granted_at) * 1000)::float8 AS granted_ms, (extract(epoch FROM expires_at) * 1000)::float8 AS expires_ms,
  (extract(epoch FROM revoked_at) * 1000)::float8 AS revoked_ms, revoke_reason, failure_code`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const toGrant = (r: any): DashboardGrant => ({
  status: r.status, database: r.database, requestId: r.request_id, role: r.role, dbUser: r.db_user, prNumber: r.pr_number, approvers: r.approvers,
  grantedAt: r.granted_ms, expiresAt: r.expires_ms, revokedAt: r.revoked_ms, revokeReason: r.revoke_reason, failureCode: r.failure_code,
});

/** What the dashboard of `repository` shows, read with the database's clock. */
export async function dashboardFacts(q: Queryable, repository: string, o: { ended: number; deadShown: number }): Promise<DashboardFacts> {
  const key = norm(repository);
  const now = (await q.query<{ ms: number }>("SELECT (extract(epoch FROM now()) * 1000)::float8 AS ms")).rows[0]!.ms;
  const open = await q.query(
    `SELECT ${GRANT_COLUMNS} FROM ledger WHERE lower(repository) = $1 AND status NOT IN ('revoked', 'failed')
      ORDER BY expires_at NULLS LAST, id LIMIT ${OPEN_LIMIT}`, [key]);
  const ended = await q.query(
    `SELECT ${GRANT_COLUMNS} FROM ledger WHERE lower(repository) = $1 AND status = 'revoked' ORDER BY revoked_at DESC, id DESC LIMIT $2`, [key, o.ended]);
  const pending = await q.query(
    `SELECT pr_number, database, request_id, requester, role, conclusion, code, approvals, required, waiting_for,
            (extract(epoch FROM checked_at) * 1000)::float8 AS checked_ms
       FROM pending_requests WHERE repository = $1 ORDER BY pr_number LIMIT 1000`, [key]);
  // Bounded like the pending list; the renderer cuts to its budget and counts the rest.
  const scheduled = await q.query(
    `SELECT requester, db_user, role, database, request_id, pr_number, (extract(epoch FROM starts_at) * 1000)::float8 AS starts_ms,
            (extract(epoch FROM starts_at) * 1000)::float8 + duration_ms AS until_ms
       FROM scheduled_grants WHERE lower(repository) = $1 AND status = 'scheduled' ORDER BY starts_at, id LIMIT 1000`, [key]);
  const breakGlass = await q.query(
    `SELECT b.requester, b.db_user, l.role, b.database, b.request_id, b.pr_number, (extract(epoch FROM b.deadline) * 1000)::float8 AS deadline_ms
       FROM break_glass_grants b
       LEFT JOIN ledger l ON l.repository = b.repository AND l.database = b.database AND l.request_id = b.request_id
      WHERE lower(b.repository) = $1 AND b.status = 'open' ORDER BY b.deadline, b.id LIMIT 1000`, [key]);
  const dead = await q.query(
    `SELECT delivery_id, event, action, attempts, last_error, (extract(epoch FROM received_at) * 1000)::float8 AS received_ms, count(*) OVER ()::int AS total
       FROM deliveries WHERE state = 'dead' AND lower(repository) = $1 ORDER BY seq DESC LIMIT $2`, [key, o.deadShown]);
  return {
    now,
    open: open.rows.map(toGrant),
    ended: ended.rows.map(toGrant),
    pending: pending.rows.map((r) => ({
      prNumber: r.pr_number, database: r.database, requestId: r.request_id, requester: r.requester, role: r.role, conclusion: r.conclusion,
      code: r.code, approvals: r.approvals, required: r.required, waitingFor: r.waiting_for, checkedAt: r.checked_ms,
    })),
    scheduled: scheduled.rows.map((r) => ({ requester: r.requester, dbUser: r.db_user, role: r.role, database: r.database, requestId: r.request_id,
      prNumber: r.pr_number, startsAt: r.starts_ms, until: Number(r.until_ms) })),
    breakGlass: breakGlass.rows.map((r) => ({ requester: r.requester, dbUser: r.db_user, role: r.role ?? null, database: r.database, requestId: r.request_id,
      prNumber: r.pr_number, deadline: r.deadline_ms })),
    deadLetters: dead.rows.map((r) => ({ id: r.delivery_id, event: r.event, action: r.action, attempts: r.attempts, lastError: r.last_error, receivedAt: r.received_ms })),
    deadTotal: dead.rows[0]?.total ?? 0,
  };
}

/** Repositories that have a dashboard or an active grant (development mode, where every repository may be an access repository). */
export async function dashboardRepositories(q: Queryable): Promise<string[]> {
  const { rows } = await q.query<{ repository: string }>(
    "SELECT repository FROM dashboard_issues UNION SELECT DISTINCT lower(repository) FROM ledger WHERE status = 'active'");
  return rows.map((r) => r.repository);
}
