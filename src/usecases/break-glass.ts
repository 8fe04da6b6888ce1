// Break-glass on an open request PR: granted at once, without merge or approval, loudly, when the
// role's policy allows it and everything but the approval holds (src/core/break-glass.ts). Runs
// after the check run, on the check's own decision (fresh API reads at the head SHA). A break-glass
// grant is made once per request id: later commits, re-runs and redeliveries change nothing (the
// engine's ledger row is keyed by the request id, and its window is never widened here).
import { attributionProblem, breakGlassReady } from "../core/break-glass.ts";
import { breakGlassAction } from "../core/action.ts";
import { effectsOf } from "../core/action-effects.ts";
import { refusalComment } from "../core/messages.ts";
import type { Decision } from "../core/problem.ts";
import type { PullRequestEvaluation } from "../core/pull-request.ts";
import { dropReservation, reserveBreakGlass } from "../db/break-glass.ts";
import { appendEvent } from "../db/events.ts";
import { repoKey, type Octokit, type RepoRef } from "../github/octokit.ts";
import { applyAction, carryOut, type ApplyEnv } from "./apply-action.ts";
import { pullRequestContext } from "./check.ts";
import type { AppDeps } from "./context.ts";
import { commentOnce } from "./scheduled.ts";
import { withKeyAuthority } from "./repository-gate.ts";
import { dashboardChanged } from "./pending.ts";

export type BreakGlassOutcome = { kind: "none" } | { kind: "granted" | "exists" } | { kind: "refused"; code: string };

export async function breakGlassOnCheck(deps: AppDeps, octokit: Octokit, ref: RepoRef, number: number, checked: Decision<PullRequestEvaluation>): Promise<BreakGlassOutcome> {
  const repository = repoKey(ref);
  const decision = withKeyAuthority(deps, repository, checked); // I10
  const e = decision.details;
  if (!e.request?.breakGlass || e.mode !== "check" || e.kind !== "grant") return { kind: "none" };
  if (e.pullRequest.state !== "open" || e.pullRequest.merged) return { kind: "none" };
  if (!breakGlassReady(decision.problems) || !e.policy || !e.basePolicy || !e.policy.rolePolicy.breakGlass) return { kind: "none" }; // the check says why
  const bg = e.policy.rolePolicy.breakGlass;
  const ctx = pullRequestContext(deps, octokit, ref, number);
  const unattributed = attributionProblem(e.requester, await ctx.commits(), await ctx.pushers()); // I13
  const key = { repository, database: e.policy.database, requestId: e.request.requestId };
  if (unattributed) {
    deps.log.warn({ pr: number, code: unattributed.code }, "break-glass refused: nothing granted");
    await commentOnce(deps, octokit, ref, number, `break-glass-refused:${repository}#${number}:${e.pullRequest.headSha}`,
      refusalComment("JIT_BREAK_GLASS_UNATTRIBUTED", [unattributed]));
    return { kind: "refused", code: unattributed.code };
  }
  const reserved = await reserveBreakGlass(deps.state, { ...key, prNumber: number, requester: e.requester, dbUser: e.policy.dbUser, headSha: e.pullRequest.headSha, retroMs: bg.retroApprovalWithinMs });
  if (reserved.result === "exists") return { kind: "exists" }; // granted on an earlier commit: nothing widens
  if (reserved.result === "busy") {
    deps.log.warn({ pr: number, code: "JIT_BREAK_GLASS_ACTIVE" }, "break-glass refused: another one is open for this person");
    await commentOnce(deps, octokit, ref, number, `break-glass-busy:${repository}#${number}`, refusalComment("JIT_BREAK_GLASS_ACTIVE", [{
      code: "JIT_BREAK_GLASS_ACTIVE", message: `${e.requester} already has an open break-glass grant; one at a time per person`,
      hint: "get the open one approved and merged, or wait for its deadline; or remove break_glass and ask for approval",
    }]));
    return { kind: "refused", code: "JIT_BREAK_GLASS_ACTIVE" };
  }
  const row = reserved.row!;
  const action = breakGlassAction({ key, pr: number, policy: e.basePolicy, path: e.request.path, headSha: e.pullRequest.headSha, role: e.policy.role,
    dbUser: e.policy.dbUser, durationMs: e.policy.durationMs, requester: e.requester, deadline: row.deadline.getTime() });
  // Effects after the event is recorded: applied without GitHub, carried out below.
  const env: ApplyEnv = { state: deps.state, log: deps.log, engine: (p) => deps.engines.engine(p), now: deps.now, ...(deps.onGrant ? { onGrant: deps.onGrant } : {}) };
  const granted = (await applyAction(env, action)).grant!;
  if (!granted.ok) {
    await dropReservation(deps.state, row.id); // nothing granted: nothing to settle at a deadline
    deps.log.warn({ pr: number, code: granted.code }, "break-glass grant refused: nothing granted");
    await commentOnce(deps, octokit, ref, number, `break-glass-refused:${repository}#${number}:${granted.code}`,
      refusalComment(granted.code as never, granted.problems));
    return { kind: "refused", code: granted.code };
  }
  const expiresAt = granted.details.row!.expiresAt!.getTime();
  await appendEvent(deps.state, { ...key, ledgerId: granted.details.row!.id, actor: action.actor, kind: "break_glass_granted",
    code: "JIT_BREAK_GLASS_GRANTED", details: { requester: e.requester, deadline: row.deadline.toISOString(), headSha: e.pullRequest.headSha } });
  deps.log.warn({ pr: number, code: "JIT_BREAK_GLASS_GRANTED", database: key.database, role: e.policy.role, dbUser: e.policy.dbUser }, "break-glass grant without approval");
  await dashboardChanged(deps, repository);
  await carryOut({ ...env, github: { octokit, ref, ...(deps.appId !== undefined ? { appId: deps.appId } : {}) } },
    effectsOf({ kind: "started", action, expiresAt }, deps.now()));
  return { kind: "granted" };
}
