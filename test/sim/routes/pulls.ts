// Pull requests and reviews.
import type { SimContext } from "../context.ts";
import { commitShape, diffEntryShape, pullShape, pullSimpleShape, reviewShape } from "../shapes.ts";
import { actorLogin, bodyOf, intParam, paginate, paginateShaped, repoFor, type Handler, type RouteRequest } from "../router.ts";
import { isPull, type PullRequest, type Repo } from "../state.ts";
import { HttpError } from "../world.ts";
import { baseShaOf, closePull, comparisonBase, computePull, dismissReview, editPull, mergePull, openPull, reopenPull, requestReviewers, reviewPull, type MergeMethod, type ReviewEvent } from "../pulls.ts";

function pullOf(repo: Repo, req: RouteRequest): PullRequest {
  const issue = repo.issues.get(intParam(req, "pull_number"));
  if (!issue || !isPull(issue)) throw new HttpError(404, "Not Found");
  return issue;
}

/** GitHub's silent caps on a pull request's lists. */
export const PULL_FILES_CAP = 3000;
export const PULL_COMMITS_CAP = 250;

export async function pullBody(ctx: SimContext, repo: Repo, p: PullRequest) {
  return pullShape(ctx.w, repo, p, await computePull(repo, p));
}

export const pullRoutes: Record<string, Handler> = {
  "pulls/list": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    const state = req.query.get("state") ?? "open";
    const head = req.query.get("head");
    const base = req.query.get("base");
    const direction = req.query.get("direction") ?? "desc";
    let pulls = [...repo.issues.values()].filter(isPull).filter((p) => state === "all" || p.state === state);
    if (head) pulls = pulls.filter((p) => `${repo.owner}:${p.pull.headRef}`.toLowerCase() === head.toLowerCase() || (!head.includes(":") && p.pull.headRef === head));
    if (base) pulls = pulls.filter((p) => p.pull.baseRef === base);
    // GitHub's default sort is "created"; "updated" orders by the last change (the reconciler's watermark)
    const key = req.query.get("sort") === "updated" ? (p: (typeof pulls)[number]) => p.updatedAt.getTime() * 1e6 + p.number : (p: (typeof pulls)[number]) => p.number;
    pulls.sort((a, b) => (direction === "asc" ? key(a) - key(b) : key(b) - key(a)));
    const shaped = [];
    for (const p of pulls) shaped.push(pullSimpleShape(ctx.w, repo, p, await baseShaOf(repo, p)));
    return paginate(req, ctx, shaped);
  },
  "pulls/create": async (req, ctx) => {
    const repo = repoFor(req, ctx, "write");
    const b = bodyOf<{ title: string; head: string; base: string; body: string; draft: boolean }>(req);
    const head = (b.head ?? "").includes(":") ? (b.head ?? "").split(":")[1]! : b.head ?? "";
    const p = await openPull(ctx, repo, { user: actorLogin(req.actor), head, base: b.base ?? "", title: b.title ?? "", body: b.body ?? null, draft: b.draft ?? false });
    return { status: 201, body: await pullBody(ctx, repo, p) };
  },
  "pulls/get": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    return { status: 200, body: await pullBody(ctx, repo, pullOf(repo, req)) };
  },
  "pulls/update": async (req, ctx) => {
    const repo = repoFor(req, ctx, "write");
    const p = pullOf(repo, req);
    const b = bodyOf<{ title: string; body: string; state: "open" | "closed"; base: string }>(req);
    await editPull(ctx, repo, p, { title: b.title, body: b.body, base: b.base }, actorLogin(req.actor));
    if (b.state === "closed") await closePull(ctx, repo, p, actorLogin(req.actor));
    if (b.state === "open") await reopenPull(ctx, repo, p, actorLogin(req.actor));
    return { status: 200, body: await pullBody(ctx, repo, p) };
  },
  "pulls/list-files": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    const p = pullOf(repo, req);
    const from = await comparisonBase(repo, p);
    // GitHub lists at most 3 000 files (changed_files still counts them all), 100 per page at most.
    const diff = (await repo.git.diff(from, p.pull.headSha)).slice(0, PULL_FILES_CAP);
    return paginateShaped(req, ctx, diff, async (page) => {
      const patches = await repo.git.patches(from, p.pull.headSha, page);
      return page.map((d, i) => diffEntryShape(ctx.w, repo, p.pull.headSha, d, patches[i]!));
    });
  },
  "pulls/list-commits": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    const p = pullOf(repo, req);
    // GitHub lists at most 250 commits of a PR (the pull's `commits` still counts them all).
    const shas = (await repo.git.commitsBetween(await baseShaOf(repo, p), p.pull.headSha)).slice(0, PULL_COMMITS_CAP);
    return paginateShaped(req, ctx, shas, async (page) => {
      const commits = [];
      for (const sha of page) commits.push(commitShape(ctx.w, repo, await repo.git.readCommit(sha)));
      return commits;
    });
  },
  "pulls/check-if-merged": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    if (!pullOf(repo, req).pull.merged) throw new HttpError(404, "Not Found");
    return { status: 204 };
  },
  "pulls/merge": async (req, ctx) => {
    const repo = repoFor(req, ctx, "write");
    const p = pullOf(repo, req);
    const b = bodyOf<{ commit_title: string; commit_message: string; sha: string; merge_method: MergeMethod }>(req);
    const { sha } = await mergePull(ctx, repo, p, { actor: actorLogin(req.actor), method: b.merge_method, sha: b.sha, commitTitle: b.commit_title, commitMessage: b.commit_message });
    return { status: 200, body: { sha, merged: true, message: "Pull Request successfully merged" } };
  },
  "pulls/list-reviews": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    const p = pullOf(repo, req);
    return paginate(req, ctx, repo.reviews.filter((r) => r.number === p.number && r.state !== "PENDING").map((r) => reviewShape(ctx.w, repo, r)));
  },
  "pulls/create-review": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    const p = pullOf(repo, req);
    const b = bodyOf<{ commit_id: string; body: string; event: ReviewEvent }>(req);
    const review = await reviewPull(ctx, repo, p, { user: actorLogin(req.actor), event: b.event, body: b.body, commitId: b.commit_id });
    const shaped = reviewShape(ctx.w, repo, review);
    if (review.state === "PENDING") delete shaped.submitted_at;
    return { status: 200, body: shaped };
  },
  "pulls/get-review": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    const p = pullOf(repo, req);
    const review = repo.reviews.find((r) => r.number === p.number && r.id === intParam(req, "review_id"));
    if (!review) throw new HttpError(404, "Not Found");
    return { status: 200, body: reviewShape(ctx.w, repo, review) };
  },
  "pulls/dismiss-review": async (req, ctx) => {
    const repo = repoFor(req, ctx, "write");
    const p = pullOf(repo, req);
    const review = repo.reviews.find((r) => r.number === p.number && r.id === intParam(req, "review_id"));
    if (!review) throw new HttpError(404, "Not Found");
    const b = bodyOf<{ message: string }>(req);
    await dismissReview(ctx, repo, p, review, actorLogin(req.actor), b.message ?? "");
    return { status: 200, body: reviewShape(ctx.w, repo, review) };
  },
  "pulls/request-reviewers": async (req, ctx) => {
    const repo = repoFor(req, ctx, "write");
    const p = pullOf(repo, req);
    const b = bodyOf<{ reviewers: string[]; team_reviewers: string[] }>(req);
    requestReviewers(ctx, repo, p, { reviewers: b.reviewers ?? [], teams: b.team_reviewers ?? [] });
    return { status: 201, body: pullSimpleShape(ctx.w, repo, p, await baseShaOf(repo, p)) };
  },
};
