// What the audit needs from a merged request PR (docs/audit.md), taken from the evaluation the merge
// just made and the context's cached reads: no extra decision, and nothing here can refuse a grant.
import type { PullRequestContext } from "../core/context.ts";
import type { Decision } from "../core/problem.ts";
import type { PullRequestEvaluation } from "../core/pull-request.ts";
import { recordExtensionFacts, recordGrantFacts, type GrantFacts, type RecordedApproval } from "../db/grant-facts.ts";
import type { LedgerKey } from "../db/ledger.ts";
import type { Queryable } from "../db/state.ts";

async function blobShaAt(ctx: PullRequestContext, sha: string | null, path: string | null): Promise<string | null> {
  if (!sha || !path) return null;
  const entries = await ctx.listDir(sha, path.slice(0, path.lastIndexOf("/")));
  return entries.find((e) => e.path === path)?.sha ?? null;
}

export async function approvalsOf(ctx: PullRequestContext, e: PullRequestEvaluation): Promise<RecordedApproval[]> {
  const counted = e.approval?.counted ?? [];
  if (!counted.length) return [];
  const submitted = new Map((await ctx.reviews()).map((r) => [r.id, r.submittedAt ?? null]));
  return counted.map((c) => ({ login: c.login, reviewId: c.reviewId, commitId: c.commitId, submittedAt: submitted.get(c.reviewId) ?? null }));
}

/** Never throws: a failed read leaves a fact unrecorded (the grant already happened). */
export async function grantFactsOf(ctx: PullRequestContext, d: Decision<PullRequestEvaluation>): Promise<GrantFacts> {
  const e = d.details;
  const pr = e.pullRequest;
  return {
    blobSha: await blobShaAt(ctx, pr.mergeCommitSha, e.requestPath).catch(() => null),
    reason: e.request?.reason ?? null,
    ticket: e.request?.ticket ?? null,
    requester: e.requester,
    mergedAt: pr.mergedAt ?? null,
    approvals: await approvalsOf(ctx, e).catch(() => []),
    decision: { ok: d.ok, code: d.code, message: d.message },
  };
}

/**
 * After a merge granted or extended the grant `key` names (an overlapping request may extend another
 * request's grant): records the audit facts (src/db/grant-facts.ts). Called once
 * the outcome is known; never throws, so it can neither undo nor refuse what was done.
 */
export async function recordMergeFacts(
  state: Queryable, log: { warn(o: object, m: string): void }, key: LedgerKey | null, ctx: PullRequestContext, d: Decision<PullRequestEvaluation>, kind: string,
): Promise<void> {
  const e = d.details;
  if ((kind !== "granted" && kind !== "extended") || !key) return;
  try {
    const facts = await grantFactsOf(ctx, d);
    if (kind === "granted") await recordGrantFacts(state, key, facts);
    else await recordExtensionFacts(state, key, { prNumber: e.pullRequest.number, mergeSha: e.pullRequest.mergeCommitSha, mergedAt: facts.mergedAt, blobSha: facts.blobSha, approvals: facts.approvals });
  } catch (err) {
    log.warn({ pr: e.pullRequest.number, err: (err as Error).message }, "audit facts not recorded");
  }
}
