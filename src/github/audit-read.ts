// `jit audit --github`: what GitHub says today about one grant's pull request, beside what the ledger
// recorded (docs/audit.md). Read-only; differences are shown, never "fixed". GitHub may have changed
// since (a deleted review, a rewritten branch): the ledger is the record, this is a cross-check.
import { isNotFound, type Octokit, type RepoRef } from "./octokit.ts";

export interface GitHubCrossCheck {
  pullRequest: { number: number; merged: boolean; mergeSha: string | null; mergedAt: string | null; matches: boolean } | null;
  approvals: { reviewId: number; login: string; state: string | null; onGitHub: boolean }[];
  requestBlob: { sha: string | null; matches: boolean } | null;
  revertPr: { number: number; merged: boolean; byBot: boolean } | null;
}

export interface AuditRecorded {
  prNumber: number | null;
  mergeSha: string | null;
  path: string;
  blobSha: string | null;
  approvals: { reviewId: number | null; login: string }[];
  revertPr: number | null;
}

export async function crossCheck(octokit: Octokit, ref: RepoRef, r: AuditRecorded): Promise<GitHubCrossCheck> {
  const out: GitHubCrossCheck = { pullRequest: null, approvals: [], requestBlob: null, revertPr: null };
  if (r.prNumber !== null) {
    const { data: pr } = await octokit.rest.pulls.get({ ...ref, pull_number: r.prNumber });
    out.pullRequest = { number: pr.number, merged: pr.merged_at !== null, mergeSha: pr.merge_commit_sha ?? null, mergedAt: pr.merged_at ?? null, matches: pr.merge_commit_sha === r.mergeSha };
    const reviews = await octokit.paginate(octokit.rest.pulls.listReviews, { ...ref, pull_number: r.prNumber, per_page: 100 });
    out.approvals = r.approvals.filter((a) => a.reviewId !== null).map((a) => {
      const seen = reviews.find((x) => x.id === a.reviewId);
      return { reviewId: a.reviewId!, login: a.login, state: seen?.state ?? null, onGitHub: seen !== undefined && seen.user?.login.toLowerCase() === a.login.toLowerCase() };
    });
  }
  if (r.mergeSha) {
    try {
      const { data } = await octokit.rest.repos.getContent({ ...ref, path: r.path, ref: r.mergeSha });
      const sha = Array.isArray(data) ? null : data.sha;
      out.requestBlob = { sha, matches: sha !== null && sha === r.blobSha };
    } catch (e) {
      if (!isNotFound(e)) throw e;
      out.requestBlob = { sha: null, matches: false };
    }
  }
  if (r.revertPr !== null) {
    const { data: pr } = await octokit.rest.pulls.get({ ...ref, pull_number: r.revertPr });
    out.revertPr = { number: pr.number, merged: pr.merged_at !== null, byBot: pr.user?.type === "Bot" };
  }
  return out;
}
