// Auto-approval (policy `auto_approve` on a role): a rule of the BASE policy may stand in for the
// human reviews of a request (I1's second exception). Pure: the instant is a parameter, team
// membership is read through the caller's `isTeamMember` (fresh, at evaluation time), and
// wall-clock conditions are computed with Intl in the rule's IANA zone (DST-correct, no dependency).
//
// A rule applies only when ALL hold:
// - the role needs one approval, or the rule says `allow_multi_approval_roles: true`;
// - the request is not break-glass;
// - the requester (the PR author) is listed in the rule's requesters (login or team, read now;
//   a team that cannot be read does not match: fail closed);
// - the duration is at most the rule's max_duration;
// - nobody but the requester authored, committed, co-authored or pushed to the PR (a rule names
//   who may serve themselves; a PR someone else touched is not that person's own request);
// - the instant (check: now; merge: merged_at) falls on one of `days` and within `hours` in
//   `time_zone` (default UTC). An overnight window ("22:00-06:00") belongs to the day it starts.
import { contributorLogins, pusherLogins } from "./approval.ts";
import type { PullRequestCommit, Pusher } from "./context.ts";
import { formatDuration, parseDuration } from "./duration.ts";
import { problem, type Problem } from "./problem.ts";

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export const HOURS_PATTERN = /^([01][0-9]|2[0-3]):([0-5][0-9])-(?:([01][0-9]|2[0-3]):([0-5][0-9])|(24):(00))$/;

export interface AutoApproveRule {
  /** Lowercase "@org/team" or login entries. */
  requesters: string[];
  maxDuration: string;
  maxDurationMs: number;
  days?: Weekday[];
  /** Minutes since local midnight; `to` may be 1440 ("24:00"); from > to is an overnight window. */
  hours?: { text: string; from: number; to: number };
  /** IANA zone the days and hours are read in; "UTC" when the rule names none. */
  timeZone: string;
  allowMultiApprovalRoles: boolean;
}

/** The rule as written in a policy file (already schema-checked). */
export interface RawAutoApproveRule {
  requesters: string[];
  max_duration: string;
  days?: Weekday[];
  hours?: string;
  time_zone?: string;
  allow_multi_approval_roles?: boolean;
}

/** True when Intl knows the zone (the policy schema already limits its spelling). */
export function isKnownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads a role's `auto_approve` rules; problems (with their position through `at`) go to `problems`
 * and the faulty rule is dropped. `role` is what the rule is checked against.
 */
export function readAutoApproveRules(
  raw: readonly RawAutoApproveRule[],
  role: { name: string; approvals: number; maxDurationMs: number; maxDuration: string },
  at: (ptr: string[]) => { line?: number; column?: number; path?: string },
  problems: Problem[],
): AutoApproveRule[] {
  const out: AutoApproveRule[] = [];
  raw.forEach((r, i) => {
    const where = (key: string) => at(["auto_approve", String(i), key]);
    const bad = (key: string, message: string, hint: string) => problems.push(problem("JIT_POLICY_INVALID", `role ${role.name} auto_approve[${i}]: ${message}`, { ...where(key), hint }));
    const before = problems.length;
    const max = parseDuration(r.max_duration);
    if (!max.ok) problems.push({ ...max.problem, ...where("max_duration") });
    else if (max.ms > role.maxDurationMs) bad("max_duration", `max_duration ${r.max_duration} is longer than the role's max_duration ${role.maxDuration}`, `lower it to at most ${role.maxDuration}`);
    let hours: AutoApproveRule["hours"];
    if (r.hours !== undefined) {
      const m = HOURS_PATTERN.exec(r.hours);
      if (!m) bad("hours", `hours ${JSON.stringify(r.hours)} is not "HH:MM-HH:MM"`, 'write e.g. "08:00-18:00" (24-hour clock; "22:00-06:00" spans midnight)');
      else {
        const from = Number(m[1]) * 60 + Number(m[2]);
        const to = m[5] ? 1440 : Number(m[3]) * 60 + Number(m[4]);
        if (from === to) bad("hours", `hours ${r.hours} is an empty window`, "give a start and an end that differ");
        else hours = { text: r.hours, from, to };
      }
    }
    const timeZone = r.time_zone ?? "UTC";
    if (!isKnownTimeZone(timeZone)) bad("time_zone", `time_zone ${JSON.stringify(timeZone)} is not a time zone this runtime knows`, "name an IANA zone, e.g. Europe/Berlin or America/New_York");
    if (role.approvals > 1 && r.allow_multi_approval_roles !== true) {
      bad("requesters", `role ${role.name} needs ${role.approvals} approvals; a rule never replaces several reviewers unless it says allow_multi_approval_roles: true`, "remove the rule, or set allow_multi_approval_roles: true if one rule may really stand in for all of them");
    }
    if (problems.length > before || !max.ok) return;
    out.push({
      requesters: [...new Set(r.requesters.map((q) => q.toLowerCase()))],
      maxDuration: r.max_duration, maxDurationMs: max.ms,
      ...(r.days ? { days: [...r.days] } : {}),
      ...(hours ? { hours } : {}),
      timeZone,
      allowMultiApprovalRoles: r.allow_multi_approval_roles === true,
    });
  });
  return out;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
/** One formatter per zone (constructing one costs far more than using it). */
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) formatters.set(timeZone, (f = new Intl.DateTimeFormat("en-US", { timeZone, weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })));
  return f;
}

