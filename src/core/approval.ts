// Who approved, and does it count (invariant I3). Approval is the whole security of a pull-request
// workflow, so the app computes it itself from reads pinned to the head SHA:
// - eligible approvers are code owners of the request file per the BASE CODEOWNERS (teams expanded
//   by membership checks at evaluation time) who also match the policy's approvers and have write
//   access (write, maintain or admin);
// - only formal reviews count; per reviewer the latest APPROVED / CHANGES_REQUESTED / DISMISSED review
//   decides (a later COMMENTED review changes nothing), and an approval counts only on the head SHA;
// - an outstanding CHANGES_REQUESTED from an eligible owner blocks, whatever the approvals;
// - the PR author, the beneficiary, everyone who authored, committed or co-authored a commit of the
//   PR, everyone recorded as having pushed to its head or changed its base, and bots never count.
//   Logins compare case-insensitively (I3, I13);
// - a commit whose author or committer GitHub did not link to an account fails the decision: the
//   app cannot prove who made it, so it cannot prove that person is not the approver (I13);
// - at merge, only reviews submitted at or before `merged_at` exist for the decision; with the
//   policy's max_approval_age an approval must also be that recent, measured at merge time (merge)
//   or now (check) (I13).
// Comments, reactions and commit statuses are not inputs at all.
import { erroneousLinesAfter, ownerKind, ownersOf, type ParsedCodeowners } from "./codeowners.ts";
import { parseCoAuthors, type Permission, type PullRequestCommit, type PullRequestContext, type Pusher, type Review } from "./context.ts";
import { formatDuration } from "./duration.ts";
import { parseUtcTimestamp } from "./timestamp.ts";
import { decide, problem, type Decision, type Problem } from "./problem.ts";

export type ExclusionCode =
  | "JIT_APPROVER_IS_BOT"
  | "JIT_APPROVER_IS_AUTHOR"
  | "JIT_APPROVER_IS_BENEFICIARY"
  | "JIT_APPROVER_IS_CONTRIBUTOR"
  | "JIT_APPROVER_IS_PUSHER"
  | "JIT_APPROVAL_STALE"
  | "JIT_APPROVAL_AFTER_MERGE"
  | "JIT_APPROVAL_TOO_OLD"
  | "JIT_APPROVAL_DISMISSED"
  | "JIT_APPROVER_NOT_OWNER"
  | "JIT_APPROVER_NO_WRITE_ACCESS";

export interface ApprovalInput {
  /** Repository path of the request file. */
  requestPath: string;
  /** The only commit approvals count on. */
  headSha: string;
  /** PR author (the requester). */
  author: string;
  /** GitHub logins mapped to the database user that gets the access. */
  beneficiaries: readonly string[];
  commits: readonly PullRequestCommit[];
  reviews: readonly Review[];
  /** Senders recorded for the PR's head pushes and base changes: never approvers. */
  pushers: readonly Pusher[];
  /**
   * When approvals are judged. Merge: `merged_at` from the API (later reviews never count). Check:
   * the caller's clock, used only for max_approval_age.
   */
  at: { mode: "merge"; mergedAt: string } | { mode: "check"; now: number };
  /** CODEOWNERS at the base, as selected by location precedence; null when the base has none. */
  codeowners: { path: string; parsed: ParsedCodeowners } | null;
  /** From the policy: distinct approvals required, approver entries ("@org/team" or login), optional maximum approval age. */
  requirement: { count: number; approvers: readonly string[]; maxApprovalAgeMs?: number };
  /** Membership and permission reads, resolved now (not when the review was given). */
  ctx: Pick<PullRequestContext, "isTeamMember" | "permission">;
}

export interface CountedApproval {
  login: string;
  reviewId: number;
  commitId: string;
}

export interface ApprovalExclusion {
  login: string;
  reviewId: number;
  code: ExclusionCode;
  reason: string;
}

