// What the app does about a merged PR, a deletion pushed to the default branch, a due grant or an
// operator's `jit revoke`, decided in one place and purely: the use cases gather facts (the PR
// evaluation, the ledger, revoke_by authority), this module turns them into one explicit action,
// and usecases/apply-action.ts is the only code that carries an action out. Nothing outside the
// core steers by problem codes or message text: the action says whether a refusal is an incident
// (alert) and whether it is final (recorded, so a redelivery does nothing) or may pass when retried.
import { refusalClass, refusalClassOf } from "./refusal-class.ts";
import type { JitCode } from "./codes.ts";
import type { ApprovalResult } from "./approval.ts";
import { problem, type Decision, type Problem } from "./problem.ts";
import type { PullRequestEvaluation } from "./pull-request.ts";
import { isRequestPullRequest, knownAccounts } from "./report.ts";
import type { EarlyRevokeAuthority } from "./revoke-authority.ts";
import type { AccessRequest, Policy, PolicyEvaluation } from "./types.ts";

/** One request: the ledger's key. */
export interface GrantKey {
  repository: string;
  database: string;
  requestId: string;
}

/** What caused the action; decides its effects (a comment on the PR, an alert, a revert PR). */
export type Origin =
  | { via: "merge"; repository: string; pr: number }
  | { via: "push"; repository: string; commit: string; branch: string; path: string }
  | { via: "expiry" }
  | { via: "operator" }
  /** A scheduled start activated by the scheduler (re-verified at activation). */
  | { via: "schedule"; repository: string; pr: number }
  /** A break-glass grant on an open PR, or its revoke at the retro-approval deadline. */
  | { via: "break-glass"; repository: string; pr: number };

/** A PR evaluation with everything a grant or an extension needs. */
export type ReadyEvaluation = PullRequestEvaluation & { policy: PolicyEvaluation; request: AccessRequest; basePolicy: Policy; approval: ApprovalResult };

export interface GrantAction {
  kind: "grant";
  why: string;
  origin: Origin & { via: "merge" };
  key: GrantKey;
  evaluation: ReadyEvaluation;
  approvers: string[];
  /** Who, as the ledger records it. */
  actor: string;
}

export interface ExtendAction extends Omit<GrantAction, "kind"> {
  kind: "extend";
  /** An overlapping request (another id) extending the held grant `key` to this duration, never shorter (docs/lifecycle.md). */
  overlap?: { durationMs: number; requestId: string };
}

export interface RevokeAction {
  kind: "revoke";
  why: string;
  origin: Origin;
  key: GrantKey;
  /** The ledger row, when known (the sweep's batches revoke by id). */
  ledgerId?: number;
  /** Recorded as the ledger's revoke_reason. */
  reason: string;
  actor: string;
  /** The policy to connect with; null: the grant's recorded connection variable decides (I15). */
  policy: Policy | null;
  /**
   * "pending": a deletion that revoke_by has not allowed yet (authorizeEarlyRevoke decides);
   * the applier refuses to run it. "allowed": expiry, an operator, or revoke_by said yes.
   */
  authority: "pending" | "allowed";
  /** A failed revoke is thrown (the delivery is retried) rather than reported. */
  retryOnFailure: boolean;
  /** A break-glass grant past its deadline: the texts of its comment and alert, and its PR is closed. */
  breakGlass?: { requester: string; deadline: number };
}

/** What a refusal is about: the texts and the effects differ. */
export type RefusalSubject =
  | { kind: "request"; known: readonly string[]; /** The PR author as the API reported it (mentioned, I19). */ requester?: string }
  | { kind: "early-revoke"; grant: string }
  | { kind: "revoke"; grant: string };

export interface RefuseAction {
  kind: "refuse";
  why: string;
  origin: Origin;
  code: JitCode;
  problems: Problem[];
  subject: RefusalSubject;
  /** The owners are alerted (a jit-alert issue), not only told on the PR. */
  incident: boolean;
  /** Recorded as the merge's outcome; false: may pass when retried (a target down, a variable not set yet). */
  final: boolean;
}

export interface IgnoreAction {
  kind: "ignore";
  why: string;
  /** false: nothing is recorded, so the real event is still handled when it comes. */
  final: boolean;
}

/**
 * A grant no merge made: a scheduled start (eligibility re-verified at activation) or a break-glass
 * grant on an open PR. The caller has decided; the applier runs the GRANT and lists the effects.
 */
export interface StartAction {
  kind: "start";
  why: string;
  origin: { via: "schedule" | "break-glass"; repository: string; pr: number };
  key: GrantKey;
  /** The policy the engine connects with. */
  policy: Policy;
  grant: { path: string; headSha: string; mergeSha: string | null; approvers: string[]; role: string; dbUser: string; durationMs: number;
    /** I17: the window's anchor (a scheduled start's starts_at); absent: now. */
    anchoredAt?: string };
  actor: string;
  /** For the effects' texts: the scheduled start, or the break-glass requester and deadline. */
  notice: { startsAt: number } | { requester: string; deadline: number };
}

