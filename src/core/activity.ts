// What the grantee did during a window, as the revert PR (and `jit audit`) shows it. Pure: the
// summary comes from src/db/activity.ts. Application names, addresses and statements are the
// grantee's own words: all go through inert.ts (I19); statements are normalized and scrubbed of
// anything that could be a literal before they get here, and shown cut to 200 characters.
import { code, joinMd, md, text, type Md } from "./inert.ts";

export interface ActivitySummary {
  ledgerId: number;
  sampled: { grant: boolean; revoke: boolean; ticks: number };
  sessions: {
    count: number;
    firstSeen: string | null;
    lastSeen: string | null;
    /** Earliest and latest backend_start where visible. */
    firstLogin: string | null;
    lastLogin: string | null;
    applicationNames: string[];
    clientAddresses: string[];
  };
  sessionsEnded: number | null;
  statements: { available: boolean; calls: number; rows: number; byStatement: { query: string; calls: number; rows: number }[]; hiddenCalls: number };
  /** Plain sentences: what could not be known, and why. */
  notAvailable: string[];
}


/** ISO timestamps from the database, to the second. */
const at = (iso: string | null) => (iso ? iso.replace(/\.\d+Z$/, "Z") : "—");
const list = (xs: readonly string[]) => (xs.length ? joinMd(xs.slice(0, 10).map((x) => code(x, 80)), ", ") : md`—`);

/** The "Activity during the window" section of a revert PR. */
export function renderActivity(a: ActivitySummary): Md {
  const s = a.sessions;
  const lines: Md[] = [
    md`### Activity during the window`,
    md``,
    md`- Sessions seen: ${s.count}${s.count ? md` (first seen ${at(s.firstSeen)}, last seen ${at(s.lastSeen)})` : md``}`,
    ...(s.firstLogin ? [md`- Logins (backend start): first ${at(s.firstLogin)}, last ${at(s.lastLogin)}`] : []),
    md`- Application names: ${list(s.applicationNames)}`,
    md`- Client addresses: ${list(s.clientAddresses)}`,
    md`- Sessions ended by the revoke: ${a.sessionsEnded ?? "—"}`,
    a.statements.available
      ? md`- Statements: ${a.statements.calls} call(s), ${a.statements.rows} row(s) (pg_stat_statements, difference between grant and revoke)`
      : md`- Statements: not available`,
  ];
  if (a.statements.byStatement.length) {
    lines.push(md``, md`| calls | rows | statement (normalized) |`, md`| ---: | ---: | --- |`);
    for (const q of a.statements.byStatement) lines.push(md`| ${q.calls} | ${q.rows} | ${text(q.query, { max: 200 })} |`);
  }
  if (a.notAvailable.length) {
    lines.push(md``, md`Not available:`);
    for (const n of a.notAvailable) lines.push(md`- ${text(n, { max: 300 })}`);
  }
  return joinMd(lines, "\n");
}
