// Whom the app asks to review a request PR once it is valid but for approvals: the eligible owners
// (CODEOWNERS ∩ policy approvers with write access). Teams of the repository's organization are
// requested as teams; individuals at most `max`, never the requester, a beneficiary, anyone who
// authored, committed or pushed to the PR (I13), nor someone whose review already counts. Pure.
import type { Decision } from "./problem.ts";
import type { PullRequestEvaluation } from "./pull-request.ts";

export interface ReviewRequestPlan {
  /** Logins, without "@". */
  users: string[];
  /** Team slugs of the repository's organization. */
  teams: string[];
}

/** GitHub accepts at most 15 requested reviewers per pull request. */
export const MAX_REVIEW_REQUESTS = 15;
export const DEFAULT_REVIEW_REQUESTS = 3;

/** The check is only waiting for approvals: everything else about the request is satisfied. */
export function waitsOnlyForApprovals(d: Decision<PullRequestEvaluation>): boolean {
  const e = d.details;
  return (e.kind === "grant" || e.kind === "extension") && e.approval !== null && d.problems.length > 0
    && d.problems.every((p) => p.code === "JIT_APPROVALS_MISSING");
}

/**
 * `excluded`: logins that may never be asked (contributors and pushers of this PR, from the
 * same reads the approval evaluation used); compared case-insensitively.
 */
export function planReviewRequests(e: PullRequestEvaluation, o: { org: string; max: number; excluded: Iterable<string> }): ReviewRequestPlan {
  const a = e.approval;
  if (!a) return { users: [], teams: [] };
  const never = new Set([e.requester, ...e.beneficiaries, ...o.excluded, ...a.counted.map((c) => c.login), ...a.excluded.map((x) => x.login)]
    .map((l) => l.replace(/^@/, "").toLowerCase()));
  const users: string[] = [];
  const teams: string[] = [];
  for (const owner of a.eligibleOwners) {
    const m = /^@([A-Za-z0-9-]+)(?:\/([A-Za-z0-9._-]+))?$/.exec(owner);
    if (!m) continue; // an email owner cannot be requested by login
    const [, first, slug] = m as unknown as [string, string, string | undefined];
    if (slug !== undefined) {
      if (first.toLowerCase() === o.org.toLowerCase() && !teams.includes(slug.toLowerCase())) teams.push(slug.toLowerCase());
    } else if (!never.has(first.toLowerCase()) && !first.toLowerCase().endsWith("[bot]") && users.length < Math.min(o.max, MAX_REVIEW_REQUESTS)
      && !users.some((u) => u.toLowerCase() === first.toLowerCase())) {
      users.push(first);
    }
  }
  return { users, teams: teams.slice(0, MAX_REVIEW_REQUESTS - users.length) };
}

/** JIT_REVIEW_REQUESTS: how many individuals at most (0 asks teams only); undefined → the default. */
export function parseReviewRequestMax(raw: string | undefined): number | null {
  if (raw === undefined || raw === "") return DEFAULT_REVIEW_REQUESTS;
  if (!/^\d{1,2}$/.test(raw)) return null;
  const n = Number(raw);
  return n <= MAX_REVIEW_REQUESTS ? n : null;
}