export interface ApprovalResult {
  required: number;
  /** Distinct eligible approvals on the head SHA. */
  approvals: number;
  codeownersPath: string | null;
  /** CODEOWNERS line that decided the owners of the request file, or null. */
  ownersLine: number | null;
  /** Owners of the request file as written in CODEOWNERS. */
  owners: string[];
  /** The policy's approver entries (lowercase). */
  policyApprovers: string[];
  /** Owner entries that can yield an eligible approver (owner and policy approver, write access). */
  eligibleOwners: string[];
  counted: CountedApproval[];
  excluded: ApprovalExclusion[];
  /** Eligible owners whose latest review requests changes. */
  blockedBy: { login: string; reviewId: number }[];
}

const WRITE: ReadonlySet<Permission> = new Set(["write", "maintain", "admin"]);
const DECISIVE: ReadonlySet<string> = new Set(["APPROVED", "CHANGES_REQUESTED", "DISMISSED"]);

const lower = (s: string) => s.toLowerCase();

export function isBot(user: { login: string; type: string }): boolean {
  return user.type === "Bot" || lower(user.login).endsWith("[bot]");
}

export async function evaluateApproval(input: ApprovalInput): Promise<Decision<ApprovalResult>> {
  const problems: Problem[] = [];
  const required = input.requirement.count;
  const approvers = input.requirement.approvers.map(lower);
  const approverLogins = new Set(approvers.filter((a) => !a.startsWith("@")));
  const approverTeams = approvers.filter((a) => a.startsWith("@") && a.includes("/"));

  // Owners of the request file at the base.
  const ownership = input.codeowners ? ownersOf(input.codeowners.parsed, input.requestPath) : { owners: [], line: null };
  if (input.codeowners) {
    for (const e of erroneousLinesAfter(input.codeowners.parsed, ownership)) {
      problems.push(problem("JIT_CODEOWNERS_ERROR", `${input.codeowners.path} line ${e.line} is not interpreted (${e.message}) and could decide the owners of ${input.requestPath}`, {
        path: input.codeowners.path, line: e.line,
        hint: "fix or remove the line; until then no request under it can be approved",
      }));
    }
  }
  const owners = ownership.owners;
  const ownerUsers = new Set(owners.filter((o) => ownerKind(o) === "user").map((o) => lower(o.slice(1))));
  const ownerTeams = owners.filter((o) => ownerKind(o) === "team").map(lower);
  // Which owner entries can produce someone who also matches the policy (membership decided later).
  const eligibleOwners = [
    ...[...ownerUsers].filter((u) => approverLogins.has(u) || approverTeams.length > 0).map((u) => `@${u}`),
    ...ownerTeams, // a team owner may share members with any approver entry
  ];
  if (eligibleOwners.length === 0) {
    const why = !input.codeowners
      ? "the base has no CODEOWNERS file"
      : ownership.line === null
        ? `no ${input.codeowners.path} rule matches it`
        : owners.length === 0
          ? `${input.codeowners.path} line ${ownership.line} leaves it without owners`
          : `its owners (${owners.join(", ")}, ${input.codeowners.path} line ${ownership.line}) cannot satisfy the policy's approvers (${approvers.join(", ")})`;
    problems.push(problem("JIT_NO_ELIGIBLE_OWNER", `${input.requestPath} has no eligible owner: ${why}`, {
      path: input.codeowners?.path ?? input.requestPath, ...(ownership.line !== null ? { line: ownership.line } : {}),
      hint: "give access-requests/ code owners who are also approvers in the policy",
    }));
  }

  // Reads, memoised so each (login, team) and login is asked once per evaluation.
  const membership = new Map<string, Promise<boolean>>();
  const isMember = (login: string, team: string): Promise<boolean> => {
    const key = `${login} ${team}`;
    let p = membership.get(key);
    if (!p) membership.set(key, (p = input.ctx.isTeamMember(login, team)));
    return p;
  };
  const permissions = new Map<string, Promise<Permission>>();
  const permissionOf = (login: string): Promise<Permission> => {
    let p = permissions.get(login);
    if (!p) permissions.set(login, (p = input.ctx.permission(login)));
    return p;
  };
  const anyMember = async (login: string, teams: readonly string[]): Promise<string | null> => {
    for (const t of teams) if (await isMember(login, t)) return t;
    return null;
  };
  /** Null when eligible, otherwise why not. */
  const ineligibility = async (login: string): Promise<{ code: ExclusionCode; reason: string } | null> => {
    const owner = ownerUsers.has(login) || (await anyMember(login, ownerTeams)) !== null;
    if (!owner) return { code: "JIT_APPROVER_NOT_OWNER", reason: `not a code owner of ${input.requestPath} (owners: ${owners.join(", ") || "none"})` };
    const approver = approverLogins.has(login) || (await anyMember(login, approverTeams)) !== null;
    if (!approver) return { code: "JIT_APPROVER_NOT_OWNER", reason: `a code owner, but not among the policy's approvers (${approvers.join(", ")})` };
    const permission = await permissionOf(login);
    if (!WRITE.has(permission)) return { code: "JIT_APPROVER_NO_WRITE_ACCESS", reason: `repository permission is ${permission}; write, maintain or admin is required` };
    return null;
  };

  const author = lower(input.author);
  const beneficiaries = new Set(input.beneficiaries.map(lower));
  const contributors = contributorLogins(input.commits);
  const pushers = pusherLogins(input.pushers);
  problems.push(...unattributedCommits(input.commits, input.requestPath));

  const counted: CountedApproval[] = [];
  const excluded: ApprovalExclusion[] = [];
  const blockedBy: { login: string; reviewId: number }[] = [];

  // At merge, a review submitted after merged_at (or without a readable time) is not part of the
  // decision at all: it neither approves nor changes the reviewer's earlier standing.
  const mergedAtMs = input.at.mode === "merge" ? (parseUtcTimestamp(input.at.mergedAt) ?? Number.NaN) : null;
  const inTime: Review[] = [];
  for (const r of input.reviews) {
    const t = submittedMs(r);
    if (mergedAtMs === null || (t !== null && !Number.isNaN(mergedAtMs) && t <= mergedAtMs)) inTime.push(r);
    else if (r.state === "APPROVED") {
      excluded.push({ login: lower(r.user.login), reviewId: r.id, code: "JIT_APPROVAL_AFTER_MERGE", reason: `submitted ${r.submittedAt ?? "at an unknown time"}, after the merge at ${input.at.mode === "merge" ? input.at.mergedAt : "?"}` });
    }
  }
  const reference = input.at.mode === "merge" ? mergedAtMs! : input.at.now;
  const maxAge = input.requirement.maxApprovalAgeMs;

  for (const [login, review] of latestDecisiveReviews(inTime)) {
    if (review.state === "DISMISSED") {
      excluded.push({ login, reviewId: review.id, code: "JIT_APPROVAL_DISMISSED", reason: "the review was dismissed" });
      continue;
    }
    if (isBot(review.user)) {
      if (review.state === "APPROVED") excluded.push({ login, reviewId: review.id, code: "JIT_APPROVER_IS_BOT", reason: "bots never approve" });
      continue;
    }
    if (review.state === "CHANGES_REQUESTED") {
      // Identity exclusions stop someone from approving, not from objecting: an eligible owner's
      // objection blocks even when that owner also pushed a commit.
      if ((await ineligibility(login)) === null) blockedBy.push({ login, reviewId: review.id });
      continue;
    }
    if (review.state !== "APPROVED") continue;
    const exclude = (code: ExclusionCode, reason: string) => excluded.push({ login, reviewId: review.id, code, reason });
    const submitted = submittedMs(review);
    if (login === author) exclude("JIT_APPROVER_IS_AUTHOR", "the pull request author cannot approve their own request");
    else if (beneficiaries.has(login)) exclude("JIT_APPROVER_IS_BENEFICIARY", "this login is mapped to the database user that gets the access");
    else if (contributors.has(login)) exclude("JIT_APPROVER_IS_CONTRIBUTOR", `authored, committed or co-authored a commit of this pull request (${contributors.get(login)})`);
    else if (pushers.has(login)) exclude("JIT_APPROVER_IS_PUSHER", pushers.get(login)!);
    else if (review.commitId !== input.headSha) exclude("JIT_APPROVAL_STALE", `approved ${review.commitId.slice(0, 12)}, not the head ${input.headSha.slice(0, 12)}`);
    else if (maxAge !== undefined && (submitted === null || reference - submitted > maxAge)) {
      exclude("JIT_APPROVAL_TOO_OLD", `submitted ${review.submittedAt ?? "at an unknown time"}, more than max_approval_age ${formatDuration(maxAge)} before ${input.at.mode === "merge" ? "the merge" : "now"}`);
    } else {
      const why = await ineligibility(login);
      if (why) exclude(why.code, why.reason);
      else counted.push({ login, reviewId: review.id, commitId: review.commitId });
    }
  }

  for (const b of blockedBy) {
    problems.push(problem("JIT_CHANGES_REQUESTED", `@${b.login}, an eligible owner, requested changes (review ${b.reviewId})`, {
      path: input.requestPath, hint: "address the review; the reviewer must approve or the review be dismissed",
    }));
  }
  if (counted.length < required) {
    const notCounted = excluded.length > 0 ? `; not counted: ${excluded.map((x) => `@${x.login} (${x.code})`).join(", ")}` : "";
    problems.push(problem("JIT_APPROVALS_MISSING", `${counted.length} of ${required} required approval${required === 1 ? "" : "s"} from eligible owners (${eligibleOwners.join(", ") || "none"}) on ${input.headSha.slice(0, 12)}${notCounted}`, {
      path: input.requestPath, hint: "an eligible code owner who did not write or benefit from the request must approve the latest commit",
    }));
  }
  if (problems.length > 0) {
    // Why each review did not count, next to the reason the decision failed.
    // A dismissed review is only listed in the result: nothing to fix but to approve again.
    for (const x of excluded.filter((e) => e.code !== "JIT_APPROVAL_DISMISSED")) {
      problems.push(problem(x.code, `@${x.login}'s approval does not count: ${x.reason}`, { path: input.requestPath }));
    }
  }

  const result: ApprovalResult = {
    required,
    approvals: counted.length,
    codeownersPath: input.codeowners?.path ?? null,
    ownersLine: ownership.line,
    owners,
    policyApprovers: approvers,
    eligibleOwners,
    counted,
    excluded,
    blockedBy,
  };
  const who = counted.map((c) => `@${c.login}`).join(", ");
  return decide(result, problems, `approved by ${who} (${counted.length} of ${required} required)`);
}

