// What the grantee did during a window: the login's sessions (pg_stat_activity) and statements
// (pg_stat_statements, where the target has it) sampled at grant and at revoke, stored in the state
// database, and summarized for the revert PR and `jit audit` (activityOf). Sampling never stands
// in the way of a grant or a revoke: any failure is recorded as "not available" and nothing throws.
// Without pg_read_all_stats (which the app role must not hold, docs/security.md I5) PostgreSQL
// shows another user's sessions with pid and application name only, and their statements with
// counts and rows but no text: the summary says so instead of guessing.
import type pg from "pg";
import type { ActivitySummary } from "../core/activity.ts";
import type { LedgerKey } from "./ledger.ts";
import type { Queryable } from "./state.ts";

export type { ActivitySummary };

export interface SessionSeen {
  pid: number;
  /** null where the app role may not see it. */
  backendStart: string | null;
  applicationName: string | null;
  clientAddr: string | null;
}

export interface StatementStat {
  /** Normalized text (constants are $n), scrubbed and cut to 200 characters; null where hidden. */
  query: string | null;
  queryid: string | null;
  calls: number;
  rows: number;
}

export type StatementSample = { available: true; stats: StatementStat[] } | { available: false; why: string };

export interface ActivitySample {
  /** The target's clock at the sample. */
  at: string;
  sessions: SessionSeen[];
  statements: StatementSample;
}

const MAX_QUERY = 200;
const HIDDEN_TEXT = "<insufficient privilege>";
/** Statements a plan exists for; utility statements (SET, ALTER ROLE … PASSWORD) may keep literals: counted, never shown. */
const PLANNABLE = /^\s*(select|insert|update|delete|merge|with|values|table)\b/i;

/** Removes anything that could still be a literal from already-normalized text (strings, dollar quotes, numbers). */
export function scrubQuery(q: string): string {
  return q
    .replace(/\$([A-Za-z_][A-Za-z0-9_]*)?\$[\s\S]*?\$\1\$/g, "?")
    .replace(/[EeBbXxUu]?&?'(?:[^']|'')*'?/g, "?")
    .replace(/(?<![$\w])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g, "?")
    .replace(/\s+/g, " ")
    .trim();
}

function statementOf(r: { query: string | null; queryid: string | null; calls: string; rows: string }): StatementStat {
  const visible = r.query !== null && r.query !== HIDDEN_TEXT;
  const text = visible && PLANNABLE.test(r.query!) ? scrubQuery(r.query!) : null;
  return {
    query: text === null ? null : text.length > MAX_QUERY ? `${text.slice(0, MAX_QUERY - 1)}…` : text,
    queryid: visible ? r.queryid : null, calls: Number(r.calls), rows: Number(r.rows),
  };
}

/** One sample of `dbUser` on the target (the app's connection). Never throws. */
export async function sampleActivity(target: Queryable, m: { dbUser: string; memberOid: string | null }): Promise<ActivitySample> {
  return (await sampleActivityMany(target, [m])).get(m.dbUser)!;
}

/** One sample per login, in two queries whatever the batch (a sweep revokes up to 100 members at once). Never throws. */
export async function sampleActivityMany(target: Queryable, members: readonly { dbUser: string; memberOid: string | null }[]): Promise<Map<string, ActivitySample>> {
  const names = [...new Set(members.map((m) => m.dbUser))];
  let at = new Date(0).toISOString();
  const sessions = new Map<string, SessionSeen[]>(names.map((n) => [n, []]));
  try {
    const { rows } = await target.query<{ at: Date; usename: string | null; pid: number | null; backend_start: Date | null; application_name: string | null; client_addr: string | null }>(
      `SELECT now() AS at, a.usename::text AS usename, a.pid, a.backend_start, a.application_name, a.client_addr::text AS client_addr
         FROM (SELECT 1) one LEFT JOIN pg_stat_activity a ON a.usename = ANY($1::text[]) AND a.pid <> pg_backend_pid()`, [names]);
    at = rows[0]!.at.toISOString();
    for (const r of rows) {
      if (r.pid === null || r.usename === null) continue;
      sessions.get(r.usename)?.push({ pid: r.pid, backendStart: r.backend_start?.toISOString() ?? null, applicationName: r.application_name || null, clientAddr: r.client_addr });
    }
  } catch {
    // the revoke or grant goes on; this sample shows no sessions
  }
  const statements = await sampleStatements(target, names);
  return new Map(names.map((n) => [n, { at, sessions: sessions.get(n) ?? [], statements: statements(n) }]));
}

