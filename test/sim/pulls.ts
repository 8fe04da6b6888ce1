// Pull request lifecycle: open, compute (mergeable, stats), merge (merge/squash/rebase producing
// real git commits), close/reopen, reviews and dismissals, with the webhooks GitHub sends.
import { closeReferencedIssues } from "./closing.ts";
import type { SimContext } from "./context.ts";
import { ZERO_SHA } from "./git-store.ts";
import { pullRequestPayload, reviewPayload } from "./payloads.ts";
import type { PullComputed } from "./shapes.ts";
import { isPull, type Issue, type PullRequest, type Repo, type Review } from "./state.ts";
import { HttpError } from "./world.ts";
import { afterRefUpdate, GITHUB_COMMITTER, identityOf } from "./repos.ts";

export async function baseShaOf(repo: Repo, p: PullRequest): Promise<string> {
  if (p.state === "closed" && p.pull.baseShaAtClose) return p.pull.baseShaAtClose;
  return (await repo.git.resolveCommit(p.pull.baseRef)) ?? p.pull.baseShaAtClose ?? ZERO_SHA;
}

/** The commit the PR's changes are measured from (GitHub's three-dot comparison). */
export async function comparisonBase(repo: Repo, p: PullRequest): Promise<string> {
  const base = await baseShaOf(repo, p);
  return (await repo.git.mergeBase(base, p.pull.headSha)) ?? base;
}

/** Latest APPROVED / CHANGES_REQUESTED review per user (what branch protection looks at). */
export function latestDecisiveReviews(repo: Repo, number: number): Review[] {
  const latest = new Map<string, Review>();
  for (const r of repo.reviews) {
    if (r.number !== number || (r.state !== "APPROVED" && r.state !== "CHANGES_REQUESTED" && r.state !== "DISMISSED")) continue;
    latest.set(r.user.toLowerCase(), r);
  }
  return [...latest.values()];
}

function protectionProblem(repo: Repo, p: PullRequest): string | null {
  const pr = repo.protection;
  if (!pr || p.pull.baseRef !== repo.defaultBranch) return null;
  const decisive = latestDecisiveReviews(repo, p.number);
  if (decisive.some((r) => r.state === "CHANGES_REQUESTED")) return "Changes have been requested.";
  const approvals = decisive.filter((r) => r.state === "APPROVED" && (!pr.dismissStaleReviews || r.commitId === p.pull.headSha)).length;
  if (approvals < pr.requiredApprovingReviews) return `At least ${pr.requiredApprovingReviews} approving review${pr.requiredApprovingReviews > 1 ? "s are" : " is"} required by reviewers with write access.`;
  for (const name of pr.requiredChecks) {
    const runs = [...repo.checkRuns.values()].filter((c) => c.headSha === p.pull.headSha && c.name === name);
    const last = runs[runs.length - 1];
    if (!last || last.status !== "completed" || !["success", "neutral", "skipped"].includes(last.conclusion ?? "")) return `Required status check "${name}" is expected.`;
  }
  return null;
}

export async function computePull(repo: Repo, p: PullRequest): Promise<PullComputed> {
  const baseSha = await baseShaOf(repo, p);
  const from = await comparisonBase(repo, p);
  const diff = await repo.git.diff(from, p.pull.headSha);
  const commits = (await repo.git.commitsBetween(baseSha, p.pull.headSha)).length;
  let mergeable: boolean | null = null;
  let mergeableState = "unknown";
  if (p.state === "open") {
    mergeable = (await repo.git.mergeTrees(baseSha, p.pull.headSha)) !== null;
    mergeableState = !mergeable ? "dirty" : p.pull.draft ? "draft" : protectionProblem(repo, p) ? "blocked" : "clean";
  }
  return {
    baseSha, mergeable, mergeableState, commits, changedFiles: diff.length,
    additions: diff.reduce((n, d) => n + d.additions, 0), deletions: diff.reduce((n, d) => n + d.deletions, 0),
  };
}

async function emitPull(ctx: SimContext, repo: Repo, p: PullRequest, action: string, sender: string): Promise<void> {
  if (!ctx.w.installationFor(repo.owner)) return;
  ctx.hooks.emit("pull_request", pullRequestPayload(ctx.w, repo, p, await computePull(repo, p), action, sender));
}

export function newIssue(ctx: SimContext, repo: Repo, user: string, title: string, body: string | null): Issue {
  const id = ctx.w.ids.next("issue", 2_000_000);
  const now = ctx.w.now();
  const issue: Issue = {
    number: repo.nextNumber++, id, nodeId: ctx.w.ids.nodeId("I_", id), title, body, user: ctx.w.user(user).login, state: "open", stateReason: null,
    labels: [], assignees: [], createdAt: now, updatedAt: now, closedAt: null, closedBy: null,
  };
  repo.issues.set(issue.number, issue);
  return issue;
}

