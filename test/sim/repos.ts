// Repository behaviour: creation, commits on branches, and what GitHub does after any ref update
// (push webhook, check suite request, PR synchronize, stale-review dismissal).
import { activityTypeOf, recordActivity, type ActivityType } from "./activity.ts";
import type { SimContext } from "./context.ts";
import { GitStore, ZERO_SHA, type FileChange, type GitIdentity } from "./git-store.ts";
import { pushPayload, type PushCommit } from "./payloads.ts";
import { isPull, type BranchProtection, type Permission, type Repo } from "./state.ts";
import { requestCheckSuite } from "./checks.ts";
import { computePull, dismissStaleApprovals } from "./pulls.ts";
import { pullRequestPayload } from "./payloads.ts";
import { HttpError } from "./world.ts";

export interface CreateRepoOptions {
  owner: string;
  name: string;
  /** initial files on the default branch (one commit) */
  files?: Record<string, FileChange>;
  defaultBranch?: string;
  private?: boolean;
  /** direct collaborators: login → permission */
  collaborators?: Record<string, Permission>;
  /** team permissions on this repo: team slug (in the owner org) → permission */
  teams?: Record<string, Permission>;
  protection?: Partial<BranchProtection>;
  /** create an installation of the app on the owner if there is none (default true; silent) */
  install?: boolean;
}

export function identityOf(ctx: SimContext, login: string): GitIdentity {
  const u = ctx.w.user(login);
  return { name: u.name, email: u.email, date: ctx.w.now() };
}

export const GITHUB_COMMITTER = (ctx: SimContext): GitIdentity => ({ name: "GitHub", email: "noreply@github.com", date: ctx.w.now() });

