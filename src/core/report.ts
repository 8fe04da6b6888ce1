// Renders the one decision about a request PR for people: the check run (title, summary,
// annotations) and the sticky comment. Pure: time and the SQL plan come in as parameters.
// Everything from the request or the PR goes through inert.ts (I19).
import { autoApprovalLines } from "./auto-approve-report.ts";
import type { JitCode } from "./codes.ts";
import { formatDuration } from "./duration.ts";
import { boundPlain, code, codeBlock, jitCode, joinMd, md, mention, plain, plainText, text, visible, type Md, type Plain } from "./inert.ts";
import type { Decision, Problem } from "./problem.ts";
import type { PullRequestEvaluation } from "./pull-request.ts";
import type { ReviewRequestPlan } from "./review-requests.ts";
import type { TargetCheck } from "./target-checks.ts";

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
  /** Plain text: GitHub shows check-run titles as they are. */
  title: Plain;
  summary: Md;
  annotations: CheckAnnotation[];
}

/** The SQL the grant would run, or why it could not be planned (target not configured, …). */
export type PlanPreview =
  | {
    ok: true; statements: string[]; target: string; /** I16: the login bound by OID for this head. */ login?: { name: string; oid: string | null }; checks?: TargetCheck[];
    /** An overlapping request that extends the held grant instead (docs/lifecycle.md). */ extends?: { request: string; until: number };
  }
  | { ok: false; code: JitCode; message: string; checks?: TargetCheck[] };

/** The merge-time target checks, run read-only by the check (src/usecases/target-checks.ts). */
function targetCheckSection(plan: PlanPreview | null): Md[] {
  if (!plan?.checks?.length) return [];
  return [md`### Target checks (as the merge runs them)`, md``, ...plan.checks.map((c) => md`- ${c.ok ? "✅" : "❌"} ${text(c.text, { max: 300 })}`), md``];
}

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

/**
 * Accounts the app read from GitHub for this PR (author, reviewers, owners per base CODEOWNERS):
 * problem messages may keep mentioning them; any other `@name` in a message is made inert.
 */
export function knownAccounts(e: PullRequestEvaluation): ReadonlySet<string> {
  const a = e.approval;
  const names = [e.requester, ...(a ? [...a.eligibleOwners, ...a.counted.map((c) => c.login), ...a.excluded.map((x) => x.login), ...a.blockedBy.map((b) => b.login)] : [])];
  return new Set(names.map((n) => n.replace(/^@/, "").toLowerCase()));
}

/** One problem as a list item; its message and hint may quote the request, so they are made inert. */
export function problemLine(p: Problem, mentions: ReadonlySet<string> = new Set()): Md {
  const where = p.path ? md` — ${code(`${p.path}${p.line ? `:${p.line}` : ""}`, 200)}` : md``;
  const hint = p.hint ? md`\n  Fix: ${text(p.hint, { mentions })}` : md``;
  return md`- **${jitCode(p.code)}**: ${text(p.message, { mentions, max: 1000 })}${where}${hint}`;
}

const codes = (names: readonly string[]) => joinMd(names.map((o) => code(o)), ", ");
const mentions = (logins: readonly string[]) => joinMd(logins.map(mention), ", ");

function approvalSection(e: PullRequestEvaluation): Md[] {
  const a = e.approval;
  if (!a) return [];
  const source = a.codeownersPath
    ? md` (${a.codeownersPath}${a.ownersLine ? md` line ${a.ownersLine}` : md``}; policy approvers ${codes(a.policyApprovers)})`
    : md``;
  const lines = [md`### Approvals`, md``,
    md`${a.approvals} of ${a.required} required from eligible owners: ${a.eligibleOwners.length ? codes(a.eligibleOwners) : md`none`}${source}`,
  ];
  if (a.counted.length) lines.push(md``, md`Counted: ${mentions(a.counted.map((c) => c.login))}`);
  if (a.excluded.length) {
    lines.push(md``, md`Not counted:`);
    for (const x of a.excluded) lines.push(md`- ${mention(x.login)}: **${jitCode(x.code)}** ${text(x.reason, { mentions: knownAccounts(e) })}`);
  }
  if (a.blockedBy.length) lines.push(md``, md`Changes requested by: ${mentions(a.blockedBy.map((b) => b.login))}`);
  return [...lines, md``];
}

