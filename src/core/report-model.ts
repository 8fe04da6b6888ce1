// `jit report` as data (docs/audit.md, schemas/report.schema.json): one entry per ledger row
// recorded in the period, plus totals. Pure: the CLI passes what src/db/report.ts read. Stable order
// (recorded time, then ledger id) and UTC times, so the same ledger gives the same report.

export interface Instant {
  toISOString(): string;
  getTime(): number;
}

export interface ReportInputRow {
  id: number; repository: string; database: string; requestId: string; path: string; status: string; role: string; dbUser: string;
  prNumber: number | null; mergeSha: string | null; approvers: string[]; durationMs: number; createdAt: Instant;
  grantedAt: Instant | null; expiresAt: Instant | null; revokedAt: Instant | null; revokeReason: string | null; revokedBy: string | null;
  failureCode: string | null; sessionsEnded: number; revokeVerified: boolean | null; extensions: number; flags: Record<string, boolean>;
  facts: { requester: string | null; reason: string | null; ticket: string | null; mergedAt: Instant | null; rebuiltAt: Instant | null; unproven: string[] };
}

export interface ReportInput {
  since: string;
  until: string;
  database: string | null;
  asOf: Instant;
  rows: ReportInputRow[];
  refusals: { repository: string; prNumber: number; code: string; at: Instant; path: string | null }[];
  events: { kind: string; code: string | null; count: number }[];
  flagColumns: string[];
}

/** A revoke later than this after expiry counts as overdue (the sweep runs every 30 s). */
export const OVERDUE_GRACE_MS = 60_000;

export const REPORT_SCHEMA_ID = "jit-report/1";

/** The per-grant columns, in CSV order (documented in docs/audit.md). */
export const GRANT_COLUMNS = [
  "recordedAt", "repository", "database", "requestId", "status", "role", "dbUser", "requester", "approvers", "prNumber", "mergeSha",
  "mergedAt", "grantedAt", "expiresAt", "durationMs", "extensions", "revokedAt", "revokedBy", "revokeReason", "revokedEarly",
  "overdue", "sessionsEnded", "revokeVerified", "failureCode", "breakGlass", "autoApproved", "ticket", "reason", "rebuilt", "path",
] as const;

export type GrantColumn = (typeof GRANT_COLUMNS)[number];
export type GrantEntry = Record<GrantColumn, string | number | boolean | null>;

const iso = (d: Instant | null): string | null => (d ? d.toISOString() : null);

function median(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : Math.round((s[mid - 1]! + s[mid]!) / 2);
}

const sortedCounts = (m: Map<string, number>): Record<string, number> =>
  Object.fromEntries([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

function count(m: Map<string, number>, key: string, by = 1): void {
  m.set(key, (m.get(key) ?? 0) + by);
}

export function buildReport(input: ReportInput) {
  const asOf = input.asOf.getTime();
  const grants: GrantEntry[] = input.rows.map((r) => {
    const expires = r.expiresAt?.getTime() ?? null;
    const revoked = r.revokedAt?.getTime() ?? null;
    const early = expires !== null && revoked !== null && revoked < expires;
    const overdue = expires !== null && ((revoked !== null && revoked - expires > OVERDUE_GRACE_MS) || (r.status === "active" && expires + OVERDUE_GRACE_MS < asOf));
    return {
      recordedAt: r.createdAt.toISOString(), repository: r.repository, database: r.database, requestId: r.requestId, status: r.status,
      role: r.role, dbUser: r.dbUser, requester: r.facts.requester, approvers: r.approvers.join(" "), prNumber: r.prNumber, mergeSha: r.mergeSha,
      mergedAt: iso(r.facts.mergedAt), grantedAt: iso(r.grantedAt), expiresAt: iso(r.expiresAt), durationMs: r.durationMs,
      extensions: r.extensions, revokedAt: iso(r.revokedAt), revokedBy: r.revokedBy, revokeReason: r.revokeReason, revokedEarly: early,
      overdue, sessionsEnded: r.sessionsEnded, revokeVerified: r.revokeVerified, failureCode: r.failureCode,
      breakGlass: r.flags.break_glass ?? null, autoApproved: r.flags.auto_approved ?? null, ticket: r.facts.ticket, reason: r.facts.reason,
      rebuilt: r.facts.rebuiltAt !== null, path: r.path,
    };
  });
  const granted = input.rows.filter((r) => r.grantedAt !== null);
  const durations = granted.map((r) => r.durationMs);
  const byStatus = new Map<string, number>();
  const refusedByCode = new Map<string, number>();
  for (const r of input.rows) {
    count(byStatus, r.status);
    if (r.status === "failed") count(refusedByCode, r.failureCode ?? "JIT_GRANT_FAILED");
  }
  for (const r of input.refusals) count(refusedByCode, r.code);
  const events = new Map<string, number>();
  let drift = 0;
  for (const e of input.events) {
    count(events, e.code ? `${e.kind}:${e.code}` : e.kind, e.count);
    if (e.kind.startsWith("drift") || (e.code ?? "").startsWith("JIT_DRIFT")) drift += e.count;
  }
  const flag = (name: string) => (input.flagColumns.includes(name) ? grants.filter((g) => g[name === "break_glass" ? "breakGlass" : "autoApproved"] === true).length : null);
  return {
    schema: REPORT_SCHEMA_ID,
    period: { since: input.since, until: input.until, database: input.database, asOf: input.asOf.toISOString() },
    totals: {
      requests: input.rows.length + input.refusals.length,
      granted: granted.length,
      refused: [...refusedByCode.values()].reduce((a, b) => a + b, 0),
      refusedByCode: sortedCounts(refusedByCode),
      byStatus: sortedCounts(byStatus),
      medianDurationMs: median(durations),
      maxDurationMs: durations.length ? Math.max(...durations) : null,
      extended: grants.filter((g) => (g.extensions as number) > 0).length,
      revokedEarly: grants.filter((g) => g.revokedEarly).length,
      overdueRevokes: grants.filter((g) => g.overdue).length,
      breakGlass: flag("break_glass"),
      autoApproved: flag("auto_approved"),
      driftFindings: drift,
      rebuilt: grants.filter((g) => g.rebuilt).length,
      events: sortedCounts(events),
    },
    grants,
    refusals: input.refusals.map((r) => ({ at: r.at.toISOString(), repository: r.repository, prNumber: r.prNumber, code: r.code, path: r.path })),
  };
}

export type Report = ReturnType<typeof buildReport>;
