// The dashboard issue of one access repository, as a pure renderer: who holds what now, what else the
// ledger has open (any status, so states added later render without a change here), pending request
// PRs and whom each waits for, recently ended grants, open alerts and dead letters. Every value goes
// through inert.ts (I19): logins are code spans (no pings on each edit), ids and roles are code.
// Bounded: each section has a character budget and ends with "… and N more" when it is cut, so the
// body never passes MAX_DASHBOARD_CHARS (GitHub's issue body limit is 65 536). Time comes in as `now`.
import { code, jitCode, joinMd, marker, md, plain, text, type Md, type Plain } from "./inert.ts";
import { utc } from "./report.ts";

export const DASHBOARD_MARKER = marker("jit-access:dashboard").text;
export const DASHBOARD_LABEL = "jit-dashboard";
export const MAX_DASHBOARD_CHARS = 60_000;
export const ENDED_SHOWN = 20;

export interface DashboardGrant {
  status: string;
  database: string;
  requestId: string;
  role: string;
  dbUser: string;
  prNumber: number | null;
  approvers: readonly string[];
  grantedAt: number | null;
  expiresAt: number | null;
  revokedAt: number | null;
  revokeReason: string | null;
  failureCode: string | null;
}

export interface DashboardPending {
  prNumber: number;
  database: string | null;
  requestId: string | null;
  requester: string;
  role: string | null;
  /** The check's conclusion and code as the app last computed them. */
  conclusion: string;
  code: string;
  approvals: number;
  required: number;
  /** Owner entries (logins or @org/team) an approval can still come from; empty when nobody is awaited. */
  waitingFor: readonly string[];
  checkedAt: number;
}

export interface DashboardAlert {
  number: number;
  title: string;
  createdAt: number;
}

export interface DashboardDeadLetter {
  id: string;
  event: string;
  action: string | null;
  attempts: number;
  lastError: string | null;
  receivedAt: number;
}

/** A scheduled grant not started yet (scheduled_grants, status scheduled). */
export interface DashboardScheduled {
  requester: string;
  dbUser: string;
  role: string;
  database: string;
  requestId: string;
  startsAt: number;
  until: number;
  prNumber: number;
}

/** A break-glass grant awaiting its retro-approval (break_glass_grants, status open); role from its ledger row. */
export interface DashboardBreakGlass {
  requester: string;
  dbUser: string;
  role: string | null;
  database: string;
  requestId: string;
  deadline: number;
  prNumber: number;
}

export interface DashboardInput {
  repository: string;
  /** The state database's clock. */
  now: number;
  /** Ledger rows not ended (status other than revoked/failed), soonest expiry first. */
  open: readonly DashboardGrant[];
  /** Revoked rows, most recent first (at most ENDED_SHOWN are shown). */
  ended: readonly DashboardGrant[];
  pending: readonly DashboardPending[];
  /** Scheduled grants waiting for their start, soonest first. */
  scheduled?: readonly DashboardScheduled[];
  /** Break-glass grants awaiting retro-approval, nearest deadline first. */
  breakGlass?: readonly DashboardBreakGlass[];
  alerts: readonly DashboardAlert[];
  deadLetters: readonly DashboardDeadLetter[];
  /** How many dead letters in all (only some are listed). */
  deadTotal: number;
}

/** Relative time coarse enough that a dashboard is not edited every minute: minutes under an hour, then hours, then days. */
export function coarseRelative(at: number, now: number): string {
  const delta = at - now;
  const min = Math.floor(Math.abs(delta) / 60_000);
  const span = min < 1 ? "under a minute" : min < 60 ? `${min} min` : min < 48 * 60 ? `${Math.floor(min / 60)} h` : `${Math.floor(min / 1440)} d`;
  return min < 1 ? span : delta >= 0 ? `in ${span}` : `${span} ago`;
}

const when = (at: number | null, now: number): Md => (at === null ? md`—` : md`${utc(at)} (${coarseRelative(at, now)})`);
const pr = (n: number | null): Md => (n === null ? md`—` : md`#${n}`);
const owners = (list: readonly string[]): Md => (list.length ? joinMd(list.map((o) => code(o.replace(/^@/, ""), 80)), ", ") : md`—`);

/** A table cut to `budget` characters; rows that do not fit are counted in a closing line. */
function table(header: Md, columns: number, rows: readonly Md[], budget: number, more = 0): Md {
  const sep = md`|${joinMd(Array.from({ length: columns }, () => md`---`), "|")}|`;
  const kept: Md[] = [header, sep];
  let size = header.text.length + sep.text.length;
  for (const r of rows) {
    if (size + r.text.length + 1 > budget - 40) break;
    kept.push(r);
    size += r.text.length + 1;
  }
  const left = rows.length - (kept.length - 2) + more;
  return md`${joinMd(kept, "\n")}${left > 0 ? md`\n\n… and ${left} more` : md``}`;
}

function section(title: Md, body: Md): Md {
  return md`### ${title}\n\n${body}`;
}

/** A section title: the app's words, a status read from the ledger (escaped), and a count. */
function statusTitle(status: string, count: number): Md {
  if (status === "active") return md`Active grants (${count})`;
  if (status === "intent") return md`Grants in flight (${count}): being granted now, or left by a crash and cleaned up by the next sweep`;
  return md`Grants with status ${code(status, 40)} (${count})`;
}

function grantRow(g: DashboardGrant, now: number): Md {
  return md`| ${code(g.dbUser, 63)} | ${code(g.role, 63)} | ${code(g.database, 63)} | ${code(g.requestId, 100)} | ${when(g.grantedAt, now)} | ${when(g.expiresAt, now)} | ${pr(g.prNumber)} |`;
}