/** A review's `submitted_at` in ms, or null when absent or not RFC 3339 UTC (then it is never in time). */
function submittedMs(r: Review): number | null {
  return parseUtcTimestamp(r.submittedAt);
}

/** Recorded pushers by login, with what they did (the first record per login). */
export function pusherLogins(pushers: readonly Pusher[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of pushers) {
    const what = p.action === "edited" ? "changed the pull request's base branch" : `pushed to the head branch (${p.action}, head ${p.headSha.slice(0, 12)})`;
    if (!out.has(lower(p.login))) out.set(lower(p.login), what);
  }
  return out;
}

/**
 * Commits whose author or committer GitHub did not link to an account, or with a co-author trailer
 * whose email resolves to no account (a trailer's name is free text, never proof): nobody can tell
 * whether the person behind them is the approver, so the decision fails closed until it is linked.
 */
export function unattributedCommits(commits: readonly PullRequestCommit[], path: string): Problem[] {
  const out: Problem[] = [];
  const linked = linkedEmails(commits);
  for (const c of commits) {
    const unlinked = (["author", "committer"] as const).filter((k) => !c[k].login).map((k) => `${k} ${c[k].name ?? "?"} <${c[k].email ?? "?"}>`);
    const resolved = new Set((c.coAuthors ?? []).filter((co) => co.login).map((co) => lower(co.email)));
    for (const co of parseCoAuthors(c.message)) {
      if (!noreplyLogin(co.email) && !linked.has(lower(co.email)) && !resolved.has(lower(co.email))) unlinked.push(`co-author ${co.name || "?"} <${co.email || "?"}>`);
    }
    if (unlinked.length === 0) continue;
    out.push(problem("JIT_COMMIT_UNATTRIBUTED", `commit ${c.sha.slice(0, 12)}: ${unlinked.join(" and ")} is not linked to any GitHub account, so the app cannot prove who made it`, {
      path, hint: "add that email to the GitHub account of whoever made the commit (and verify it), or re-push the commit with an email linked to your account (a co-author: their users.noreply.github.com address)",
    }));
  }
  return out;
}

