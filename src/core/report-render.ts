// `jit report --format csv|md`: pure renderers of a report (src/core/report-model.ts). Request
// files are untrusted, so cells are made inert for where a report ends up: in CSV a cell that a
// spreadsheet would run as a formula (= + - @ tab CR) is prefixed with ', and in Markdown every
// value is escaped (I19) and newlines become spaces.
import { text } from "./inert.ts";
import { GRANT_COLUMNS, type Report } from "./report-model.ts";

type Cell = string | number | boolean | null;

const FORMULA = /^[=+\-@\t\r]/;

export function csvCell(v: Cell): string {
  if (v === null) return "";
  let s = String(v).replace(/\r\n?|\n/g, " ");
  if (typeof v === "string" && FORMULA.test(s)) s = `'${s}`;
  return /[",\s]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV of the grants (header row first, CRLF line ends); the totals are in JSON and Markdown. */
export function renderCsv(r: Report): string {
  const lines = [GRANT_COLUMNS.join(",")];
  for (const g of r.grants) lines.push(GRANT_COLUMNS.map((c) => csvCell(g[c])).join(","));
  return lines.join("\r\n") + "\r\n";
}

const mdCell = (v: Cell): string => (v === null ? "" : typeof v === "string" ? text(v.replace(/\r\n?|\n/g, " "), { max: 200 }).text : String(v));

const dur = (ms: number | null): string => {
  if (ms === null) return "–";
  const m = Math.round(ms / 60_000);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m` : `${m}m`;
};

const MD_COLUMNS = ["recordedAt", "database", "requestId", "status", "role", "dbUser", "requester", "approvers", "prNumber", "grantedAt", "expiresAt", "revokedAt", "revokedEarly", "overdue", "failureCode", "ticket", "reason"] as const;

export function renderMarkdown(r: Report): string {
  const t = r.totals;
  const counts = (o: Record<string, number>) => Object.entries(o).map(([k, n]) => `${mdCell(k)} ${n}`).join(", ") || "none";
  const out = [
    `# Access report ${r.period.since} – ${r.period.until}${r.period.database ? ` (${mdCell(r.period.database)})` : ""}`,
    "",
    `Times are UTC. Grants recorded from ${r.period.since} (inclusive) to ${r.period.until} (exclusive); open grants judged as of ${r.period.asOf}.`,
    "",
    "| total | value |",
    "| --- | --- |",
    `| requests | ${t.requests} |`,
    `| granted | ${t.granted} |`,
    `| refused | ${t.refused} (${counts(t.refusedByCode)}) |`,
    `| by status | ${counts(t.byStatus)} |`,
    `| median duration | ${dur(t.medianDurationMs)} |`,
    `| max duration | ${dur(t.maxDurationMs)} |`,
    `| extended | ${t.extended} |`,
    `| revoked early | ${t.revokedEarly} |`,
    `| overdue revokes | ${t.overdueRevokes} |`,
    `| break-glass | ${t.breakGlass ?? "not recorded"} |`,
    `| auto-approved | ${t.autoApproved ?? "not recorded"} |`,
    `| drift findings | ${t.driftFindings} |`,
    `| rebuilt from GitHub | ${t.rebuilt} |`,
    "",
    "## Grants",
    "",
  ];
  if (!r.grants.length) out.push("No grants in this period.");
  else {
    out.push(`| ${MD_COLUMNS.join(" | ")} |`, `| ${MD_COLUMNS.map(() => "---").join(" | ")} |`);
    for (const g of r.grants) out.push(`| ${MD_COLUMNS.map((c) => mdCell(g[c])).join(" | ")} |`);
  }
  if (r.refusals.length) {
    out.push("", "## Merges refused before any grant", "", "| at | repository | PR | code |", "| --- | --- | --- | --- |");
    for (const f of r.refusals) out.push(`| ${f.at} | ${mdCell(f.repository)} | ${f.prNumber} | ${mdCell(f.code)} |`);
  }
  return out.join("\n") + "\n";
}
