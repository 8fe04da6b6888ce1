// `jit rebuild`'s reads (docs/operations.md): merged pull requests of one access repository that
// touched one request file, with the app's own comments (performed_via_github_app, I11: a marker or
// a bot name anyone can copy proves nothing), the app's own revert PRs (opened by its bot account),
// the approving reviews, and the request file's blob. Lists are read to the end (I12): a PR whose
// file list does not match GitHub's count is left out rather than guessed.
import type { MergedPr, RebuildApproval } from "../core/rebuild-plan.ts";
import { isUnderRequestsDir } from "../core/request-path.ts";
import { madeByApp } from "./authored.ts";
import type { Octokit, RepoRef } from "./octokit.ts";

export interface RebuildReadOptions {
  appId: number;
  /** The app's bot login ("<slug>[bot]") and id: its revert PRs are the ones this account opened. */
  bot: { login: string; id: number };
  sinceMs: number | null;
  progress(done: number, total: number): void;
}

export async function readMergedRequests(octokit: Octokit, ref: RepoRef, o: RebuildReadOptions): Promise<{ prs: MergedPr[]; skipped: { prNumber: number; why: string }[] }> {
  // Only merges into the default branch can have granted (JIT_PR_BASE_NOT_DEFAULT otherwise).
  const base = (await octokit.rest.repos.get({ ...ref })).data.default_branch;
  const closed = await octokit.paginate(octokit.rest.pulls.list, { ...ref, state: "closed", base, sort: "created", direction: "asc", per_page: 100 });
  const merged = closed.filter((p) => p.merged_at && (o.sinceMs === null || Date.parse(p.merged_at) >= o.sinceMs));
  const prs: MergedPr[] = [];
  const skipped: { prNumber: number; why: string }[] = [];
  let done = 0;
  for (const p of merged) {
    o.progress(done++, merged.length);
    const { data: full } = await octokit.rest.pulls.get({ ...ref, pull_number: p.number });
    const files = await octokit.paginate(octokit.rest.pulls.listFiles, { ...ref, pull_number: p.number, per_page: 100 });
    const touched = files.filter((f) => isUnderRequestsDir(f.filename) || (f.previous_filename !== undefined && isUnderRequestsDir(f.previous_filename)));
    if (!touched.length) continue;
    if (files.length !== full.changed_files) {
      skipped.push({ prNumber: p.number, why: `GitHub listed ${files.length} of ${full.changed_files} changed files` });
      continue;
    }
    const one = files.length === 1 && (files[0]!.status === "added" || files[0]!.status === "modified" || files[0]!.status === "removed") ? files[0]! : null;
    if (!one) {
      skipped.push({ prNumber: p.number, why: "not exactly one added, modified or removed request file" });
      continue;
    }
    let content: Uint8Array | null = null;
    if (one.status !== "removed" && one.sha) {
      const { data: blob } = await octokit.rest.git.getBlob({ ...ref, file_sha: one.sha });
      content = Buffer.from(blob.content, "base64");
    }
    const comments = await octokit.paginate(octokit.rest.issues.listComments, { ...ref, issue_number: p.number, per_page: 100 });
    const reviews = await octokit.paginate(octokit.rest.pulls.listReviews, { ...ref, pull_number: p.number, per_page: 100 });
    const mergedAt = Date.parse(full.merged_at!);
    const approvals: RebuildApproval[] = reviews
      .filter((r) => r.state === "APPROVED" && r.commit_id === full.head.sha && r.user && r.submitted_at && Date.parse(r.submitted_at) <= mergedAt)
      .map((r) => ({ login: r.user!.login.toLowerCase(), reviewId: r.id, commitId: r.commit_id!, submittedAt: r.submitted_at ?? null }));
    prs.push({
      number: p.number, author: (full.user?.login ?? "ghost").toLowerCase(),
      byApp: full.user?.type === "Bot" && full.user.id === o.bot.id && full.user.login === o.bot.login,
      createdAt: Date.parse(full.created_at), mergedAt, mergedAtText: full.merged_at!, headSha: full.head.sha, mergeSha: full.merge_commit_sha ?? "",
      file: { path: one.filename, status: one.status as "added" | "modified" | "removed", blobSha: one.status === "removed" ? null : one.sha ?? null },
      content,
      appComments: comments.filter((c) => madeByApp(c, o.appId)).map((c) => ({ body: c.body ?? "", createdAt: Date.parse(c.created_at) })),
      approvals,
    });
  }
  o.progress(done, merged.length);
  return { prs, skipped };
}
