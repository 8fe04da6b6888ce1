// "Green means grantable": the check runs the merge-time target checks read-only (the grantor's own
// preflight, src/db/inspect-target.ts) and a problem found there keeps the check from being green.
// The merge runs the same inspection before it writes a ledger row, so a benign refusal (a dropped
// login, an impure role, existing access, an overlapping request) neither uses up the request id
// nor raises an alert (src/core/refusal-class.ts).
import type { JitCode } from "../core/codes.ts";
import { overlapExtension, type OverlapExtension } from "../core/overlap.ts";
import { problem, type Problem } from "../core/problem.ts";
import type { PullRequestEvaluation } from "../core/pull-request.ts";
import type { PlanPreview } from "../core/report.ts";
import { renderStatement } from "../core/sql.ts";
import { targetChecks } from "../core/target-checks.ts";
import { refusal, type Action, type GrantAction } from "../core/action.ts";
import { knownAccounts } from "../core/report.ts";
import type { HeldGrant } from "../db/overlaps.ts";
import type { AppDeps } from "./context.ts";

export interface TargetCheckResult {
  plan: PlanPreview | null;
  /** Added to the check's decision: the merge would refuse on each of them. */
  problems: Problem[];
}

/** Item 3: the active grant this request would extend instead of granting, when the rules allow it. */
function extensionOf(e: PullRequestEvaluation, held: readonly HeldGrant[], repository: string, at: number): OverlapExtension | null {
  if (!e.policy || !e.basePolicy) return null;
  const role = e.basePolicy.databases[e.policy.database]?.roles[e.policy.role];
  if (!role) return null;
  return overlapExtension({ held, repository, database: e.policy.database, requestedMs: e.policy.durationMs, maxMs: role.maxDurationMs, at });
}

/** The overlap's problem is gone when the request extends the held grant instead. */
const withoutOverlap = (problems: Problem[], ext: OverlapExtension | null) => (ext ? problems.filter((p) => p.code !== "JIT_ALREADY_GRANTED") : problems);

const codeOf = (err: unknown): JitCode => {
  const code = (err as { code?: string }).code;
  return code?.startsWith("JIT_") ? (code as JitCode) : "JIT_DB_UNREACHABLE";
};

/** Check mode: plan, I16 binding of the login for this head, and the read-only preflight. */
export async function checkTargets(deps: AppDeps, e: PullRequestEvaluation, repository: string): Promise<TargetCheckResult> {
  if (e.kind !== "grant" || !e.policy || !e.basePolicy || !e.request) return { plan: null, problems: [] };
  if (deps.targetsAtMerge) {
    return { plan: { ok: false, code: "JIT_CONFIG_MISSING_ENV", message: "this check job holds no database secret; the grant job runs the target checks at merge" }, problems: [] };
  }
  const { database, role, dbUser } = e.policy;
  const engine = deps.engines.engine(e.basePolicy);
  try {
    const statements = await engine.plan(database, role, dbUser);
    // I16: bind the login by OID for this head SHA; the merge refuses if it is another role then.
    const { recorded, current } = await engine.bindTarget({ repository, headSha: e.pullRequest.headSha, database, dbUser });
    const inspection = await engine.inspectTarget({ repository, database, requestId: e.request.requestId }, role, dbUser);
    const ext = extensionOf(e, inspection.held, repository, deps.now());
    const problems = withoutOverlap([...inspection.problems], ext);
    if (recorded.memberOid !== current.memberOid || recorded.clusterId !== current.clusterId) {
      problems.unshift(problem("JIT_TARGET_CHANGED", `database user "${dbUser}" is not the login first checked for this commit (${recorded.memberOid ?? "absent"} then, ${current.memberOid ?? "absent"} now)`,
        { hint: "push a commit to check again" }));
    }
    const checks = targetChecks({ database, role, dbUser, pgMajor: inspection.pgMajor, memberOid: current.memberOid, codes: problems.map((p) => p.code) });
    return {
      plan: { ok: true, target: database, statements: statements.map(renderStatement), login: { name: dbUser, oid: current.memberOid }, checks,
        ...(ext ? { extends: { request: `${ext.held.database}/${ext.held.requestId}`, until: ext.until } } : {}) },
      problems,
    };
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
export async function mergeTargetProblems(deps: AppDeps, e: PullRequestEvaluation, repository: string): Promise<{ problems: Problem[]; extension: OverlapExtension | null }> {
  const none = { problems: [], extension: null };
  if (e.kind !== "grant" || !e.policy || !e.basePolicy || !e.request) return none;
  const engine = deps.engines.engine(e.basePolicy);
  const key = { repository, database: e.policy.database, requestId: e.request.requestId };
  try {
    // A redelivery after the grant (or after a refusal): the engine answers from the ledger row.
    if (await engine.get(key)) return none;
    const inspection = await engine.inspectTarget(key, e.policy.role, e.policy.dbUser);
    // I17: the new window is counted from GitHub's merge time, whenever this delivery is handled.
    const extension = extensionOf(e, inspection.held, repository, Date.parse(e.pullRequest.mergedAt ?? ""));
    return { problems: withoutOverlap(inspection.problems, extension), extension };
  } catch (err) {
    deps.log.warn({ code: codeOf(err) }, "target checks before the grant could not run; the grant checks again");
    return none;
  }
}

/**
 * Item 3 and "green means grantable" at merge: a grant action becomes a (benign or incident, as its
 * codes say) refusal when the read-only target checks find a problem, or an extension of the held
 * grant when an overlapping request may extend it.
 */
export async function withTargetChecks(deps: AppDeps, action: GrantAction, repository: string): Promise<Action> {
  const e = action.evaluation;
  const target = await mergeTargetProblems(deps, e, repository);
  if (target.problems.length) return refusal(action.origin, target.problems[0]!.code, target.problems, { kind: "request", known: [...knownAccounts(e)] });
  if (target.extension) {
    const h = target.extension.held;
    return { ...action, kind: "extend", why: "an overlapping request extends the held grant", key: { repository: h.repository, database: h.database, requestId: h.requestId },
      overlap: { durationMs: target.extension.durationMs, requestId: e.request.requestId } };
  }
  return action;
}
