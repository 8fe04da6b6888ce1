// Scenario API for one repository: what people do on GitHub (open PRs, push, review, merge…),
// with the same code paths and webhooks as the REST API. Reads return GitHub-shaped JSON.
import type { SimContext } from "./context.ts";
import type { FileChange, GitStore } from "./git-store.ts";
import { makeCommit, pushBranch, type CommitOptions } from "./repos.ts";
import { closePull, computePull, dismissReview, mergePull, openPull, reopenPull, reviewPull, type MergeMethod, type ReviewEvent } from "./pulls.ts";
import { pullsForSha, requestCheckSuite, rerequestCheckRun } from "./checks.ts";
import { checkRunShape, commentShape, iso, pullShape, reviewShape } from "./shapes.ts";
import { fullName, isPull, type BranchProtection, type Permission, type PullRequest, type Repo, type Review } from "./state.ts";

export type Files = Record<string, FileChange>;

export interface CommitSpec {
  files: Files;
  message?: string;
  /** author identity other than the pusher (e.g. someone else's commit pushed to the PR) */
  commitAuthor?: { name: string; email: string } | string;
  /** logins added as "Co-authored-by:" trailers */
  coAuthors?: string[];
  /** committer login other than the pusher (someone's finished commits pushed by another) */
  committer?: string;
}

export interface OpenPullOptions {
  title?: string;
  body?: string;
  base?: string;
  draft?: boolean;
  message?: string;
  commitAuthor?: CommitSpec["commitAuthor"];
  coAuthors?: string[];
}

export type ReviewState = ReviewEvent | "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED";
const EVENT: Record<ReviewState, ReviewEvent> = { APPROVE: "APPROVE", APPROVED: "APPROVE", REQUEST_CHANGES: "REQUEST_CHANGES", CHANGES_REQUESTED: "REQUEST_CHANGES", COMMENT: "COMMENT", COMMENTED: "COMMENT" };

export class RepoScenario {
  private readonly ctx: SimContext;
  readonly repo: Repo;

  constructor(ctx: SimContext, repo: Repo) {
    this.ctx = ctx;
    this.repo = repo;
  }

  get fullName(): string { return fullName(this.repo); }
  get owner(): string { return this.repo.owner; }
  get name(): string { return this.repo.name; }
  get defaultBranch(): string { return this.repo.defaultBranch; }
  /** The bare repository, for low-level assertions (`git.readCommit`, `git.lsTree`…). */
  get git(): GitStore { return this.repo.git; }

