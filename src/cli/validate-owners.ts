// `jit validate`'s check that every grantable role can be approved at all: a request under
// access-requests/<database>/ needs a CODEOWNERS owner that the role's approvers could satisfy.
// It runs the app's own approval code (src/core/approval.ts) on a request no one has reviewed
// yet, so "no eligible owner" means the same here as on a pull request: no request could ever be
// approved, whoever reviews it.
import { evaluateApproval } from "../core/approval.ts";
import type { SelectedCodeowners } from "../core/codeowners.ts";
import { problem, type Problem } from "../core/problem.ts";
import type { Policy } from "../core/types.ts";
import type { Locate } from "../core/yaml-strict.ts";

/** A policy approver as a CODEOWNERS owner: logins get their "@". */
const asOwner = (approver: string) => (approver.startsWith("@") ? approver : `@${approver}`);

/** Stands for any request of a database: a CODEOWNERS rule that owns it owns the folder. */
const probePath = (database: string) => `access-requests/${database}/<request-id>.yaml`;

// Nobody has reviewed, so membership and permission are never asked; answer "no" if they were.
const NO_READS = { isTeamMember: async () => false, permission: async () => "none" as const };

/**
 * Problems per file: JIT_NO_ELIGIBLE_OWNER on the role's `approvers` in its policy file, and
 * JIT_CODEOWNERS_ERROR on CODEOWNERS lines that could decide who owns a request folder.
 */
export async function ownershipProblems(policy: Policy, codeowners: SelectedCodeowners | null, locate: (path: string) => Locate | null): Promise<Problem[]> {
  const out: Problem[] = [];
  const codeownersLines = new Set<number>();
  for (const database of Object.keys(policy.databases).sort()) {
    const db = policy.databases[database];
    if (!db) continue;
    for (const role of Object.keys(db.roles).sort()) {
      const rolePolicy = db.roles[role];
      if (!rolePolicy) continue;
      const decision = await evaluateApproval({
        requestPath: probePath(database), headSha: "0".repeat(40), author: "", beneficiaries: [], commits: [], reviews: [], pushers: [], at: { mode: "check", now: 0 },
        codeowners, requirement: { count: rolePolicy.approvals, approvers: rolePolicy.approvers }, ctx: NO_READS,
      });
      for (const p of decision.problems) {
        if (p.code === "JIT_CODEOWNERS_ERROR" && p.line !== undefined && !codeownersLines.has(p.line)) {
          codeownersLines.add(p.line);
          out.push({ ...p, column: 1 });
        } else if (p.code === "JIT_NO_ELIGIBLE_OWNER") {
          const where = locate(db.source)?.(["databases", database, "roles", role, "approvers"]) ?? { line: 1, column: 1 };
          // The app speaks of "the base"; here it is this checkout.
          const why = codeowners ? p.message : "there is no CODEOWNERS file (.github/CODEOWNERS, CODEOWNERS or docs/CODEOWNERS)";
          out.push(problem("JIT_NO_ELIGIBLE_OWNER", `no request for ${role} on ${database} can ever be approved: ${why}`, {
            path: db.source, ...where,
            hint: codeowners
              ? `make a code owner of access-requests/${database}/ one of this role's approvers (${rolePolicy.approvers.join(", ")}), or list such an owner here`
              : `add .github/CODEOWNERS with a rule such as "/access-requests/${database}/ ${asOwner(rolePolicy.approvers[0] ?? "@org/team")}"`,
          }));
        }
      }
    }
  }
  return out;
}