export type Action = GrantAction | ExtendAction | RevokeAction | RefuseAction | IgnoreAction | StartAction;


export const NOT_MERGED = "the API does not show the pull request as merged";
export const NOT_A_REQUEST = "not a request pull request";

/** A refusal, classified: whether it alerts and whether it is final follow from its code. */
export function refusal(origin: Origin, code: JitCode, problems: Problem[], subject: RefusalSubject): RefuseAction {
  const early = subject.kind === "early-revoke";
  return {
    kind: "refuse", why: early ? "revoke_by does not allow this early revoke" : `refused: ${code}`, origin, code, problems, subject,
    // The class of each code: REFUSAL_CLASS in codes.ts (transient, benign, else incident).
    incident: early || refusalClassOf(problems.length ? problems.map((p) => p.code) : [code]) === "incident",
    final: early || refusalClass(code) !== "transient",
  };
}

const has = (d: Decision<unknown>, code: JitCode) => d.problems.some((p) => p.code === code);

function ready(e: PullRequestEvaluation): e is ReadyEvaluation {
  return e.policy !== null && e.request !== null && e.basePolicy !== null && e.approval !== null;
}

/**
 * A merged PR's action, from its re-verification at the merge commit (I1). `decision` already
 * carries I10's key authority. A deletion of an active request becomes a revoke whose authority is
 * still pending: the caller asks revoke_by (authorizeEarlyRevoke) before anything is applied.
 */
export function mergeAction(decision: Decision<PullRequestEvaluation>, repository: string): Action {
  const e = decision.details;
  const pr = e.pullRequest.number;
  const origin = { via: "merge" as const, repository, pr };
  const actor = `github:merge:${repository}#${pr}`;
  // A stale or mistaken event for a PR the API does not show as merged: nothing to do, nothing to
  // say, and nothing recorded, so the real merge is handled when it happens.
  if (has(decision, "JIT_PR_NOT_MERGED")) return { kind: "ignore", why: NOT_MERGED, final: false };
  // Deleting an active request only ever reduces privilege: revoke whatever else the PR did (but
  // only for a PR into the default branch: elsewhere the file is still there). A key another
  // access repository owns is never revoked from here (I10).
  const wrongBase = has(decision, "JIT_PR_BASE_NOT_DEFAULT") || has(decision, "JIT_REPO_KEY_NOT_BOUND");
  if (e.kind === "revoke" && e.database && e.requestId && e.basePolicy && !wrongBase) {
    return {
      kind: "revoke", why: "the merged PR deletes an active request", origin, key: { repository, database: e.database, requestId: e.requestId },
      reason: `early revoke: request file deleted by pull request #${pr}`, actor, policy: e.basePolicy, authority: "pending", retryOnFailure: true,
    };
  }
  if (!isRequestPullRequest(decision) || (decision.ok && e.kind === "none")) return { kind: "ignore", why: NOT_A_REQUEST, final: true };
  if (!decision.ok || !ready(e)) return refusal(origin, decision.code, decision.problems, { kind: "request", known: [...knownAccounts(e)], requester: e.requester });
  const common = {
    origin, key: { repository, database: e.policy.database, requestId: e.request.requestId }, evaluation: e,
    // An auto_approve rule of the base policy stands in for reviewers: the ledger records which one.
    approvers: e.autoApproval?.matched ? [`auto_approve[${e.autoApproval.matched.index}]`] : e.approval.counted.map((c) => c.login), actor,
  };
  return e.kind === "extension"
    ? { kind: "extend", why: "the merged PR changes the duration of an active request", ...common }
    : { kind: "grant", why: "the merged PR adds a valid, approved request", ...common };
}

/** A deletion pushed to the default branch without a PR (facts from the ledger and the policy at the pushed commit). */
export function pushDeletionAction(o: {
  origin: Origin & { via: "push" }; key: GrantKey; active: boolean; ownedElsewhere: boolean; policy: Policy | null;
}): RevokeAction | IgnoreAction {
  if (!o.active) return { kind: "ignore", why: "no active grant for the deleted file", final: true };
  if (o.ownedElsewhere) return { kind: "ignore", why: "another access repository owns the key (I10)", final: true };
  if (!o.policy) return { kind: "ignore", why: "no policy at the pushed commit", final: true };
  return {
    kind: "revoke", why: "a push deletes an active request", origin: o.origin, key: o.key, policy: o.policy,
    reason: `early revoke: request file deleted by push ${o.origin.commit.slice(0, 12)}`, actor: `github:push:${o.origin.repository}@${o.origin.commit}`,
    authority: "pending", retryOnFailure: false,
  };
}

