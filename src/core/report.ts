// Renders the one decision about a request PR for people: the check run (title, summary,
// annotations) and the sticky comment. Pure: time and the SQL plan come in as parameters.
import type { JitCode } from "./codes.ts";
import { formatDuration } from "./duration.ts";
import type { Decision, Problem } from "./problem.ts";
import type { PullRequestEvaluation } from "./pull-request.ts";

export type CheckConclusion = "success" | "failure" | "action_required" | "neutral";

export interface CheckAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  start_column?: number;
  end_column?: number;
  annotation_level: "failure" | "warning" | "notice";
  title: string;
  message: string;
}

export interface CheckReport {
  conclusion: CheckConclusion;
  title: string;
  summary: string;
  annotations: CheckAnnotation[];
}

/** The SQL the grant would run, or why it could not be planned (target not configured, …). */
export type PlanPreview =
  | { ok: true; statements: string[]; target: string; /** I16: the login bound by OID for this head. */ login?: { name: string; oid: string | null } }
  | { ok: false; code: JitCode; message: string };

/** Problems a person resolves by acting on the PR (approving, un-drafting), not by editing the request. */
const WAITING: ReadonlySet<JitCode> = new Set(["JIT_APPROVALS_MISSING", "JIT_CHANGES_REQUESTED", "JIT_PR_DRAFT"]);

export function isWaitingOnly(problems: readonly Problem[]): boolean {
  return problems.length > 0 && problems.every((p) => WAITING.has(p.code));
}

/** RFC 3339 in UTC to the second, e.g. 2026-11-23T14:05:00Z. */
export function utc(ms: number): string {
  // eslint-disable-next-line no-restricted-globals -- formats an instant it is given; never reads the clock
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** "in 2h", "in 1d 4h", "5m ago": relative to now, for comments. */
export function relative(ms: number, now: number): string {
  const delta = ms - now;
  const abs = Math.abs(delta);
  const text = abs < 60_000 ? "less than a minute" : formatDuration(Math.round(abs / 60_000) * 60_000);
  return delta >= 0 ? `in ${text}` : `${text} ago`;
}

const esc = (s: string) => s.replace(/[|<>`]/g, (c) => `\\${c}`);

function problemLine(p: Problem): string {
  const where = p.path ? ` — \`${p.path}${p.line ? `:${p.line}` : ""}\`` : "";
  return `- **${p.code}**: ${esc(p.message)}${where}${p.hint ? `\n  Fix: ${esc(p.hint)}` : ""}`;
}

function approvalSection(e: PullRequestEvaluation): string[] {
  const a = e.approval;
  if (!a) return [];
  const lines = ["### Approvals", "",
    `${a.approvals} of ${a.required} required from eligible owners: ${a.eligibleOwners.map((o) => `\`${o}\``).join(", ") || "none"}` +
      (a.codeownersPath ? ` (${a.codeownersPath}${a.ownersLine ? ` line ${a.ownersLine}` : ""}; policy approvers ${a.policyApprovers.map((o) => `\`${o}\``).join(", ")})` : ""),
  ];
  if (a.counted.length) lines.push("", "Counted: " + a.counted.map((c) => `@${c.login}`).join(", "));
  if (a.excluded.length) {
    lines.push("", "Not counted:");
    for (const x of a.excluded) lines.push(`- @${x.login}: **${x.code}** ${esc(x.reason)}`);
  }
  if (a.blockedBy.length) lines.push("", "Changes requested by: " + a.blockedBy.map((b) => `@${b.login}`).join(", "));
  return [...lines, ""];
}

function requestTable(e: PullRequestEvaluation, now: number): string[] {
  if (!e.request) return [];
  const r = e.request;
  const rows: [string, string][] = [
    ["Requester", `@${e.requester}`],
    ["Database", `\`${r.database}\``],
    ["Role", `\`${r.role}\``],
    ["Database user", e.dbUser ? `\`${e.dbUser}\`` : "unknown"],
    ["Duration", e.kind === "extension" ? `${r.duration} (extension, counted from the original grant)` : r.duration],
    ["Until, if merged now", e.expiresAtIfMergedNow !== null ? `${utc(e.expiresAtIfMergedNow)} (${relative(e.expiresAtIfMergedNow, now)})` : "—"],
    ["Reason", esc(r.reason)],
  ];
  if (r.ticket) rows.push(["Ticket", esc(r.ticket)]);
  return ["| | |", "|---|---|", ...rows.map(([k, v]) => `| ${k} | ${v} |`), ""];
}

function planSection(e: PullRequestEvaluation, plan: PlanPreview | null): string[] {
  if (e.kind !== "grant" && e.kind !== "extension") return [];
  if (e.kind === "extension") return ["### SQL", "", "None: an extension only moves the expiry in the ledger; the membership stays.", ""];
  if (!plan) return [];
  if (!plan.ok) return ["### SQL", "", `Not planned: **${plan.code}** ${esc(plan.message)}`, ""];
  const login = plan.login
    ? [plan.login.oid === null
      ? `Login \`${esc(plan.login.name)}\` does not exist on the target now; the merge grants nothing if it exists by then.`
      : `Login \`${esc(plan.login.name)}\` is OID ${plan.login.oid}; the merge grants nothing if the name denotes another role by then.`, ""]
    : [];
  return ["### SQL that will run on merge", "", `On \`${plan.target}\`, after the app re-verifies everything at the merge commit:`, "", "```sql", ...plan.statements, "```", "", ...login];
}