  #commitOpts(asUser: string, spec: CommitSpec): CommitOptions {
    const author = typeof spec.commitAuthor === "string" ? this.ctx.w.user(spec.commitAuthor) : undefined;
    return {
      author: asUser, message: spec.message, coAuthors: spec.coAuthors, committer: spec.committer ?? asUser,
      commitAuthor: author ? { name: author.name, email: author.email } : typeof spec.commitAuthor === "object" ? spec.commitAuthor : undefined,
    };
  }

  #pull(number: number): PullRequest {
    const p = this.repo.issues.get(number);
    if (!p || !isPull(p)) throw new Error(`no pull request #${number} in ${this.fullName}`);
    return p;
  }

  /** Commits on top of a branch (creating it from `from` when missing) and pushes, as `asUser`. */
  /** `rewrite`: start from `from` even when the branch exists (a history rewrite, pushed with `force`). */
  async commitToBranch(asUser: string, branch: string, commits: CommitSpec | CommitSpec[], o: { from?: string; force?: boolean; rewrite?: boolean } = {}): Promise<string> {
    let parent = (o.rewrite ? null : await this.git.readRef(`refs/heads/${branch}`)) ?? (await this.git.resolveCommit(o.from ?? this.defaultBranch));
    for (const spec of Array.isArray(commits) ? commits : [commits]) parent = await makeCommit(this.ctx, this.repo, parent, spec.files, this.#commitOpts(asUser, spec));
    await pushBranch(this.ctx, this.repo, branch, parent!, asUser, { force: o.force });
    return parent!;
  }

  /** Creates `branch` from the base with one commit of `files` and opens a PR as `asUser`. */
  async openPullRequest(asUser: string, branch: string, files: Files, o: OpenPullOptions = {}): Promise<{ number: number; headSha: string }> {
    const base = o.base ?? this.defaultBranch;
    const headSha = await this.commitToBranch(asUser, branch, { files, message: o.message, commitAuthor: o.commitAuthor, coAuthors: o.coAuthors }, { from: base });
    const p = await openPull(this.ctx, this.repo, { user: asUser, head: branch, base, title: o.title ?? `Update ${Object.keys(files).join(", ")}`, body: o.body ?? null, draft: o.draft });
    return { number: p.number, headSha };
  }

  /** Pushes one or more commits to the PR's head branch (→ push, check_suite, synchronize). */
  async pushCommits(asUser: string, prNumber: number, files: Files | CommitSpec[], o: Omit<CommitSpec, "files"> = {}): Promise<string> {
    const p = this.#pull(prNumber);
    const specs = Array.isArray(files) ? files : [{ ...o, files }];
    return this.commitToBranch(asUser, p.pull.headRef, specs);
  }

  /** Pushes straight to the default branch (no PR). */
  async pushToDefaultBranch(files: Files, o: { asUser?: string } & Omit<CommitSpec, "files"> = {}): Promise<string> {
    return this.commitToBranch(o.asUser ?? this.owner, this.defaultBranch, { ...o, files });
  }

  /** Submits a review. `force` lets a test plant a review GitHub itself would refuse (own approval). */
  async review(asUser: string, prNumber: number, state: ReviewState, o: { commitId?: string; body?: string; force?: boolean } = {}): Promise<number> {
    const event = EVENT[state];
    const body = o.body ?? (event === "APPROVE" ? "" : event === "REQUEST_CHANGES" ? "Please change this." : "Comment.");
    const r = await reviewPull(this.ctx, this.repo, this.#pull(prNumber), { user: asUser, event, body, commitId: o.commitId, force: o.force });
    return r.id;
  }

  async dismissReview(reviewId: number, o: { asUser?: string; message?: string } = {}): Promise<void> {
    const review = this.repo.reviews.find((r) => r.id === reviewId);
    if (!review) throw new Error(`no review ${reviewId}`);
    await dismissReview(this.ctx, this.repo, this.#pull(review.number), review, o.asUser ?? this.owner, o.message ?? "Dismissed");
  }

  /** Merges as `asUser` (default: the owner). `asAdminBypass` merges through branch protection. */
  async merge(prNumber: number, o: { method?: MergeMethod; asAdminBypass?: boolean; asUser?: string; sha?: string; commitTitle?: string } = {}): Promise<string> {
    const { sha } = await mergePull(this.ctx, this.repo, this.#pull(prNumber), { actor: o.asUser ?? this.owner, method: o.method, bypassProtection: o.asAdminBypass, sha: o.sha, commitTitle: o.commitTitle });
    return sha;
  }

  /**
   * Moves a merged PR's `merged_at` (and `closed_at`) to `at`, as if GitHub had merged it then and
   * its deliveries were late: what the API reports afterwards, not a new event.
   */
  backdateMerge(prNumber: number, at: Date): void {
    const p = this.#pull(prNumber);
    if (!p.pull?.merged) throw new Error(`pull request #${prNumber} is not merged`);
    p.pull.mergedAt = at;
    p.closedAt = at;
  }

  /**
   * Moves every review of the PR to `at` (what a PR reviewed before a late-handled merge looks like:
   * reviews precede merged_at, I13).
   */
  backdateReviews(prNumber: number, at: Date): void {
    for (const r of this.repo.reviews) if (r.number === prNumber) r.submittedAt = at;
  }

  /** `merged_at` exactly as the REST API reports it (whole seconds), or null. */
  mergedAt(prNumber: number): string | null {
    const at = this.#pull(prNumber).pull?.mergedAt;
    return at ? iso(at) : null;
  }

  async close(prNumber: number, o: { asUser?: string } = {}): Promise<void> { await closePull(this.ctx, this.repo, this.#pull(prNumber), o.asUser ?? this.owner); }
  async reopen(prNumber: number, o: { asUser?: string } = {}): Promise<void> { await reopenPull(this.ctx, this.repo, this.#pull(prNumber), o.asUser ?? this.owner); }

  /** A plain issue comment by a person (comments never approve anything). */
  comment(asUser: string, number: number, body: string): number {
    const id = this.ctx.w.ids.next("comment", 6_000_000);
    const now = this.ctx.w.now();
    this.repo.comments.set(id, { id, nodeId: this.ctx.w.ids.nodeId("IC_", id), number, user: this.ctx.w.user(asUser).login, body, createdAt: now, updatedAt: now });
    return id;
  }

  /** A person presses "Re-run" on a check run / suite. */
  async rerequestCheckRun(checkRunId: number, asUser: string): Promise<void> {
    const run = this.repo.checkRuns.get(checkRunId);
    if (!run) throw new Error(`no check run ${checkRunId}`);
    await rerequestCheckRun(this.ctx, this.repo, run, asUser);
  }
  async rerequestCheckSuite(headSha: string, asUser: string): Promise<void> {
    await requestCheckSuite(this.ctx, this.repo, headSha, "", null, asUser, "rerequested");
  }

  setProtection(p: Partial<BranchProtection> | null): void {
    this.repo.protection = p === null ? null : { requiredApprovingReviews: 0, requiredChecks: [], dismissStaleReviews: false, bypass: [], ...this.repo.protection, ...p };
  }
  setCollaborator(login: string, permission: Permission | null): void {
    this.ctx.w.user(login);
    if (permission === null) this.repo.collaborators.delete(login.toLowerCase());
    else this.repo.collaborators.set(login.toLowerCase(), permission);
  }
  setTeamPermission(slug: string, permission: Permission | null): void {
    if (permission === null) this.repo.teamPermissions.delete(slug.toLowerCase());
    else this.repo.teamPermissions.set(slug.toLowerCase(), permission);
  }

  // ---- reads (GitHub-shaped) ----
  async pull(number: number): Promise<Record<string, unknown>> {
    const p = this.#pull(number);
    return pullShape(this.ctx.w, this.repo, p, await computePull(this.repo, p));
  }
  headSha(number: number): string { return this.#pull(number).pull.headSha; }
  async branchSha(branch: string): Promise<string | null> { return this.git.readRef(`refs/heads/${branch}`); }
  reviews(number: number): Record<string, unknown>[] {
    return this.repo.reviews.filter((r: Review) => r.number === number).map((r) => reviewShape(this.ctx.w, this.repo, r));
  }
  comments(number: number): Record<string, unknown>[] {
    return [...this.repo.comments.values()].filter((c) => c.number === number).map((c) => commentShape(this.ctx.w, this.repo, c));
  }
  async checkRuns(headSha?: string): Promise<Record<string, unknown>[]> {
    const out = [];
    for (const r of this.repo.checkRuns.values()) {
      if (headSha && r.headSha !== headSha) continue;
      out.push({ ...checkRunShape(this.ctx.w, this.repo, r, await pullsForSha(this.ctx, this.repo, r.headSha)), annotations: r.annotations });
    }
    return out;
  }
  /** File content at a ref (branch, tag or SHA), or null when absent. */
  async fileAt(ref: string, path: string): Promise<string | null> {
    const commit = await this.git.resolveCommit(ref);
    if (!commit) return null;
    const e = await this.git.entryAt(commit, path);
    return e && e.type === "blob" ? (await this.git.readBlob(e.sha)).toString("utf8") : null;
  }
  pulls(): { number: number; state: string; merged: boolean; title: string; user: string; headRef: string; baseRef: string }[] {
    return [...this.repo.issues.values()].filter(isPull).map((p) => ({ number: p.number, state: p.state, merged: p.pull.merged, title: p.title, user: p.user, headRef: p.pull.headRef, baseRef: p.pull.baseRef }));
  }
  issues(): { number: number; title: string; state: string; labels: string[]; isPull: boolean; pinned: boolean }[] {
    return [...this.repo.issues.values()].map((i) => ({ number: i.number, title: i.title, state: i.state, labels: [...i.labels], isPull: isPull(i), pinned: i.pinned === true }));
  }
}