/** Emails GitHub linked to accounts on these very commits, with the login. */
function linkedEmails(commits: readonly PullRequestCommit[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of commits) {
    for (const a of [c.author, c.committer]) if (a.email && a.login) out.set(lower(a.email), lower(a.login));
  }
  return out;
}

/**
 * Each reviewer's latest APPROVED / CHANGES_REQUESTED / DISMISSED review, in login order. COMMENTED
 * and PENDING reviews never change a reviewer's standing, as on GitHub.
 */
export function latestDecisiveReviews(reviews: readonly Review[]): Map<string, Review> {
  const ordered = [...reviews].sort((a, b) => cmp(timeKey(a), timeKey(b)) || a.id - b.id);
  const latest = new Map<string, Review>();
  for (const r of ordered) if (DECISIVE.has(r.state)) latest.set(lower(r.user.login), r);
  return new Map([...latest].sort(([a], [b]) => cmp(a, b)));
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Sortable form of an RFC 3339 UTC timestamp; a review without a valid one sorts last (the most conservative). */
function timeKey(r: Review): string {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(r.submittedAt ?? "");
  return m ? `${m[1]}.${(m[2] ?? "").padEnd(9, "0")}` : "~";
}

/** Logins of everyone who authored, committed or co-authored a commit, with a word on how. */
export function contributorLogins(commits: readonly PullRequestCommit[]): Map<string, string> {
  const out = new Map<string, string>();
  const add = (login: string | undefined, how: string) => {
    if (login && !out.has(lower(login))) out.set(lower(login), how);
  };
  // Emails GitHub linked to accounts on these very commits resolve co-author trailers too.
  const emailLogin = linkedEmails(commits);
  for (const c of commits) {
    const short = c.sha.slice(0, 12);
    add(c.author.login, `author of ${short}`);
    add(c.committer.login, `committer of ${short}`);
    add(noreplyLogin(c.author.email), `author of ${short}`);
    add(noreplyLogin(c.committer.email), `committer of ${short}`);
    for (const co of [...parseCoAuthors(c.message), ...(c.coAuthors ?? [])]) {
      const how = `co-author of ${short}`;
      add(co.login, how);
      add(noreplyLogin(co.email), how);
      add(emailLogin.get(lower(co.email)), how);
      // A trailer naming a login is taken at its word: excluding too many is the safe direction.
      if (/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(co.name)) add(co.name, how);
    }
  }
  return out;
}

/** "12345+login@users.noreply.github.com" or "login@users.noreply.github.com" -> login. */
function noreplyLogin(email: string | undefined): string | undefined {
  const m = /^(?:\d+\+)?([A-Za-z0-9][A-Za-z0-9_-]*)@users\.noreply\.github\.com$/i.exec(email ?? "");
  return m ? m[1] : undefined;
}
