// Early revoke authority (revoke_by): deleting the request file of someone's active grant ends it
// now only when the right person asked. Anyone with write access can open and merge a deletion;
// without this rule any writer could end a colleague's access in the middle of an incident.
import { decide, problem, type Decision } from "./problem.ts";
import type { RevokeBy } from "./types.ts";

export const DEFAULT_REVOKE_BY: readonly RevokeBy[] = ["requester", "approvers"];

export interface EarlyRevokeInput {
  revokeBy: readonly RevokeBy[];
  /** Author of the pull request that deletes the file; null for a direct push (no verified author). */
  author: string | null;
  /** The grant's requester: the request PR's author and the GitHub logins mapped to the granted database user. */
  grantees: readonly string[];
  /** Latest review per reviewer on the deletion PR's final commit that approves, and whether the reviewer is an eligible approver of the role. */
  approvals: readonly { login: string; eligible: boolean }[];
}

export interface EarlyRevokeAuthority {
  /** Which revoke_by entry allowed it, or null. */
  allowedBy: RevokeBy | null;
  /** Who: the requester, the approver(s), or the author for "anyone". */
  by: string[];
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export function decideEarlyRevoke(i: EarlyRevokeInput): Decision<EarlyRevokeAuthority> {
  const author = i.author;
  if (i.revokeBy.includes("requester") && author !== null && i.grantees.some((g) => same(g, author))) {
    return decide({ allowedBy: "requester", by: [author] }, [], `deleted by the requester @${author}`);
  }
  const approvers = i.approvals.filter((a) => a.eligible && (author === null || !same(a.login, author))).map((a) => a.login);
  if (i.revokeBy.includes("approvers") && approvers.length > 0) {
    return decide({ allowedBy: "approvers", by: approvers }, [], `approved by ${approvers.map((a) => `@${a}`).join(", ")}`);
  }
  if (i.revokeBy.includes("anyone")) return decide({ allowedBy: "anyone", by: author ? [author] : [] }, [], "revoke_by allows anyone");
  const who = author === null ? "a direct push" : `@${author}`;
  return decide({ allowedBy: null, by: [] }, [problem("JIT_REVOKE_NOT_AUTHORIZED",
    `${who} may not end this grant early: revoke_by is [${i.revokeBy.join(", ")}]${i.revokeBy.includes("approvers") ? " and no eligible approver approved the deletion on its final commit" : ""}`, {
    hint: "the grantee opens the deletion, or an eligible approver approves it; otherwise the grant ends at its expiry",
  })], "");
}
