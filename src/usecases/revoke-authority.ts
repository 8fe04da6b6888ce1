// Gathers what the pure early-revoke rule (src/core/revoke-authority.ts) needs for a deletion PR:
// the grant's requester (ledger row -> its request PR's author, plus the logins mapped to its
// database user) and the deletion PR's approving reviews on its final commit, with eligibility.
import type { PullRequestContext, Review } from "../core/context.ts";
import type { Decision } from "../core/problem.ts";
import { decideEarlyRevoke, DEFAULT_REVOKE_BY, type EarlyRevokeAuthority } from "../core/revoke-authority.ts";
import type { Policy } from "../core/types.ts";
import { getByKey, type LedgerKey } from "../db/ledger.ts";
import { getScheduled } from "../db/scheduled.ts";
import { isNotFound, type Octokit, type RepoRef } from "../github/octokit.ts";
import type { AppDeps } from "./context.ts";

const WRITE = new Set(["admin", "maintain", "write"]);

/** The latest state-changing review per reviewer (a later dismissal or change request cancels an approval). */
function latestApprovals(reviews: Review[], headSha: string): Review[] {
  const last = new Map<string, Review>();
  for (const r of reviews) if (r.state !== "COMMENTED" && r.state !== "PENDING") last.set(r.user.login.toLowerCase(), r);
  return [...last.values()].filter((r) => r.state === "APPROVED" && r.commitId === headSha && r.user.type === "User");
}

export async function earlyRevokeAuthority(
  deps: Pick<AppDeps, "state">, octokit: Octokit, ref: RepoRef, key: LedgerKey, policy: Policy,
  deletion: { ctx: Pick<PullRequestContext, "reviews" | "isTeamMember" | "permission">; author: string; headSha: string } | null,
): Promise<Decision<EarlyRevokeAuthority>> {
  // A scheduled grant (not started yet) has the same requester and rules as the grant it would become.
  const row = (await getByKey(deps.state, key)) ?? (await getScheduled(deps.state, key));
  const role = row ? policy.databases[key.database]?.roles[row.role] : undefined;
  const revokeBy = role?.revokeBy ?? DEFAULT_REVOKE_BY;
  const grantees = row ? Object.entries(policy.identities).filter(([, login]) => login === row.dbUser).map(([github]) => github) : [];
  if (row?.prNumber) {
    try {
      const author = (await octokit.rest.pulls.get({ ...ref, pull_number: row.prNumber })).data.user?.login;
      if (author) grantees.push(author);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
  const approvals: { login: string; eligible: boolean }[] = [];
  if (deletion && revokeBy.includes("approvers")) {
    for (const r of latestApprovals(await deletion.ctx.reviews(), deletion.headSha)) {
      const login = r.user.login;
      const entries = role?.approvers ?? [];
      let matches = entries.includes(login.toLowerCase());
      for (const team of entries.filter((e) => e.startsWith("@"))) {
        if (matches) break;
        matches = await deletion.ctx.isTeamMember(login, team);
      }
      approvals.push({ login, eligible: matches && WRITE.has(await deletion.ctx.permission(login)) });
    }
  }
  return decideEarlyRevoke({ revokeBy, author: deletion?.author ?? null, grantees, approvals });
}