export async function createRepo(ctx: SimContext, o: CreateRepoOptions): Promise<Repo> {
  const { w } = ctx;
  if (w.repos.has(`${o.owner}/${o.name}`.toLowerCase())) throw new Error(`repository ${o.owner}/${o.name} exists`);
  const defaultBranch = o.defaultBranch ?? "main";
  const git = await GitStore.create(defaultBranch);
  const id = w.ids.next("repo", 100_000);
  const now = w.now();
  const repo: Repo = {
    id, nodeId: w.ids.nodeId("R_", id), owner: w.user(o.owner).login, name: o.name, private: o.private ?? true, defaultBranch, git,
    collaborators: new Map(Object.entries(o.collaborators ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    teamPermissions: new Map(Object.entries(o.teams ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    protection: o.protection ? { requiredApprovingReviews: 0, requiredChecks: [], dismissStaleReviews: false, bypass: [], ...o.protection } : null,
    createdAt: now, pushedAt: now, nextNumber: 1,
    issues: new Map(), reviews: [], comments: new Map(), labels: new Map(), checkSuites: new Map(), checkRuns: new Map(),
  };
  for (const login of repo.collaborators.keys()) w.user(login);
  w.repos.set(`${o.owner}/${o.name}`.toLowerCase(), repo);
  if ((o.install ?? true) && !w.installationFor(o.owner)) {
    const iid = w.ids.next("installation", 40_000);
    w.installations.set(iid, { id: iid, account: repo.owner, createdAt: now });
  }
  const tree = await git.buildTree(null, o.files ?? { "README.md": `# ${o.name}\n` });
  const sha = await git.commitTree(tree, [], "Initial commit\n", identityOf(ctx, repo.owner));
  await git.updateRef(`refs/heads/${defaultBranch}`, sha, ZERO_SHA);
  return repo;
}

export interface CommitOptions {
  author: string;
  message?: string;
  /** "Co-authored-by:" trailers (logins) */
  coAuthors?: string[];
  /** override author identity (e.g. a commit authored by someone else) */
  commitAuthor?: { name: string; email: string };
  committer?: string;
}

/** Creates one commit on top of `parent` with file changes; returns its SHA (refs untouched). */
export async function makeCommit(ctx: SimContext, repo: Repo, parent: string | null, files: Record<string, FileChange>, o: CommitOptions): Promise<string> {
  const baseTree = parent ? (await repo.git.readCommit(parent)).tree : null;
  const tree = await repo.git.buildTree(baseTree, files);
  const trailers = (o.coAuthors ?? []).map((l) => { const u = ctx.w.user(l); return `Co-authored-by: ${u.name} <${u.email}>`; });
  const message = `${o.message ?? `Update ${Object.keys(files).join(", ")}`}\n${trailers.length ? `\n${trailers.join("\n")}\n` : ""}`;
  const author = o.commitAuthor ? { ...o.commitAuthor, date: ctx.w.now() } : identityOf(ctx, o.author);
  const committer = o.committer ? identityOf(ctx, o.committer) : author;
  return repo.git.commitTree(tree, parent ? [parent] : [], message, author, committer);
}

/** Moves a branch (compare-and-swap) and runs GitHub's reactions to the push. */
export async function pushBranch(ctx: SimContext, repo: Repo, branch: string, newSha: string, pusher: string, opts: { force?: boolean } = {}): Promise<void> {
  const ref = `refs/heads/${branch}`;
  const before = (await repo.git.readRef(ref)) ?? ZERO_SHA;
  if (before !== ZERO_SHA && !opts.force && !(await repo.git.isAncestor(before, newSha))) throw new HttpError(422, "Update is not a fast forward");
  await repo.git.updateRef(ref, newSha, before);
  await afterRefUpdate(ctx, repo, ref, before, newSha, pusher);
}

async function pushCommits(repo: Repo, before: string, after: string): Promise<PushCommit[]> {
  const shas = await repo.git.commitsBetween(before === ZERO_SHA ? null : before, after);
  const out: PushCommit[] = [];
  for (const sha of shas.slice(-20)) {
    const info = await repo.git.readCommit(sha);
    const diff = info.parents[0] ? await repo.git.diff(info.parents[0], sha) : [];
    out.push({
      info,
      added: diff.filter((d) => d.status === "added" || d.status === "renamed" || d.status === "copied").map((d) => d.filename),
      removed: [...diff.filter((d) => d.status === "removed").map((d) => d.filename), ...diff.filter((d) => d.status === "renamed").map((d) => d.previousFilename!)],
      modified: diff.filter((d) => d.status === "modified" || d.status === "changed").map((d) => d.filename),
    });
  }
  return out;
}

/** push webhook, check_suite.requested, and synchronize for open PRs whose head is this branch. */
export async function afterRefUpdate(ctx: SimContext, repo: Repo, ref: string, before: string, after: string, pusher: string, activity?: ActivityType): Promise<void> {
  if (!ref.startsWith("refs/heads/")) return;
  const { w, hooks } = ctx;
  const branch = ref.slice("refs/heads/".length);
  const deleted = after === ZERO_SHA;
  const created = before === ZERO_SHA;
  const forced = !created && !deleted && !(await repo.git.isAncestor(before, after));
  repo.pushedAt = w.now();
  recordActivity(ctx, repo, { ref, before, after, actor: pusher, type: activity ?? activityTypeOf(before, after, !forced) });
  const commits = deleted ? [] : await pushCommits(repo, before, after);
  if (w.installationFor(repo.owner)) {
    hooks.emit("push", pushPayload(w, repo, { ref, before, after, created, deleted, forced, commits, pusher }));
  }
  if (!deleted) await requestCheckSuite(ctx, repo, after, branch, created ? null : before, pusher);
  for (const issue of repo.issues.values()) {
    if (!isPull(issue) || issue.state !== "open" || issue.pull.headRef !== branch || deleted) continue;
    const prev = issue.pull.headSha;
    if (prev === after) continue;
    issue.pull.headSha = after;
    issue.updatedAt = w.now();
    if (repo.protection?.dismissStaleReviews) await dismissStaleApprovals(ctx, repo, issue, pusher);
    if (w.installationFor(repo.owner)) {
      hooks.emit("pull_request", pullRequestPayload(w, repo, issue, await computePull(repo, issue), "synchronize", pusher, { before: prev, after }));
    }
  }
}