async function sampleStatements(target: Queryable, names: string[]): Promise<(name: string) => StatementSample> {
  try {
    const { rows: [ext] } = await target.query<{ view: string | null }>("SELECT to_regclass('pg_stat_statements')::text AS view");
    if (!ext?.view) {
      const why = "pg_stat_statements is not installed in the target database";
      return () => ({ available: false, why });
    }
    const { rows } = await target.query<{ rolname: string; query: string | null; queryid: string | null; calls: string; rows: string }>(
      `SELECT r.rolname::text AS rolname, s.query, s.queryid::text AS queryid, s.calls::int8::text AS calls, s.rows::int8::text AS rows
         FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = ANY($1::text[])`, [names]);
    return (name) => ({ available: true, stats: rows.filter((r) => r.rolname === name).map(statementOf) });
  } catch (e) {
    const why = `pg_stat_statements could not be read (${String((e as Error).message).split("\n")[0]!.slice(0, 200)})`;
    return () => ({ available: false, why });
  }
}

/** Active grants whose connection was recorded (I15): what a sweep tick samples. */
export async function openWindows(q: Queryable): Promise<{ id: number; dbUser: string; memberOid: string | null; connectionEnv: string; clusterId: string; database: string }[]> {
  const { rows } = await q.query<{ id: string; db_user: string; member_oid: string | null; connection_env: string; cluster_id: string; database: string }>(
    `SELECT id::int8::text AS id, db_user, member_oid::text AS member_oid, connection_env, cluster_id, database FROM ledger
      WHERE status = 'active' AND connection_env IS NOT NULL ORDER BY id LIMIT 5000`);
  return rows.map((r) => ({ id: Number(r.id), dbUser: r.db_user, memberOid: r.member_oid, connectionEnv: r.connection_env, clusterId: r.cluster_id, database: r.database }));
}

/**
 * A tick's sessions, stored only when the grantee has sessions and they differ from the last sample
 * (so a quiet or unchanged window adds no rows however often the sweep runs). Never throws.
 */
export async function recordTick(state: Queryable, ledgerId: number, sample: ActivitySample): Promise<boolean> {
  if (!sample.sessions.length) return false;
  const slim = { at: sample.at, sessions: sample.sessions, statements: { available: false, why: "statements are compared at grant and revoke only" } };
  const { rowCount } = await state.query(
    `INSERT INTO activity_samples (ledger_id, phase, sample)
     SELECT $1, 'tick', $2::jsonb WHERE NOT EXISTS (
       SELECT 1 FROM (SELECT sample FROM activity_samples WHERE ledger_id = $1 ORDER BY id DESC LIMIT 1) l
        WHERE l.sample->'sessions' = $2::jsonb->'sessions')`, [ledgerId, JSON.stringify(slim)]).catch(() => ({ rowCount: 0 }));
  return rowCount === 1;
}

/** Stores a sample; never throws (activity is evidence, not a precondition). */
export async function recordActivity(state: Queryable, ledgerId: number, phase: "grant" | "tick" | "revoke", sample: ActivitySample): Promise<void> {
  await state.query("INSERT INTO activity_samples (ledger_id, phase, sample) VALUES ($1, $2, $3)", [ledgerId, phase, JSON.stringify(sample)]).catch(() => {});
}

function diff(start: StatementSample | undefined, end: StatementSample): ActivitySummary["statements"] & { resets: boolean } {
  const out = { available: end.available, calls: 0, rows: 0, byStatement: [] as { query: string; calls: number; rows: number }[], hiddenCalls: 0, resets: false };
  if (!end.available) return out;
  const before = new Map<string, StatementStat>();
  const startStats = start?.available ? start.stats : [];
  let hiddenBefore = { calls: 0, rows: 0 };
  for (const s of startStats) {
    if (s.queryid) before.set(s.queryid, s);
    else hiddenBefore = { calls: hiddenBefore.calls + s.calls, rows: hiddenBefore.rows + s.rows };
  }
  let hiddenAfter = { calls: 0, rows: 0 };
  const shown = new Map<string, { query: string; calls: number; rows: number }>();
  for (const s of end.stats) {
    if (!s.queryid) {
      hiddenAfter = { calls: hiddenAfter.calls + s.calls, rows: hiddenAfter.rows + s.rows };
      continue;
    }
    const b = before.get(s.queryid);
    const calls = s.calls - (b?.calls ?? 0);
    const rows = s.rows - (b?.rows ?? 0);
    if (calls < 0 || rows < 0) out.resets = true;
    if (calls <= 0) continue;
    out.calls += calls;
    out.rows += Math.max(0, rows);
    if (s.query) {
      const k = shown.get(s.query) ?? { query: s.query, calls: 0, rows: 0 };
      shown.set(s.query, { query: s.query, calls: k.calls + calls, rows: k.rows + Math.max(0, rows) });
    } else out.hiddenCalls += calls;
  }
  const hc = hiddenAfter.calls - hiddenBefore.calls;
  const hr = hiddenAfter.rows - hiddenBefore.rows;
  if (hc < 0 || hr < 0) out.resets = true;
  out.calls += Math.max(0, hc);
  out.rows += Math.max(0, hr);
  out.hiddenCalls += Math.max(0, hc);
  out.byStatement = [...shown.values()].sort((a, b) => b.calls - a.calls || a.query.localeCompare(b.query)).slice(0, 20);
  return out;
}