/** Weekday and minutes since local midnight of `ms` in `timeZone` (wall clock, DST included). */
export function localTime(ms: number, timeZone: string): { day: Weekday; minutes: number; text: string } {
  const parts = formatterFor(timeZone).formatToParts(ms);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  const day = get("weekday").slice(0, 3).toLowerCase() as Weekday;
  const hour = Number(get("hour")) % 24;
  const minute = Number(get("minute"));
  const text = `${get("weekday")} ${String(hour).padStart(2, "0")}:${String(minute).padStart(2, "0")} ${timeZone}`;
  return { day, minutes: hour * 60 + minute, text };
}

const previousDay = (d: Weekday): Weekday => WEEKDAYS[(WEEKDAYS.indexOf(d) + 6) % 7]!;

/** Null when `ms` is inside the rule's days and hours, else why not. */
export function outsideWindow(rule: Pick<AutoApproveRule, "days" | "hours" | "timeZone">, ms: number): string | null {
  if (!rule.days && !rule.hours) return null;
  const t = localTime(ms, rule.timeZone);
  let day = t.day;
  if (rule.hours) {
    const { from, to } = rule.hours;
    const inside = from < to ? t.minutes >= from && t.minutes < to : t.minutes >= from || t.minutes < to;
    if (!inside) return `${t.text} is outside hours ${rule.hours.text}`;
    if (from > to && t.minutes < to) day = previousDay(day); // the overnight window began yesterday
  }
  if (rule.days && !rule.days.includes(day)) return `${t.text} is not on ${rule.days.join(", ")}`;
  return null;
}

export function describeRule(rule: AutoApproveRule, index: number): string {
  const when = [rule.days ? rule.days.join(",") : null, rule.hours ? rule.hours.text : null].filter(Boolean).join(" ");
  return `auto_approve[${index}] (requesters ${rule.requesters.join(", ")}; at most ${rule.maxDuration}${when ? `; ${when} ${rule.timeZone}` : ""})`;
}

export interface AutoApproveInput {
  rules: readonly AutoApproveRule[] | undefined;
  /** The role's `approvals`. */
  roleApprovals: number;
  /** The PR author. */
  requester: string;
  durationMs: number;
  breakGlass: boolean;
  /** The instant the rule is judged at: now for a check, merged_at for a merge. */
  at: number;
  commits: readonly PullRequestCommit[];
  pushers: readonly Pusher[];
  isTeamMember(login: string, team: string): Promise<boolean>;
}

export interface AutoApproval {
  /** The rule that approved, or null. */
  matched: { index: number; description: string } | null;
  /** Why each other rule did not apply (shown in the check). */
  rejected: { index: number; description: string; reason: string }[];
  at: number;
}

/** GitHub's own committer for commits made in its web UI or API on the author's behalf. */
const GITHUB_COMMITTER = "web-flow";