export async function openPull(ctx: SimContext, repo: Repo, o: { user: string; head: string; base: string; title: string; body?: string | null; draft?: boolean }): Promise<PullRequest> {
  const headSha = await repo.git.readRef(`refs/heads/${o.head}`);
  if (!headSha) throw new HttpError(422, "Validation Failed", { errors: [{ resource: "PullRequest", field: "head", code: "invalid" }] });
  if (!(await repo.git.readRef(`refs/heads/${o.base}`))) throw new HttpError(422, "Validation Failed", { errors: [{ resource: "PullRequest", field: "base", code: "invalid" }] });
  for (const i of repo.issues.values()) {
    if (isPull(i) && i.state === "open" && i.pull.headRef === o.head && i.pull.baseRef === o.base) {
      throw new HttpError(422, "Validation Failed", { errors: [{ resource: "PullRequest", code: "custom", message: `A pull request already exists for ${repo.owner}:${o.head}.` }] });
    }
  }
  const baseSha = (await repo.git.resolveCommit(o.base))!;
  if ((await repo.git.commitsBetween(baseSha, headSha)).length === 0) {
    throw new HttpError(422, "Validation Failed", { errors: [{ resource: "PullRequest", code: "custom", message: `No commits between ${o.base} and ${o.head}` }] });
  }
  const issue = newIssue(ctx, repo, o.user, o.title, o.body ?? null);
  const p = Object.assign(issue, {
    pull: { headRef: o.head, headSha, baseRef: o.base, baseShaAtClose: null, draft: o.draft ?? false, merged: false, mergedAt: null, mergedBy: null, mergeCommitSha: null, maintainerCanModify: false },
  }) as PullRequest;
  await emitPull(ctx, repo, p, "opened", o.user);
  return p;
}

export async function closePull(ctx: SimContext, repo: Repo, p: PullRequest, actor: string): Promise<void> {
  if (p.state === "closed") return;
  p.pull.baseShaAtClose = await baseShaOf(repo, p);
  p.state = "closed";
  p.closedAt = p.updatedAt = ctx.w.now();
  p.closedBy = actor;
  await emitPull(ctx, repo, p, "closed", actor);
}

export async function reopenPull(ctx: SimContext, repo: Repo, p: PullRequest, actor: string): Promise<void> {
  if (p.state === "open") return;
  if (p.pull.merged) throw new HttpError(422, "Validation Failed", { errors: [{ resource: "PullRequest", code: "custom", message: "state cannot be changed. The pull request cannot be reopened because it has been merged." }] });
  const head = await repo.git.readRef(`refs/heads/${p.pull.headRef}`);
  if (!head) throw new HttpError(422, "Validation Failed", { errors: [{ resource: "PullRequest", code: "custom", message: "state cannot be changed. The head branch was deleted." }] });
  p.pull.headSha = head;
  p.pull.baseShaAtClose = null;
  p.state = "open";
  p.closedAt = null;
  p.closedBy = null;
  p.updatedAt = ctx.w.now();
  await emitPull(ctx, repo, p, "reopened", actor);
}

export async function editPull(ctx: SimContext, repo: Repo, p: PullRequest, o: { title?: string; body?: string | null; base?: string }, actor: string): Promise<void> {
  const changes: Record<string, { from: unknown }> = {};
  if (o.title !== undefined && o.title !== p.title) { changes.title = { from: p.title }; p.title = o.title; }
  if (o.body !== undefined && o.body !== p.body) { changes.body = { from: p.body }; p.body = o.body; }
  if (o.base !== undefined && o.base !== p.pull.baseRef) {
    if (!(await repo.git.readRef(`refs/heads/${o.base}`))) throw new HttpError(422, "Validation Failed", { errors: [{ resource: "PullRequest", field: "base", code: "invalid" }] });
    changes.base = { from: p.pull.baseRef };
    p.pull.baseRef = o.base;
  }
  if (Object.keys(changes).length === 0) return;
  p.updatedAt = ctx.w.now();
  if (!ctx.w.installationFor(repo.owner)) return;
  ctx.hooks.emit("pull_request", pullRequestPayload(ctx.w, repo, p, await computePull(repo, p), "edited", actor, {
    changes: Object.fromEntries(Object.entries(changes).map(([k, v]) => [k, k === "base" ? { ref: { from: v.from }, sha: { from: p.pull.baseShaAtClose ?? "" } } : v])),
  }));
}

export type MergeMethod = "merge" | "squash" | "rebase";

export interface MergeOptions {
  actor: string;
  method?: MergeMethod;
  sha?: string;
  commitTitle?: string;
  commitMessage?: string;
  /** an admin merging through branch protection ("bypass rules") */
  bypassProtection?: boolean;
}

