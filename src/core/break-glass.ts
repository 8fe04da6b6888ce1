// Break-glass (role policy `break_glass`, request `break_glass: true`): the pure rules. A break-glass
// grant skips only the approval (I1's policy-enabled exception); every other check of the request
// holds, and a few are added: the requester must be a break_glass requester (team membership read
// at evaluation time, unknown never counts), the duration at most break_glass.max_duration, no
// scheduled start, and every commit authored and committed by the requester with nobody else
// pushing (I13). Approval problems are the only ones a break-glass grant may carry.
import type { PullRequestCommit, Pusher } from "./context.ts";
import { problem, type Problem } from "./problem.ts";
import type { AccessRequest, RolePolicy } from "./types.ts";

/** Approval problems a break-glass grant may open with (nobody approved yet). Anything else refuses. */
export const BREAK_GLASS_TOLERATED: ReadonlySet<string> = new Set(["JIT_APPROVALS_MISSING", "JIT_APPROVAL_STALE", "JIT_APPROVAL_DISMISSED"]);

/** Teams of break_glass.requesters a caller must ask about (none when the login is listed itself). */
export function breakGlassTeamsToAsk(requester: string, role: RolePolicy): string[] {
  const entries = role.breakGlass?.requesters ?? [];
  if (entries.includes(requester.toLowerCase())) return [];
  return entries.filter((e) => e.startsWith("@"));
}

/**
 * What is wrong with a break-glass request under this role, whatever the approvals say. `requester`
 * null (jit validate without --requester): who asks is not judged.
 */
export function breakGlassProblems(request: AccessRequest, role: RolePolicy, requester: string | null, teams: ReadonlySet<string>): Problem[] {
  if (!request.breakGlass) return [];
  const at = { path: request.path, ...(request.positions?.break_glass ?? { line: 1, column: 1 }) };
  const bg = role.breakGlass;
  if (!bg) {
    return [problem("JIT_BREAK_GLASS_NOT_ALLOWED", `the policy for ${request.role} on ${request.database} has no break_glass`, {
      ...at, hint: "remove break_glass and ask for approval, or ask for a role that allows break-glass",
    })];
  }
  const out: Problem[] = [];
  const login = requester?.toLowerCase();
  if (requester !== null && login !== undefined && !bg.requesters.includes(login) && !bg.requesters.some((e) => e.startsWith("@") && teams.has(e))) {
    out.push(problem("JIT_BREAK_GLASS_NOT_ALLOWED", `${requester} is not among the break-glass requesters of ${request.role} on ${request.database}`, {
      ...at, hint: `break-glass requesters: ${bg.requesters.join(", ")}; remove break_glass to ask for approval instead`,
    }));
  }
  if (request.startMs !== undefined) {
    out.push(problem("JIT_BREAK_GLASS_NOT_ALLOWED", "break_glass cannot be combined with start: break-glass access begins at once", {
      ...at, hint: "remove start or break_glass",
    }));
  }
  if (request.durationMs > bg.maxDurationMs) {
    out.push(problem("JIT_BREAK_GLASS_DURATION", `duration ${request.duration} is over the break-glass maximum of ${bg.maxDuration} for ${request.role}`, {
      path: request.path, ...(request.positions?.duration ?? { line: 1, column: 1 }), hint: `ask for at most ${bg.maxDuration}`,
    }));
  }
  return out;
}

/** I13 for break-glass: the requester alone wrote, committed and pushed every commit. */
export function attributionProblem(requester: string, commits: readonly PullRequestCommit[], pushers: readonly Pusher[]): Problem | null {
  const me = requester.toLowerCase();
  const bad = commits.filter((c) => c.author.login?.toLowerCase() !== me || c.committer.login?.toLowerCase() !== me || (c.coAuthors?.length ?? 0) > 0 || /co-authored-by:/i.test(c.message));
  const others = [...new Set(pushers.map((p) => p.login.toLowerCase()).filter((l) => l !== me))];
  if (bad.length === 0 && others.length === 0) return null;
  const what = [
    ...(bad.length ? [`${bad.length} commit(s) not authored and committed by ${requester} alone (${bad.map((c) => c.sha.slice(0, 12)).join(", ")})`] : []),
    ...(others.length ? [`pushed to by ${others.join(", ")}`] : []),
  ].join("; ");
  return problem("JIT_BREAK_GLASS_UNATTRIBUTED", `break-glass needs a pull request made by its requester alone: ${what}`, {
    hint: "open the break-glass request from your own account, one commit, signed in as yourself",
  });
}

/** Whether a decision may be granted by break-glass: only approval problems remain. */
export function breakGlassReady(problems: readonly Problem[]): boolean {
  return problems.every((p) => BREAK_GLASS_TOLERATED.has(p.code));
}
