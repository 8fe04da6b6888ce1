// Scheduled start: at starts_at (database clock, on the second through the scheduler's timer) the
// leader re-verifies each due scheduled grant and grants it through the engine. Re-verified at
// activation, never taken from the merge: the policy at the default branch's head (read fresh, no
// cached or fallback policy: eligibility fails closed), the requester's eligibility with team
// membership read now, the approvals recorded at merge against today's approvers (an approval does
// not outlive a policy change that removed eligibility), the repository's authority over the key
// (I10); then the engine's own checks: role purity over its closure (I14), no existing access (I7),
// the login bound by OID at check time (I16). The window is start..start + duration (the engine
// anchors it at start like a merge time, I17), so a start handled late grants only what is left.
import type pg from "pg";
import type { JitCode } from "../core/codes.ts";
import { evaluatePolicy } from "../core/evaluate-policy.ts";
import { problem, type Problem } from "../core/problem.ts";
import { ALL_REPOSITORIES, keyAuthority } from "../core/repositories.ts";
import { recheckApprovers } from "../core/schedule.ts";
import { scheduleRefusedComment } from "../core/schedule-messages.ts";
import type { AccessRequest, Policy } from "../core/types.ts";
import { getByKey } from "../db/ledger.ts";
import { commentOnce } from "../usecases/github-effects.ts";
import { closeScheduled, lockDue, windowPassed, type ScheduledRow } from "../db/scheduled.ts";
import { inTransaction } from "../db/state.ts";
import { breakGlassExpiryAction, NO_POLICY, scheduledStartAction } from "../core/action.ts";
import { effectsOf, type Effect } from "../core/action-effects.ts";
import { applyAction, applyRevokes, carryOut, type ActionEngine, type ApplyEnv } from "../usecases/apply-action.ts";
import type { GitHubAccess } from "../github/installations.ts";
import { repoRefOf } from "../github/installations.ts";
import type { Octokit } from "../github/octokit.ts";
import { policyAt } from "../github/policy-at.ts";
import { OctokitPullRequestContext } from "../github/pr-context.ts";
import type { Md } from "../core/inert.ts";
import type { Alerter, SchedulerLogger } from "./alerter.ts";
import type { PolicySource } from "./policy-source.ts";
import { lockExpiredBreakGlass, markBreakGlassExpired, type BreakGlassRow } from "../db/break-glass.ts";
import { appendEvent } from "../db/events.ts";
import { dashboardChanged } from "../usecases/pending.ts";

/** Refusals that may pass on a later pass (a target down): the row stays scheduled. */
const TRANSIENT: ReadonlySet<string> = new Set<JitCode>(["JIT_DB_UNREACHABLE", "JIT_CONFIG_MISSING_ENV"]);

export interface ActivationDeps {
  state: pg.Pool;
  /** Grants and revokes go through the one applier (usecases/apply-action.ts). */
  engines: { engine(policy: Policy): ActionEngine };
  github: GitHubAccess;
  log: SchedulerLogger;
  actor: string;
  /** App clock, for the relative times of comments only. */
  now?: () => number;
  /** Break-glass deadlines: the policy that connects to a grant's database, and the alert path. */
  policies?: Pick<PolicySource, "policyFor">;
  alerter?: Alerter;
  revokeEngines?: { engine(policy: Policy): ActionEngine };
}

/** The applier's environment inside a row's transaction: no GitHub (effects are carried out after the COMMIT). */
const applyEnv = (deps: ActivationDeps, engines: { engine(policy: Policy): ActionEngine }): ApplyEnv =>
  ({ state: deps.state, log: deps.log, engine: (p) => engines.engine(p), now: () => deps.now?.() ?? Date.now() });

export interface ActivationReport {
  activated: { id: number; repository: string; database: string; requestId: string; expiresAt: string }[];
  refused: { id: number; repository: string; database: string; requestId: string; code: string }[];
  /** Left scheduled for the next pass (GitHub or a target unreachable). */
  retried: { id: number; error: string }[];
}

type Verdict = { ok: true; policy: Policy; approvers: string[] } | { ok: false; code: JitCode; problems: Problem[] };