export async function evaluateAutoApprove(input: AutoApproveInput): Promise<AutoApproval> {
  const out: AutoApproval = { matched: null, rejected: [], at: input.at };
  const rules = input.rules ?? [];
  const requester = input.requester.toLowerCase();
  const others = new Set([...contributorLogins(input.commits).keys(), ...pusherLogins(input.pushers).keys()]);
  others.delete(requester);
  others.delete(GITHUB_COMMITTER);
  for (const [index, rule] of rules.entries()) {
    const description = describeRule(rule, index);
    const reject = (reason: string) => out.rejected.push({ index, description, reason });
    if (input.roleApprovals > 1 && !rule.allowMultiApprovalRoles) { reject(`the role needs ${input.roleApprovals} approvals`); continue; }
    if (input.breakGlass) { reject("break-glass requests are never auto-approved"); continue; }
    if (input.durationMs > rule.maxDurationMs) { reject(`the duration ${formatDuration(input.durationMs)} is longer than ${rule.maxDuration}`); continue; }
    if (others.size > 0) { reject(`others touched the pull request (${[...others].sort().join(", ")})`); continue; }
    if (!Number.isFinite(input.at)) { reject("the instant to judge the rule at (merged_at) could not be read"); continue; }
    const window = outsideWindow(rule, input.at);
    if (window) { reject(window); continue; }
    const member = await requesterMatches(requester, rule.requesters, input.isTeamMember);
    if (member !== true) { reject(member); continue; }
    out.matched = { index, description };
    break;
  }
  return out;
}

/** True, or why the requester is not among the rule's requesters (an unreadable team never matches). */
async function requesterMatches(requester: string, entries: readonly string[], isTeamMember: AutoApproveInput["isTeamMember"]): Promise<true | string> {
  if (entries.includes(requester)) return true;
  const unreadable: string[] = [];
  for (const team of entries.filter((e) => e.startsWith("@"))) {
    try {
      if (await isTeamMember(requester, team)) return true;
    } catch (err) {
      // Refused (403/404: the app may not see the team): fail closed. Anything else (5xx, network)
      // is rethrown so the delivery is retried rather than a merge refused and its id burned.
      const status = (err as { status?: unknown }).status;
      if (status !== 403 && status !== 404) throw err;
      unreadable.push(team);
    }
  }
  return unreadable.length > 0
    ? `${requester} is not a member of ${entries.join(", ")} as far as the app can read (${unreadable.join(", ")} could not be read)`
    : `${requester} is not among ${entries.join(", ")}`;
}

/** Problems an auto-approval settles: the missing count and the notes on reviews that did not count. */
const SETTLED_BY_RULE: ReadonlySet<string> = new Set([
  "JIT_APPROVALS_MISSING", "JIT_APPROVER_IS_BOT", "JIT_APPROVER_IS_AUTHOR", "JIT_APPROVER_IS_BENEFICIARY", "JIT_APPROVER_IS_CONTRIBUTOR",
  "JIT_APPROVER_IS_PUSHER", "JIT_APPROVAL_STALE", "JIT_APPROVAL_AFTER_MERGE", "JIT_APPROVAL_TOO_OLD", "JIT_APPROVER_NOT_OWNER", "JIT_APPROVER_NO_WRITE_ACCESS",
]);

/**
 * The approval problems once auto-approval is known. Only the missing human count (and the notes
 * that explain it) is settled by a matching rule; an eligible owner's CHANGES_REQUESTED, an
 * unattributed commit, a CODEOWNERS error or a file without eligible owner still block.
 */
export function settleApproval(problems: readonly Problem[], auto: AutoApproval | null): Problem[] {
  if (!auto?.matched || !problems.some((p) => p.code === "JIT_APPROVALS_MISSING")) return [...problems];
  const blocking = problems.filter((p) => !SETTLED_BY_RULE.has(p.code));
  return blocking.length > 0 ? problems.filter((p) => p.code !== "JIT_APPROVALS_MISSING") : [];
}

/**
 * The approval decision with auto-approval folded in: rules are evaluated only when human approvals
 * are missing (the check then says which rule approved, or why none did).
 */
export async function withAutoApproval(approvalProblems: readonly Problem[], input: AutoApproveInput): Promise<{ problems: Problem[]; autoApproval: AutoApproval | null }> {
  if (!input.rules?.length || !approvalProblems.some((p) => p.code === "JIT_APPROVALS_MISSING")) return { problems: [...approvalProblems], autoApproval: null };
  const autoApproval = await evaluateAutoApprove(input);
  return { problems: settleApproval(approvalProblems, autoApproval), autoApproval };
}