/** Replays each PR commit onto `onto` at file level (GitHub's rebase merge); null on conflict. */
async function rebaseCommits(ctx: SimContext, repo: Repo, onto: string, shas: string[]): Promise<string | null> {
  const git = repo.git;
  let tip = onto;
  for (const sha of shas) {
    const c = await git.readCommit(sha);
    if (c.parents.length !== 1) return null;
    const parent = c.parents[0]!;
    const tipTree = new Map((await git.lsTree(tip, { recursive: true })).filter((e) => e.type !== "tree").map((e) => [e.path, e]));
    const lines: string[] = [];
    for (const d of await git.diff(parent, sha)) {
      const before = d.previousFilename ?? d.filename;
      const oldEntry = (await git.lsTree(parent, { path: before }))[0];
      const current = tipTree.get(before);
      if ((current?.sha ?? null) !== (oldEntry?.sha ?? null) && d.status !== "added") return null;
      if (d.status === "added" && current && current.sha !== d.sha) return null;
      if (d.status === "removed" || d.status === "renamed") lines.push(`0 ${ZERO_SHA}\t${before}`);
      if (d.status !== "removed") lines.push(`${d.newMode} ${d.sha}\t${d.filename}`);
    }
    const tree = await git.applyIndexLines((await git.readCommit(tip)).tree, lines);
    tip = await git.commitTree(tree, [tip], c.message, c.author, GITHUB_COMMITTER(ctx));
  }
  return tip;
}

export async function mergePull(ctx: SimContext, repo: Repo, p: PullRequest, o: MergeOptions): Promise<{ sha: string }> {
  const git = repo.git;
  if (p.state !== "open") throw new HttpError(405, "Pull Request is not mergeable");
  if (p.pull.draft) throw new HttpError(405, "Pull Request is still a draft");
  if (o.sha !== undefined && o.sha !== p.pull.headSha) throw new HttpError(409, "Head branch was modified. Review and try the merge again.");
  const bypass = o.bypassProtection || (repo.protection?.bypass ?? []).some((l) => l.toLowerCase() === o.actor.toLowerCase());
  const blocked = bypass ? null : protectionProblem(repo, p);
  if (blocked) throw new HttpError(405, `Repository rule violations found\n\n${blocked}`);
  const baseSha = (await git.readRef(`refs/heads/${p.pull.baseRef}`))!;
  const method = o.method ?? "merge";
  const prCommits = await git.commitsBetween(baseSha, p.pull.headSha);
  const merger = identityOf(ctx, o.actor);
  let newSha: string | null;
  if (method === "rebase") {
    newSha = await rebaseCommits(ctx, repo, baseSha, prCommits);
    if (!newSha) throw new HttpError(405, "This branch can't be rebased");
  } else {
    const tree = await git.mergeTrees(baseSha, p.pull.headSha);
    if (!tree) throw new HttpError(405, "Pull Request is not mergeable");
    if (method === "merge") {
      const title = o.commitTitle ?? `Merge pull request #${p.number} from ${repo.owner}/${p.pull.headRef}`;
      newSha = await git.commitTree(tree, [baseSha, p.pull.headSha], `${title}\n\n${o.commitMessage ?? p.title}\n`, merger, GITHUB_COMMITTER(ctx));
    } else {
      const messages: string[] = [];
      for (const sha of prCommits) messages.push(`* ${(await git.readCommit(sha)).message.trim()}`);
      const title = o.commitTitle ?? `${p.title} (#${p.number})`;
      newSha = await git.commitTree(tree, [baseSha], `${title}\n\n${o.commitMessage ?? messages.join("\n\n")}\n`, identityOf(ctx, p.user), GITHUB_COMMITTER(ctx));
    }
  }
  try {
    await git.updateRef(`refs/heads/${p.pull.baseRef}`, newSha, baseSha);
  } catch {
    throw new HttpError(409, "Base branch was modified. Review and try the merge again.");
  }
  const now = ctx.w.now();
  Object.assign(p.pull, { merged: true, mergedAt: now, mergedBy: ctx.w.user(o.actor).login, mergeCommitSha: newSha, baseShaAtClose: baseSha });
  p.state = "closed";
  p.closedAt = p.updatedAt = now;
  p.closedBy = o.actor;
  if (p.pull.baseRef === repo.defaultBranch) {
    const messages = await Promise.all((await git.commitsBetween(baseSha, newSha)).map(async (sha) => (await git.readCommit(sha)).message));
    closeReferencedIssues(ctx, repo, [p.body ?? "", ...messages], o.actor);
  }
  await emitPull(ctx, repo, p, "closed", o.actor);
  await afterRefUpdate(ctx, repo, `refs/heads/${p.pull.baseRef}`, baseSha, newSha, o.actor);
  return { sha: newSha };
}