/** pending_ttl of the requested role (src/jobs/pending-ttl.ts), from the base policy the decision used. */
function pendingTtlOf(e: PullRequestEvaluation): number | undefined {
  const db = e.database && e.basePolicy && Object.hasOwn(e.basePolicy.databases, e.database) ? e.basePolicy.databases[e.database] : undefined;
  const role = db && e.request && Object.hasOwn(db.roles, e.request.role) ? db.roles[e.request.role] : undefined;
  return role?.pendingTtlMs;
}

function requestTable(e: PullRequestEvaluation, now: number): Md[] {
  if (!e.request) return [];
  const r = e.request;
  const rows: [string, Md][] = [
    ["Requester", mention(e.requester)],
    ["Database", code(r.database)],
    ["Role", code(r.role)],
    ["Database user", e.dbUser ? code(e.dbUser) : md`unknown`],
    ["Duration", e.kind === "extension" ? md`${r.duration} (extension, counted from the original grant)` : md`${r.duration}`],
    ...(r.startMs !== undefined
      ? [["Starts (scheduled)", md`${utc(r.startMs)} (${relative(r.startMs, now)})`] as [string, Md], ["Until", md`${utc(r.startMs + r.durationMs)} (${relative(r.startMs + r.durationMs, now)})`] as [string, Md]]
      : [["Until, if merged now", e.expiresAtIfMergedNow !== null ? md`${utc(e.expiresAtIfMergedNow)} (${relative(e.expiresAtIfMergedNow, now)})` : md`—`] as [string, Md]]),
    ["Reason", text(r.reason, { max: 500 })],
  ];
  if (r.ticket) rows.push(["Ticket", text(r.ticket)]);
  const ttl = pendingTtlOf(e);
  if (ttl !== undefined && e.kind !== "revoke") rows.push(["Pending TTL", md`${formatDuration(ttl)}: the app closes this pull request if it is still open that long after it was opened`]);
  return [md`| | |`, md`|---|---|`, ...rows.map(([k, v]) => md`| ${k} | ${v} |`), md``];
}

function planSection(e: PullRequestEvaluation, plan: PlanPreview | null): Md[] {
  if (e.kind !== "grant" && e.kind !== "extension") return [];
  if (e.kind === "extension") return [md`### SQL`, md``, md`None: an extension only moves the expiry in the ledger; the membership stays.`, md``];
  if (!plan) return [];
  if (!plan.ok) return [md`### SQL`, md``, md`Not planned: **${jitCode(plan.code)}** ${plan.message}`, md``];
  if (plan.extends) {
    return [md`### SQL`, md``, md`None: the login already holds this role through ${code(plan.extends.request)}; merging extends that grant until ${utc(plan.extends.until)} if merged now (counted from its start, within max_duration).`, md``];
  }
  const login = plan.login
    ? [plan.login.oid === null
      ? md`Login ${code(plan.login.name)} does not exist on the target now; the merge grants nothing if it exists by then.`
      : md`Login ${code(plan.login.name)} is OID ${String(plan.login.oid)}; the merge grants nothing if the name denotes another role by then.`, md``]
    : [];
  return [md`### SQL that will run on merge`, md``, md`On ${code(plan.target)}, after the app re-verifies everything at the merge commit:`, md``, codeBlock("sql", plan.statements), md``, ...login];
}

/** Whom the app asked to review (src/usecases/review-requests.ts): the check says whom it waits for. */
function reviewRequestSection(r: ReviewRequestPlan | undefined, org: string): Md[] {
  if (!r || (!r.users.length && !r.teams.length)) return [];
  return [md`Review requested from: ${joinMd([...r.teams.map((t) => code(`@${org}/${t}`)), ...r.users.map(mention)], ", ")}`, md``];
}