/** One pass: every due scheduled grant, one transaction (row lock) each, at most `limit`. */
export async function activateDue(deps: ActivationDeps, limit = 50): Promise<ActivationReport> {
  const report: ActivationReport = { activated: [], refused: [], retried: [] };
  const skip = new Set<number>();
  for (let i = 0; i < limit; i++) {
    let row: ScheduledRow | undefined;
    try {
      const outcome = await inTransaction(deps.state, async (client) => {
        row = (await lockDue(client, 1 + skip.size)).find((r) => !skip.has(r.id));
        return row ? activateOne(deps, client, row) : null;
      });
      if (!outcome || !row) break;
      const done: ScheduledRow = row;
      if (outcome.kind === "activated") report.activated.push({ ...keyOf(done), id: done.id, expiresAt: outcome.expiresAt.toISOString() });
      else report.refused.push({ ...keyOf(done), id: done.id, code: outcome.code });
      await comment(deps, done, outcome);
      await dashboard(deps, done.repository);
    } catch (e) {
      const failed = row as ScheduledRow | undefined;
      if (!failed) throw e;
      skip.add(failed.id); // not again in this pass; the next pass retries
      report.retried.push({ id: failed.id, error: (e as Error).message });
      deps.log.warn({ scheduled: failed.id, database: failed.database, requestId: failed.requestId, error: (e as Error).message }, "scheduled grant not activated yet; retried on the next pass");
    }
  }
  return report;
}

const keyOf = (r: ScheduledRow) => ({ repository: r.repository, database: r.database, requestId: r.requestId });

type Outcome = { kind: "activated"; expiresAt: Date } | { kind: "refused"; code: JitCode; problems: Problem[] };

async function activateOne(deps: ActivationDeps, client: pg.PoolClient, row: ScheduledRow): Promise<Outcome> {
  const close = async (o: Outcome): Promise<Outcome> => {
    await closeScheduled(client, row.id, o.kind === "activated"
      ? { status: "activated", reason: `granted until ${o.expiresAt.toISOString()}`, actor: deps.actor }
      : { status: "refused", code: o.code, reason: o.problems.map((p) => p.message).join("; ").slice(0, 2000), actor: deps.actor });
    return o;
  };
  // A previous pass granted (or refused in the engine) and stopped before closing this row.
  const done = await getByKey(client, row);
  if (done && done.status !== "intent") {
    return close(done.status === "active" || done.status === "revoked"
      ? { kind: "activated", expiresAt: done.expiresAt ?? new Date(0) }
      : { kind: "refused", code: (done.failureCode as JitCode | null) ?? "JIT_GRANT_FAILED", problems: [problem((done.failureCode as JitCode | null) ?? "JIT_GRANT_FAILED", "the grant was refused at the start")] });
  }
  if (await windowPassed(client, row)) {
    return close({ kind: "refused", code: "JIT_WINDOW_PASSED", problems: [problem("JIT_WINDOW_PASSED", `the window ${row.startsAt.toISOString()} + ${row.duration} passed before the scheduled grant could be activated; nothing granted`)] });
  }
  const verdict = await reverify(deps, row);
  if (!verdict.ok) return close({ kind: "refused", code: verdict.code, problems: verdict.problems });
  const granted = (await applyAction(applyEnv(deps, deps.engines), scheduledStartAction(row, verdict.policy, verdict.approvers, deps.actor))).grant!;
  if (!granted.ok) {
    if (TRANSIENT.has(granted.code)) throw Object.assign(new Error(`${granted.code}: ${granted.message}`), { code: granted.code });
    return close({ kind: "refused", code: granted.code as JitCode, problems: granted.problems });
  }
  deps.log.info({ scheduled: row.id, database: row.database, requestId: row.requestId, role: row.role, dbUser: row.dbUser,
    expiresAt: granted.details.row?.expiresAt?.toISOString() }, "granted at the scheduled start");
  return close({ kind: "activated", expiresAt: granted.details.row!.expiresAt! });
}