export function renderCheck(decision: Decision<PullRequestEvaluation>, plan: PlanPreview | null, now: number): CheckReport {
  const e = decision.details;
  const conclusion = conclusionOf(decision);
  const title = titleOf(decision, conclusion);
  const lines: string[] = [`**${title}**`, ""];
  if (e.kind === "revoke") lines.push(`Merging this revokes the active grant \`${e.requestId}\` on \`${e.database}\` at once.`, "");
  if (e.kind === "none" && decision.ok) lines.push("Nothing will be granted when this pull request is merged.", "");
  lines.push(...requestTable(e, now));
  if (decision.problems.length) lines.push("### What to fix", "", ...decision.problems.map(problemLine), "");
  lines.push(...approvalSection(e), ...planSection(e, plan));
  lines.push(`<sub>Evaluated at ${utc(now)} on ${e.pullRequest.headSha.slice(0, 12)}; policies and CODEOWNERS read at ${e.pullRequest.baseSha?.slice(0, 12) ?? "—"}.</sub>`);
  return { conclusion, title, summary: lines.join("\n"), annotations: annotations(decision.problems, e.requestPath) };
}

/**
 * False for a pull request that touches nothing under access-requests/ (the core then reports
 * JIT_PR_NO_REQUEST, whatever else the PR changes): merging it grants nothing.
 */
export function isRequestPullRequest(decision: Decision<PullRequestEvaluation>): boolean {
  return !decision.problems.some((p) => p.code === "JIT_PR_NO_REQUEST");
}

/**
 * Green only when valid and approved. A PR that touches no request file is neutral: merging it
 * grants nothing, and a required check must not block policy or code changes forever.
 */
export function conclusionOf(decision: Decision<PullRequestEvaluation>): CheckConclusion {
  if (decision.ok) return "success";
  if (!isRequestPullRequest(decision)) return "neutral";
  return isWaitingOnly(decision.problems) ? "action_required" : "failure";
}

function titleOf(d: Decision<PullRequestEvaluation>, c: CheckConclusion): string {
  const e = d.details;
  const what = e.request ? `${e.request.role} on ${e.request.database} for ${e.request.duration}` : (e.requestPath ?? "request");
  if (c === "success") {
    if (e.kind === "revoke") return `Revokes ${e.requestId} on merge`;
    if (e.kind === "none") return "No access requested";
    return `Ready: ${what}`;
  }
  if (c === "neutral") return "Not an access request: nothing will be granted";
  if (c === "action_required") {
    const a = e.approval;
    if (d.problems.some((p) => p.code === "JIT_PR_DRAFT")) return `Draft: ${what}`;
    if (a && a.blockedBy.length) return `Changes requested: ${what}`;
    return `Waiting for ${a ? a.required - a.approvals : 1} approval(s) from ${a?.eligibleOwners.join(", ") || "eligible owners"}`;
  }
  return `${d.code}: ${d.problems[0]?.message ?? d.message}`.slice(0, 200);
}

/** GitHub accepts at most 50 annotations per request; only problems located in a file get one. */
function annotations(problems: readonly Problem[], requestPath: string | null): CheckAnnotation[] {
  const out: CheckAnnotation[] = [];
  for (const p of problems) {
    const path = p.path ?? (p.line ? requestPath : null);
    if (!path || out.length >= 50) continue;
    const line = p.line ?? 1;
    out.push({
      path, start_line: line, end_line: line,
      ...(p.column ? { start_column: p.column, end_column: p.column } : {}),
      annotation_level: WAITING.has(p.code) ? "warning" : "failure",
      title: p.code,
      message: p.hint ? `${p.message}\nFix: ${p.hint}` : p.message,
    });
  }
  return out;
}

/** The sticky comment: a short, human version of the check. */
export function renderStickyComment(decision: Decision<PullRequestEvaluation>, report: CheckReport): string {
  const e = decision.details;
  const icon = report.conclusion === "success" ? "✅" : report.conclusion === "action_required" ? "⏳" : "❌";
  const lines = [`${icon} **jit-access**: ${report.title}`, ""];
  if (decision.problems.length) lines.push(...decision.problems.slice(0, 10).map(problemLine), "");
  if (e.approval && report.conclusion !== "failure" && e.approval.approvals < e.approval.required) {
    lines.push(`Who must act: an approving review on the latest commit from ${e.approval.eligibleOwners.map((o) => `\`${o}\``).join(", ")} (not the requester, the beneficiary or a commit author).`, "");
  }
  lines.push("Details are in the **jit-access** check run.");
  return lines.join("\n");
}