export function renderCheck(decision: Decision<PullRequestEvaluation>, plan: PlanPreview | null, now: number, reviewers?: ReviewRequestPlan & { org: string }): CheckReport {
  const e = decision.details;
  const conclusion = conclusionOf(decision);
  const title = titleOf(decision, conclusion);
  const lines: Md[] = [md`**${text(title.text, { mentions: knownAccounts(e) })}**`, md``];
  if (e.kind === "revoke") lines.push(md`Merging this revokes the active grant ${code(e.requestId ?? "")} on ${code(e.database ?? "")} at once.`, md``);
  if (e.kind === "none" && decision.ok) lines.push(md`Nothing will be granted when this pull request is merged.`, md``);
  lines.push(...requestTable(e, now));
  if (decision.problems.length) lines.push(md`### What to fix`, md``, ...decision.problems.map((p) => problemLine(p, knownAccounts(e))), md``);
  lines.push(...approvalSection(e), ...autoApprovalLines(e.autoApproval), ...reviewRequestSection(reviewers, reviewers?.org ?? ""), ...targetCheckSection(plan), ...planSection(e, plan));
  lines.push(md`<sub>Evaluated at ${utc(now)} on ${e.pullRequest.headSha.slice(0, 12)}; policies and CODEOWNERS read at ${e.pullRequest.baseSha?.slice(0, 12) ?? "—"}.</sub>`);
  return { conclusion, title, summary: joinMd(lines, "\n"), annotations: annotations(decision.problems, e.requestPath) };
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

function titleOf(d: Decision<PullRequestEvaluation>, c: CheckConclusion): Plain {
  const e = d.details;
  const mentions = knownAccounts(e);
  const what = e.request ? plain`${e.request.role} on ${e.request.database} for ${e.request.duration}` : plainText(e.requestPath ?? "request", { max: 120 });
  if (c === "success") {
    if (e.kind === "revoke") return plain`Revokes ${e.requestId ?? ""} on merge`;
    if (e.kind === "none") return plain`No access requested`;
    return e.autoApproval?.matched ? plain`Auto-approved: ${what}` : plain`Ready: ${what}`;
  }
  if (c === "neutral") return plain`Not an access request: nothing will be granted`;
  if (c === "action_required") {
    const a = e.approval;
    if (d.problems.some((p) => p.code === "JIT_PR_DRAFT")) return plain`Draft: ${what}`;
    if (a && a.blockedBy.length) return plain`Changes requested: ${what}`;
    return plain`Waiting for ${a ? a.required - a.approvals : 1} approval(s) from ${plainText(a?.eligibleOwners.join(", ") || "eligible owners", { mentions })}`;
  }
  return boundPlain(plain`${d.code}: ${plainText(d.problems[0]?.message ?? d.message, { mentions })}`, 200);
}

/** GitHub accepts at most 50 annotations per request; only problems located in a file get one. */
function annotations(problems: readonly Problem[], requestPath: string | null): CheckAnnotation[] {
  const out: CheckAnnotation[] = [];
  for (const p of problems) {
    const path = p.path ?? (p.line ? requestPath : null);
    if (!path || out.length >= 50) continue;
    const line = p.line ?? 1;
    out.push({
      path: visible(path), start_line: line, end_line: line,
      ...(p.column ? { start_column: p.column, end_column: p.column } : {}),
      annotation_level: WAITING.has(p.code) ? "warning" : "failure",
      title: p.code,
      message: (p.hint ? plain`${plainText(p.message, { max: 1000 })}\nFix: ${p.hint}` : plainText(p.message, { max: 1000 })).text,
    });
  }
  return out;
}

/** The sticky comment: a short, human version of the check. */
export function renderStickyComment(decision: Decision<PullRequestEvaluation>, report: CheckReport): Md {
  const e = decision.details;
  const icon = report.conclusion === "success" ? "✅" : report.conclusion === "action_required" ? "⏳" : "❌";
  const lines = [md`${icon} **jit-access**: ${text(report.title.text, { mentions: knownAccounts(e) })}`, md``];
  if (decision.problems.length) lines.push(...decision.problems.slice(0, 10).map((p) => problemLine(p, knownAccounts(e))), md``);
  if (e.approval && report.conclusion !== "failure" && e.approval.approvals < e.approval.required && !e.autoApproval?.matched) {
    lines.push(md`Who must act: an approving review on the latest commit from ${codes(e.approval.eligibleOwners)} (not the requester, the beneficiary or a commit author).`, md``);
  }
  lines.push(md`Details are in the **jit-access** check run.`);
  return joinMd(lines, "\n");
}