function endedRow(g: DashboardGrant, now: number): Md {
  const how = g.status === "failed" ? md`failed ${jitCode(g.failureCode ?? "")}` : g.revokeReason ? text(g.revokeReason, { max: 80 }) : md`${g.status}`;
  return md`| ${code(g.dbUser, 63)} | ${code(g.role, 63)} | ${code(g.database, 63)} | ${code(g.requestId, 100)} | ${when(g.revokedAt ?? g.expiresAt, now)} | ${how} | ${pr(g.prNumber)} |`;
}

function pendingRow(p: DashboardPending, now: number): Md {
  const what = p.database && p.requestId ? md`${code(p.database, 63)}/${code(p.requestId, 100)}` : md`—`;
  const check = md`${p.conclusion} ${jitCode(p.code)}`;
  return md`| ${pr(p.prNumber)} | ${code(p.requester, 39)} | ${what} | ${p.role ? code(p.role, 63) : md`—`} | ${check} | ${p.approvals}/${p.required} | ${owners(p.waitingFor.slice(0, 10))} | ${coarseRelative(p.checkedAt, now)} |`;
}

/** Title of the issue (plain text, the app's own words and the repository name). */
export function dashboardTitle(repository: string): Plain {
  return plain`jit-access dashboard (${repository})`;
}

/** The whole body, marker first; never longer than MAX_DASHBOARD_CHARS. */
export function renderDashboard(d: DashboardInput): Md {
  const now = d.now;
  const byStatus = new Map<string, DashboardGrant[]>();
  for (const g of d.open) byStatus.set(g.status, [...(byStatus.get(g.status) ?? []), g]);
  const statuses = ["active", ...[...byStatus.keys()].filter((s) => s !== "active").sort()];
  const grantHeader = md`| user | role | database | request | granted | until | PR |`;
  const parts: Md[] = [];
  for (const s of statuses) {
    const rows = (byStatus.get(s) ?? []).map((g) => grantRow(g, now));
    // Other statuses share one budget, however many kinds the ledger grows.
    const budget = s === "active" ? 26_000 : Math.max(1_000, Math.floor(12_000 / Math.max(1, statuses.length - 1)));
    parts.push(section(statusTitle(s, rows.length), rows.length ? table(grantHeader, 7, rows, budget) : md`None.`));
  }
  const pending = d.pending.map((p) => pendingRow(p, now));
  parts.push(section(md`Pending requests (${pending.length})`, pending.length
    ? table(md`| PR | requester | request | role | check | approvals | waiting for | checked |`, 8, pending, 10_000)
    : md`None.`));
  const breakGlass = (d.breakGlass ?? []).map((b) => md`| ${code(b.requester, 39)} | ${code(b.dbUser, 63)} | ${b.role ? code(b.role, 63) : md`—`} | ${code(b.database, 63)} | ${code(b.requestId, 100)} | ${when(b.deadline, now)} | ${pr(b.prNumber)} |`);
  parts.push(section(md`Break-glass grants awaiting retro-approval (${breakGlass.length})`, breakGlass.length
    ? table(md`| requester | user | role | database | request | approve and merge by | PR |`, 7, breakGlass, 6_000)
    : md`None.`));
  const scheduled = (d.scheduled ?? []).map((x) => md`| ${code(x.requester, 39)} | ${code(x.dbUser, 63)} | ${code(x.role, 63)} | ${code(x.database, 63)} | ${code(x.requestId, 100)} | ${when(x.startsAt, now)} | ${when(x.until, now)} | ${pr(x.prNumber)} |`);
  parts.push(section(md`Scheduled grants (${scheduled.length})`, scheduled.length
    ? table(md`| requester | user | role | database | request | starts | until | PR |`, 8, scheduled, 6_000)
    : md`None.`));
  const ended = d.ended.slice(0, ENDED_SHOWN).map((g) => endedRow(g, now));
  parts.push(section(md`Recently ended (last ${ended.length})`, ended.length
    ? table(md`| user | role | database | request | ended | how | PR |`, 7, ended, 6_000)
    : md`None.`));
  const alerts = d.alerts.map((a) => md`| #${a.number} | ${text(a.title, { max: 160 })} | ${when(a.createdAt, now)} |`);
  parts.push(section(md`Open alerts (${alerts.length})`, alerts.length ? table(md`| issue | title | opened |`, 3, alerts, 4_000) : md`None.`));
  const dead = d.deadLetters.map((x) => md`| ${code(x.id, 64)} | ${code(`${x.event}${x.action ? `.${x.action}` : ""}`, 64)} | ${x.attempts} | ${text(x.lastError ?? "", { max: 120 })} | ${when(x.receivedAt, now)} |`);
  parts.push(section(md`Dead letters (${d.deadTotal})`, dead.length
    ? md`${table(md`| delivery | event | attempts | last error | received |`, 5, dead, 4_000, Math.max(0, d.deadTotal - dead.length))}\n\nRetry one with ${code("jit deliveries retry <id>", 60)}.`
    : md`None.`));
  const head = md`${marker("jit-access:dashboard")}\n## jit-access dashboard\n\nKept current by the app (as of ${utc(now)}); edits by anyone else are restored. Times are UTC.\n\n`;
  const body = md`${head}${joinMd(parts, "\n\n")}\n`;
  return body.text.length <= MAX_DASHBOARD_CHARS ? body : md`${head}The dashboard is too large to show (${body.text.length} characters); see ${code("jit status", 20)}.\n`;
}
