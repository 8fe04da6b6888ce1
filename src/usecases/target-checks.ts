// "Green means grantable": the check runs the merge-time target checks read-only (the grantor's own
// preflight, src/db/inspect-target.ts) and a problem found there keeps the check from being green.
// The merge runs the same inspection before it writes a ledger row, so a benign refusal (a dropped
// login, an impure role, existing access, an overlapping request) neither uses up the request id
// nor raises an alert (src/core/refusal-class.ts).
import type { JitCode } from "../core/codes.ts";
import { problem, type Problem } from "../core/problem.ts";
import type { PullRequestEvaluation } from "../core/pull-request.ts";
import type { PlanPreview } from "../core/report.ts";
import { renderStatement } from "../core/sql.ts";
import { targetChecks } from "../core/target-checks.ts";
import type { AppDeps } from "./context.ts";

export interface TargetCheckResult {
  plan: PlanPreview | null;
  /** Added to the check's decision: the merge would refuse on each of them. */
  problems: Problem[];
}

const codeOf = (err: unknown): JitCode => {
  const code = (err as { code?: string }).code;
  return code?.startsWith("JIT_") ? (code as JitCode) : "JIT_DB_UNREACHABLE";
};

/** Check mode: plan, I16 binding of the login for this head, and the read-only preflight. */
export async function checkTargets(deps: AppDeps, e: PullRequestEvaluation, repository: string): Promise<TargetCheckResult> {
  if (e.kind !== "grant" || !e.policy || !e.basePolicy || !e.request) return { plan: null, problems: [] };
  const { database, role, dbUser } = e.policy;
  const engine = deps.engines.engine(e.basePolicy);
  try {
    const statements = await engine.plan(database, role, dbUser);
    // I16: bind the login by OID for this head SHA; the merge refuses if it is another role then.
    const { recorded, current } = await engine.bindTarget({ repository, headSha: e.pullRequest.headSha, database, dbUser });
    const inspection = await engine.inspectTarget({ repository, database, requestId: e.request.requestId }, role, dbUser);
    const problems = [...inspection.problems];
    if (recorded.memberOid !== current.memberOid || recorded.clusterId !== current.clusterId) {
      problems.unshift(problem("JIT_TARGET_CHANGED", `database user "${dbUser}" is not the login first checked for this commit (${recorded.memberOid ?? "absent"} then, ${current.memberOid ?? "absent"} now)`,
        { hint: "push a commit to check again" }));
    }
    const checks = targetChecks({ database, role, dbUser, pgMajor: inspection.pgMajor, memberOid: current.memberOid, codes: problems.map((p) => p.code) });
    return { plan: { ok: true, target: database, statements: statements.map(renderStatement), login: { name: dbUser, oid: current.memberOid }, checks }, problems };
  } catch (err) {
    const code = codeOf(err);
    const message = (err as Error).message;
    const checks = code === "JIT_ROLE_SHARED_ACROSS_KEYS" ? [] : targetChecks({ database, role, dbUser, pgMajor: null, memberOid: null, codes: [code] });
    return { plan: { ok: false, code, message, checks }, problems: [problem(code, message)] };
  }
}

/**
 * Merge mode, before the grant writes its ledger row: the problems the read-only preflight finds
 * now. An error reading the target returns nothing here: the grant meets it again and reports it.
 */
export async function mergeTargetProblems(deps: AppDeps, e: PullRequestEvaluation, repository: string): Promise<Problem[]> {
  if (e.kind !== "grant" || !e.policy || !e.basePolicy || !e.request) return [];
  const engine = deps.engines.engine(e.basePolicy);
  const key = { repository, database: e.policy.database, requestId: e.request.requestId };
  try {
    // A redelivery after the grant (or after a refusal): the engine answers from the ledger row.
    if (await engine.get(key)) return [];
    return (await engine.inspectTarget(key, e.policy.role, e.policy.dbUser)).problems;
  } catch (err) {
    deps.log.warn({ code: codeOf(err) }, "target checks before the grant could not run; the grant checks again");
    return [];
  }
}