/** Everything that decides eligibility, read now. A GitHub read failure throws (retried; nothing granted). */
async function reverify(deps: ActivationDeps, row: ScheduledRow): Promise<Verdict> {
  const refuse = (p: Problem): Verdict => ({ ok: false, code: p.code as JitCode, problems: [p] });
  const authority = keyAuthority(deps.github.repositories ?? ALL_REPOSITORIES, row.repository, row.database); // I10
  if (authority) return refuse(authority);
  const ref = repoRefOf(row.repository);
  const octokit: Octokit = await deps.github.octokitFor(row.repository);
  const { data: repo } = await octokit.rest.repos.get({ ...ref });
  const { data: head } = await octokit.rest.git.getRef({ ...ref, ref: `heads/${repo.default_branch}` });
  const read = await policyAt(octokit, ref, head.object.sha);
  if (!read.ok || !read.details) return { ok: false, code: "JIT_POLICY_INVALID", problems: read.problems.length ? read.problems : [problem("JIT_POLICY_INVALID", "the policy at the default branch could not be read")] };
  const policy = read.details;

  const request: AccessRequest = {
    path: row.path, database: row.database, requestId: row.requestId, role: row.role, duration: row.duration, durationMs: row.durationMs,
    reason: row.reason, ...(row.ticket !== null ? { ticket: row.ticket } : {}),
  };
  // Team membership through the PR context's reads (one per team, unknown never counts).
  const ctx = new OctokitPullRequestContext(octokit, ref, row.prNumber, async () => ({ status: "none" }), async () => []);
  const role = Object.hasOwn(policy.databases, row.database) && Object.hasOwn(policy.databases[row.database]!.roles, row.role)
    ? policy.databases[row.database]!.roles[row.role] : undefined;
  const requesterTeams = new Set<string>();
  for (const t of (role?.requesters ?? []).filter((r) => r.startsWith("@"))) if (await ctx.isTeamMember(row.requester, t)) requesterTeams.add(t);
  const evaluated = evaluatePolicy({ request, policy, requester: row.requester, requesterTeams });
  if (!evaluated.ok || !evaluated.details || !role) return { ok: false, code: (evaluated.problems[0]?.code as JitCode | undefined) ?? "JIT_ROLE_NOT_ALLOWED", problems: evaluated.problems };
  if (evaluated.details.dbUser !== row.dbUser) {
    return refuse(problem("JIT_USER_NOT_ALLOWED", `${row.requester} now maps to database login ${evaluated.details.dbUser}, not ${row.dbUser} as at merge`));
  }
  const teamsOf = new Map<string, Set<string>>();
  for (const login of row.approvers) {
    const mine = new Set<string>();
    for (const t of role.approvers.filter((a) => a.startsWith("@"))) if (await ctx.isTeamMember(login, t)) mine.add(t);
    teamsOf.set(login.toLowerCase(), mine);
  }
  const approvals = recheckApprovers({ approvers: row.approvers, policyApprovers: role.approvers, required: role.approvals, teamsOf });
  if (approvals.problem) return refuse(approvals.problem);
  return { ok: true, policy, approvers: approvals.still };
}

/** Debounced refresh of the repository's dashboard (only an access repository the operator named, I10); never fails the pass. */
async function dashboard(deps: ActivationDeps, repository: string): Promise<void> {
  await dashboardChanged({ state: deps.state, repositories: deps.github.repositories ?? ALL_REPOSITORIES }, repository)
    .catch((e: unknown) => deps.log.warn({ repository, error: (e as Error).message }, "could not queue the dashboard refresh"));
}