/** The summary of one grant's window (for the revert PR and `jit audit`); undefined when the ledger has no such grant. */
export async function activityOf(state: Queryable | pg.Pool, key: LedgerKey): Promise<ActivitySummary | undefined> {
  const { rows: [row] } = await state.query<{ id: string; sessions_ended: number; status: string }>(
    "SELECT id::int8::text AS id, sessions_ended, status FROM ledger WHERE repository = $1 AND database = $2 AND request_id = $3", [key.repository, key.database, key.requestId]);
  if (!row) return undefined;
  const { rows } = await state.query<{ phase: string; sample: ActivitySample }>("SELECT phase, sample FROM activity_samples WHERE ledger_id = $1 ORDER BY id", [row.id]);
  const grant = rows.find((r) => r.phase === "grant")?.sample;
  const revoke = rows.filter((r) => r.phase === "revoke").at(-1)?.sample;
  const all = rows.map((r) => r.sample);
  const sessions = new Map<string, SessionSeen & { seen: string[] }>();
  for (const s of all) {
    for (const x of s.sessions) {
      const k = `${x.pid}:${x.backendStart ?? ""}`;
      const cur = sessions.get(k);
      sessions.set(k, { ...x, seen: [...(cur?.seen ?? []), s.at] });
    }
  }
  const list = [...sessions.values()];
  const seen = list.flatMap((s) => s.seen).sort();
  const starts = list.flatMap((s) => (s.backendStart ? [s.backendStart] : [])).sort();
  const uniq = (xs: (string | null)[]) => [...new Set(xs.filter((x): x is string => !!x))].sort().slice(0, 20);
  const notAvailable: string[] = [];
  if (!grant) notAvailable.push("no sample was taken at grant (granted before activity sampling existed, or the sample failed)");
  if (!revoke) notAvailable.push(row.status === "revoked" ? "no sample was taken at revoke" : "the grant has not ended yet");
  notAvailable.push("sessions are seen only when sampled (at grant, at each sweep tick while the window is open, and at revoke): one that came and went between two samples is not counted");
  if (list.length && !starts.length) notAvailable.push("login times (backend_start) are hidden from the app role without pg_read_all_stats; times shown are when the app saw each session");
  if (list.length && !list.some((s) => s.clientAddr)) notAvailable.push("client addresses are hidden from the app role without pg_read_all_stats");
  const stmt = revoke ? diff(grant?.statements, revoke.statements) : { available: false, calls: 0, rows: 0, byStatement: [], hiddenCalls: 0, resets: false };
  if (revoke && !revoke.statements.available) notAvailable.push(revoke.statements.why);
  if (revoke?.statements.available && !grant?.statements.available) notAvailable.push("statement counts at grant are unknown: the totals cover everything the login ran since statistics were last reset");
  if (stmt.hiddenCalls) notAvailable.push("statement text is hidden from the app role without pg_read_all_stats (and utility statements are never shown): only totals are given");
  if (stmt.resets) notAvailable.push("statement statistics were reset or evicted during the window: totals are a lower bound");
  return {
    ledgerId: Number(row.id),
    sampled: { grant: !!grant, revoke: !!revoke, ticks: rows.filter((r) => r.phase === "tick").length },
    sessions: {
      count: list.length, firstSeen: seen[0] ?? null, lastSeen: seen.at(-1) ?? null, firstLogin: starts[0] ?? null, lastLogin: starts.at(-1) ?? null,
      applicationNames: uniq(list.map((s) => s.applicationName)), clientAddresses: uniq(list.map((s) => s.clientAddr)),
    },
    sessionsEnded: row.status === "revoked" ? row.sessions_ended : null,
    statements: { available: stmt.available, calls: stmt.calls, rows: stmt.rows, byStatement: stmt.byStatement, hiddenCalls: stmt.hiddenCalls },
    notAvailable,
  };
}