export type ReviewEvent = "APPROVE" | "REQUEST_CHANGES" | "COMMENT";
const STATE: Record<ReviewEvent, Review["state"]> = { APPROVE: "APPROVED", REQUEST_CHANGES: "CHANGES_REQUESTED", COMMENT: "COMMENTED" };

export async function reviewPull(ctx: SimContext, repo: Repo, p: PullRequest, o: { user: string; event?: ReviewEvent; body?: string; commitId?: string; force?: boolean }): Promise<Review> {
  const isAuthor = o.user.toLowerCase() === p.user.toLowerCase();
  if (!o.force && isAuthor && o.event === "APPROVE") throw new HttpError(422, "Unprocessable Entity", { errors: ["Review Can not approve your own pull request"] });
  if (!o.force && isAuthor && o.event === "REQUEST_CHANGES") throw new HttpError(422, "Unprocessable Entity", { errors: ["Review Can not request changes on your own pull request"] });
  if ((o.event === "REQUEST_CHANGES" || o.event === "COMMENT") && !o.body) throw new HttpError(422, "Unprocessable Entity", { errors: [`Review Body is required when using ${o.event}`] });
  const commitId = o.commitId ?? p.pull.headSha;
  if ((await repo.git.objectType(commitId)) !== "commit") throw new HttpError(422, "Unprocessable Entity", { errors: ["Commit SHA can't be blank or is not part of the pull request"] });
  const id = ctx.w.ids.next("review", 80_000_000);
  const review: Review = {
    id, nodeId: ctx.w.ids.nodeId("PRR_", id), number: p.number, user: ctx.w.user(o.user).login, body: o.body ?? "",
    state: o.event ? STATE[o.event] : "PENDING", commitId, submittedAt: ctx.w.now(),
  };
  repo.reviews.push(review);
  if (review.state !== "PENDING") p.pull.requestedReviewers = (p.pull.requestedReviewers ?? []).filter((l) => l.toLowerCase() !== o.user.toLowerCase());
  if (review.state !== "PENDING" && ctx.w.installationFor(repo.owner)) {
    ctx.hooks.emit("pull_request_review", reviewPayload(ctx.w, repo, p, await computePull(repo, p), review, "submitted", o.user));
  }
  return review;
}

export async function dismissReview(ctx: SimContext, repo: Repo, p: PullRequest, review: Review, actor: string, message: string): Promise<Review> {
  if (review.state !== "APPROVED" && review.state !== "CHANGES_REQUESTED") {
    throw new HttpError(422, "Unprocessable Entity", { errors: [`Can not dismiss a ${review.state.toLowerCase()} pull request review`] });
  }
  review.state = "DISMISSED";
  review.body = review.body || message;
  if (ctx.w.installationFor(repo.owner)) {
    ctx.hooks.emit("pull_request_review", reviewPayload(ctx.w, repo, p, await computePull(repo, p), review, "dismissed", actor));
  }
  return review;
}

/** Branch protection's "dismiss stale pull request approvals when new commits are pushed". */
export async function dismissStaleApprovals(ctx: SimContext, repo: Repo, p: PullRequest, actor: string): Promise<void> {
  for (const r of repo.reviews) {
    if (r.number === p.number && r.state === "APPROVED" && r.commitId !== p.pull.headSha) await dismissReview(ctx, repo, p, r, actor, "Stale approval dismissed by a push");
  }
}

/**
 * POST …/requested_reviewers as GitHub answers it: the author cannot be requested (422), nor
 * someone without access to the repository or a team of another organization (422); repeats are
 * no-ops. Records the requests on the pull request (`requested_reviewers`, `requested_teams`).
 */
export function requestReviewers(ctx: SimContext, repo: Repo, p: PullRequest, o: { reviewers?: string[]; teams?: string[] }): void {
  const users = (o.reviewers ?? []).map((l) => ctx.w.user(l).login);
  if (users.some((l) => l.toLowerCase() === p.user.toLowerCase())) {
    throw new HttpError(422, "Unprocessable Entity", { errors: ["Review cannot be requested from pull request author."] });
  }
  const teams = (o.teams ?? []).map((s) => s.toLowerCase());
  if (users.some((l) => ctx.w.permission(repo, l) === "none") || teams.some((t) => !ctx.w.team(repo.owner, t))) {
    throw new HttpError(422, "Unprocessable Entity", { errors: [`Reviews may only be requested from collaborators. One or more of the users or teams you specified is not a collaborator of the ${repo.owner}/${repo.name} repository.`] });
  }
  const add = (have: string[] | undefined, more: string[]) => [...(have ?? []), ...more.filter((x) => !(have ?? []).some((h) => h.toLowerCase() === x.toLowerCase()))];
  p.pull.requestedReviewers = add(p.pull.requestedReviewers, users);
  p.pull.requestedTeams = add(p.pull.requestedTeams, teams);
  p.updatedAt = ctx.w.now();
}