/** revoke_by's answer for a pending early revoke: the revoke may run, or it is refused (the grant ends at its expiry). */
export function authorizeEarlyRevoke(a: RevokeAction, authority: Decision<EarlyRevokeAuthority>): RevokeAction | RefuseAction {
  if (authority.ok) return { ...a, authority: "allowed" };
  return refusal(a.origin, "JIT_REVOKE_NOT_AUTHORIZED", authority.problems, { kind: "early-revoke", grant: `${a.key.database}/${a.key.requestId}` });
}

/**
 * I15: a revoke whose grant recorded its connection variable needs no policy at all; when no policy
 * defines the grant's database any more (key deleted, repository gone) it runs with this one, which
 * names no database: the engine connects through the recorded variable, or any configured one that
 * reaches the recorded cluster.
 */
export const NO_POLICY: Policy = { databases: {}, identities: {} };

/** The ledger's revoke reason for expiry; also how a revert PR is recognised as due. */
export const EXPIRY_REASON = "expired";

/**
 * A due grant (the database clock says so). I15: when no policy defines its database any more the
 * revoke still runs through the grant's recorded connection variable, as long as this sweeper
 * serves the grant's repository at all.
 */
export function expiryAction(due: { ledgerId: number; key: GrantKey; connectionEnv: string | null }, policy: Decision<Policy | null>, serves: boolean, actor: string): RevokeAction | RefuseAction {
  const base = { kind: "revoke" as const, why: "the grant is past its expiry", origin: { via: "expiry" as const }, key: due.key, ledgerId: due.ledgerId,
    reason: EXPIRY_REASON, actor, authority: "allowed" as const, retryOnFailure: false };
  if (policy.ok && policy.details) return { ...base, policy: policy.details };
  if (due.connectionEnv && serves) return { ...base, policy: null };
  const problems = policy.problems.length ? policy.problems : [problem("JIT_POLICY_UNAVAILABLE", `no policy defines database "${due.key.database}"`)];
  return refusal({ via: "expiry" }, problems[0]!.code, problems, { kind: "revoke", grant: `${due.key.database}/${due.key.requestId}` });
}

/** `jit revoke`: revoking only ever reduces privilege, so an operator needs no approval; the reason and the caller are recorded. */
export function operatorRevokeAction(key: GrantKey, reason: string, actor: string, policy: Policy): RevokeAction {
  return { kind: "revoke", why: "an operator revokes", origin: { via: "operator" }, key, reason, actor, policy, authority: "allowed", retryOnFailure: false };
}

/** A due scheduled grant, re-verified: granted for its window from starts_at (I17). */
export function scheduledStartAction(row: GrantKey & { prNumber: number; path: string; headSha: string; mergeSha: string | null; role: string; dbUser: string; durationMs: number; startsAt: Date },
  policy: Policy, approvers: string[], actor: string): StartAction {
  return {
    kind: "start", why: "a scheduled start is due and re-verified", origin: { via: "schedule", repository: row.repository, pr: row.prNumber },
    key: { repository: row.repository, database: row.database, requestId: row.requestId }, policy, actor, notice: { startsAt: row.startsAt.getTime() },
    grant: { path: row.path, headSha: row.headSha, mergeSha: row.mergeSha, approvers, role: row.role, dbUser: row.dbUser, durationMs: row.durationMs, anchoredAt: row.startsAt.toISOString() },
  };
}

/** A break-glass grant on an open PR: no approvers, no merge commit; the deadline is the reservation's. */
export function breakGlassAction(o: { key: GrantKey; pr: number; policy: Policy; path: string; headSha: string; role: string; dbUser: string; durationMs: number; requester: string; deadline: number }): StartAction {
  return {
    kind: "start", why: "break-glass on an open request PR", origin: { via: "break-glass", repository: o.key.repository, pr: o.pr }, key: o.key, policy: o.policy,
    actor: `github:break-glass:${o.key.repository}#${o.pr}`, notice: { requester: o.requester, deadline: o.deadline },
    grant: { path: o.path, headSha: o.headSha, mergeSha: null, approvers: [], role: o.role, dbUser: o.dbUser, durationMs: o.durationMs },
  };
}

/** A break-glass grant never confirmed by an approved merge before its deadline: revoked, its PR closed, the owners alerted. */
export function breakGlassExpiryAction(row: GrantKey & { prNumber: number; requester: string; deadline: Date }, policy: Policy, actor: string): RevokeAction {
  return {
    kind: "revoke", why: "a break-glass grant passed its retro-approval deadline", origin: { via: "break-glass", repository: row.repository, pr: row.prNumber },
    key: { repository: row.repository, database: row.database, requestId: row.requestId }, policy, actor, authority: "allowed", retryOnFailure: false,
    reason: "break-glass: no eligible approval and merge before the retro-approval deadline", breakGlass: { requester: row.requester, deadline: row.deadline.getTime() },
  };
}