/** The outcome on the request PR, once, through the outbox (its drain retries a failed post). */
async function comment(deps: ActivationDeps, row: ScheduledRow, o: Outcome): Promise<void> {
  if (keyAuthority(deps.github.repositories ?? ALL_REPOSITORIES, row.repository, row.database)) return; // I10: never written to a foreign repository
  const now = deps.now?.() ?? row.startsAt.getTime();
  try {
    const target = { octokit: await deps.github.octokitFor(row.repository), ref: repoRefOf(row.repository) };
    if (o.kind === "activated") {
      // The applier's effect for a start, with the approvals as recorded at merge.
      const action = scheduledStartAction(row, NO_POLICY, row.approvers, deps.actor);
      await carryOut({ ...applyEnv(deps, deps.engines), github: target }, effectsOf({ kind: "started", action, expiresAt: o.expiresAt.getTime() }, now));
      return;
    }
    const body: Md = scheduleRefusedComment({ requestId: row.requestId, database: row.database, startsAt: row.startsAt.getTime() }, o.code, o.problems, now);
    await commentOnce(deps.state, target, { pr: row.prNumber, key: `schedule-refused:${row.repository}:${row.database}/${row.requestId}`, body });
  } catch (e) {
    deps.log.warn({ repository: row.repository, pr: row.prNumber, error: (e as Error).message }, "could not comment on the scheduled grant's outcome");
  }
}

/**
 * Break-glass grants past their retro-approval deadline without a confirming merge: revoke (the
 * sweep may have already, at expiry), then close the PR, comment and file an incident issue.
 */
export async function expireBreakGlass(deps: ActivationDeps, limit = 50): Promise<{ expired: number; retried: number }> {
  const out = { expired: 0, retried: 0 };
  if (!deps.policies || !deps.revokeEngines) return out;
  const skip = new Set<number>();
  for (let i = 0; i < limit; i++) {
    let row: BreakGlassRow | undefined;
    let revoked: string | null = null;
    let effects: Effect[] = [];
    try {
      revoked = await inTransaction(deps.state, async (client) => {
        row = (await lockExpiredBreakGlass(client, 1 + skip.size)).find((r) => !skip.has(r.id));
        if (!row) return null;
        const policy = await deps.policies!.policyFor({ repository: row.repository, database: row.database, mergeSha: null });
        if (!policy.ok || !policy.details) throw new Error(policy.message || policy.problems.map((p) => p.message).join("; "));
        const action = breakGlassExpiryAction(row, policy.details, deps.actor);
        const r = (await applyRevokes(applyEnv(deps, deps.revokeEngines!), [action])).results[0]!.applied!.revoke!;
        if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
        await markBreakGlassExpired(client, row.id);
        await appendEvent(client, { repository: row.repository, database: row.database, requestId: row.requestId, actor: deps.actor, kind: "break_glass_expired",
          code: "JIT_BREAK_GLASS_EXPIRED", details: { deadline: row.deadline.toISOString(), prNumber: row.prNumber } });
        effects = effectsOf({ kind: "revoked", action, alreadyClosed: r.details.alreadyClosed, message: r.message, row: null }, deps.now?.() ?? Date.now());
        return "revoked";
      });
    } catch (e) {
      const failed = row as BreakGlassRow | undefined;
      if (!failed) throw e;
      skip.add(failed.id);
      out.retried++;
      deps.log.warn({ breakGlass: failed.id, error: (e as Error).message }, "break-glass deadline not settled yet; retried on the next pass");
      continue;
    }
    const done = row as BreakGlassRow | undefined;
    if (revoked === null || !done) break;
    out.expired++;
    await dashboard(deps, done.repository);
    deps.log.error({ code: "JIT_BREAK_GLASS_EXPIRED", repository: done.repository, database: done.database, requestId: done.requestId, pr: done.prNumber }, "break-glass never approved: revoked, closing the pull request");
    await settleOnGitHub(deps, done, effects).catch((e: unknown) => deps.log.warn({ pr: done.prNumber, error: (e as Error).message }, "could not close the break-glass pull request"));
  }
  return out;
}

/** The applier's effects of the deadline revoke: the alert through the scheduler's alerter, the comment and the close on the PR. */
async function settleOnGitHub(deps: ActivationDeps, row: BreakGlassRow, effects: Effect[]): Promise<void> {
  for (const e of effects) if (e.kind === "alert") await deps.alerter?.alert(row.repository, e.alert);
  if (keyAuthority(deps.github.repositories ?? ALL_REPOSITORIES, row.repository, row.database)) return; // I10
  const github = { octokit: await deps.github.octokitFor(row.repository), ref: repoRefOf(row.repository) };
  await carryOut({ ...applyEnv(deps, deps.engines), github }, effects.filter((e) => e.kind !== "alert"));
}
