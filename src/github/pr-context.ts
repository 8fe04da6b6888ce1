// PullRequestContext over Octokit: each method is one logical read (see src/core/context.ts).
// Answers are memoised per instance, so one evaluation never reads the same thing twice; build a
// fresh instance per evaluation so every decision uses fresh API reads.
import type {
  ChangedFile, FileStatus, Permission, PullRequestCommit, PullRequestContext, PullRequestInfo,
  Pusher, RequestState, Review, TreeEntry,
} from "../core/context.ts";
import { CODEOWNERS_LOCATIONS } from "../core/codeowners.ts";
import { isPolicyPath } from "../core/policy.ts";
import { parseRequestPath } from "../core/request-path.ts";
import { isNotFound, type Octokit, type RepoRef } from "./octokit.ts";

export type RequestStateLookup = (database: string, requestId: string) => Promise<RequestState>;
export type PushersLookup = () => Promise<Pusher[]>;

function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => {
    p ??= fn().catch((err: unknown) => {
      p = undefined;
      throw err;
    });
    return p;
  };
}

function memo<K, V>(fn: (key: K) => Promise<V>): (key: K) => Promise<V> {
  const cache = new Map<K, Promise<V>>();
  return (key) => {
    let p = cache.get(key);
    if (!p) {
      p = fn(key);
      cache.set(key, p);
      p.catch(() => cache.delete(key));
    }
    return p;
  };
}

export class OctokitPullRequestContext implements PullRequestContext {
  private readonly octokit: Octokit;
  private readonly ref: RepoRef;
  private readonly number: number;
  private readonly lookupRequestState: RequestStateLookup;
  private readonly lookupPushers: PushersLookup;

  constructor(octokit: Octokit, ref: RepoRef, number: number, lookupRequestState: RequestStateLookup, lookupPushers: PushersLookup) {
    this.octokit = octokit;
    this.ref = ref;
    this.number = number;
    this.lookupRequestState = lookupRequestState;
    this.lookupPushers = lookupPushers;
  }

  private pullData = once(async () => (await this.octokit.rest.pulls.get({ ...this.ref, pull_number: this.number })).data);

  pull = once(async (): Promise<PullRequestInfo> => {
    const pr = await this.pullData();
    let mergeParentSha: string | null = null;
    if (pr.merged && pr.merge_commit_sha) {
      const { data: commit } = await this.octokit.rest.git.getCommit({ ...this.ref, commit_sha: pr.merge_commit_sha });
      mergeParentSha = commit.parents[0]?.sha ?? null;
    }
    return {
      repository: { owner: this.ref.owner, name: this.ref.repo, defaultBranch: pr.base.repo.default_branch },
      number: pr.number,
      author: pr.user.login,
      draft: pr.draft === true,
      state: pr.state === "open" ? "open" : "closed",
      merged: pr.merged === true,
      headSha: pr.head.sha,
      baseRef: pr.base.ref,
      baseSha: pr.base.sha,
      mergeCommitSha: pr.merged ? (pr.merge_commit_sha ?? null) : null,
      mergeParentSha,
      changedFilesCount: pr.changed_files,
      commitsCount: pr.commits,
      mergedAt: pr.merged ? (pr.merged_at ?? null) : null,
    };
  });

  changedFiles = once(async (): Promise<ChangedFile[]> => {
    const files = await this.octokit.paginate(this.octokit.rest.pulls.listFiles, { ...this.ref, pull_number: this.number, per_page: 100 });
    return files.map((f) => ({
      filename: f.filename,
      status: f.status as FileStatus,
      sha: f.sha ?? null,
      ...(f.previous_filename ? { previousFilename: f.previous_filename } : {}),
    }));
  });

  commits = once(async (): Promise<PullRequestCommit[]> => {
    const commits = await this.octokit.paginate(this.octokit.rest.pulls.listCommits, { ...this.ref, pull_number: this.number, per_page: 100 });
    return commits.map((c) => ({
      sha: c.sha,
      message: c.commit.message,
      author: { login: c.author?.login, name: c.commit.author?.name, email: c.commit.author?.email },
      committer: { login: c.committer?.login, name: c.commit.committer?.name, email: c.commit.committer?.email },
    }));
  });

  reviews = once(async (): Promise<Review[]> => {
    const reviews = await this.octokit.paginate(this.octokit.rest.pulls.listReviews, { ...this.ref, pull_number: this.number, per_page: 100 });
    return reviews.map((r) => ({
      id: r.id,
      user: { login: r.user?.login ?? "ghost", type: r.user?.type ?? "User" },
      state: r.state as Review["state"],
      commitId: r.commit_id ?? "",
      ...(r.submitted_at ? { submittedAt: r.submitted_at } : {}),
    }));
  });

  private membership = memo(async (key: string): Promise<boolean> => {
    const [login, team] = JSON.parse(key) as [string, string];
    const m = /^@([^/]+)\/(.+)$/.exec(team);
    if (!m) return false;
    try {
      const { data } = await this.octokit.rest.teams.getMembershipForUserInOrg({ org: m[1]!, team_slug: m[2]!, username: login });
      return data.state === "active";
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  });

  isTeamMember(login: string, team: string): Promise<boolean> {
    return this.membership(JSON.stringify([login.toLowerCase(), team.toLowerCase()]));
  }

  private permissionOf = memo(async (login: string): Promise<Permission> => {
    try {
      const { data } = await this.octokit.rest.repos.getCollaboratorPermissionLevel({ ...this.ref, username: login });
      const role = (data as { role_name?: string }).role_name;
      const known: Permission[] = ["admin", "maintain", "write", "triage", "read", "none"];
      if (role && (known as string[]).includes(role)) return role as Permission;
      return (known as string[]).includes(data.permission) ? (data.permission as Permission) : "none";
    } catch (err) {
      if (isNotFound(err)) return "none";
      throw err;
    }
  });

  permission(login: string): Promise<Permission> {
    return this.permissionOf(login.toLowerCase());
  }

  private file = memo(async (key: string): Promise<Uint8Array | undefined> => {
    const [sha, path] = JSON.parse(key) as [string, string];
    try {
      const { data } = await this.octokit.rest.repos.getContent({ ...this.ref, path, ref: sha });
      if (Array.isArray(data) || data.type !== "file") return undefined;
      if (data.encoding === "base64") return Buffer.from(data.content, "base64");
      // Over 1 MB the contents API omits the content: fetch the blob (size caps reject it anyway).
      const { data: blob } = await this.octokit.rest.git.getBlob({ ...this.ref, file_sha: data.sha });
      return Buffer.from(blob.content, "base64");
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  });

  fileAt(sha: string, path: string): Promise<Uint8Array | undefined> {
    return this.file(JSON.stringify([sha, path]));
  }

  private dir = memo(async (key: string): Promise<TreeEntry[]> => {
    const [sha, dir] = JSON.parse(key) as [string, string];
    try {
      // The root is the commit's own tree; a directory is addressed as "<sha>:<dir>".
      const { data } = await this.octokit.rest.git.getTree({ ...this.ref, tree_sha: dir ? `${sha}:${dir}` : sha });
      return data.tree.map((e) => ({
        name: e.path ?? "",
        path: dir ? `${dir}/${e.path}` : (e.path ?? ""),
        type: e.type as TreeEntry["type"],
        mode: e.mode ?? "",
        sha: e.sha ?? "",
      }));
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
  });

  listDir(sha: string, dir: string): Promise<TreeEntry[]> {
    return this.dir(JSON.stringify([sha, dir]));
  }

  requestState(database: string, requestId: string): Promise<RequestState> {
    return this.lookupRequestState(database, requestId);
  }

  pushers(): Promise<Pusher[]> {
    return this.lookupPushers();
  }

  /**
   * Latency, not semantics: the core reads one thing after another; once the PR's files show a
   * single request file, this starts in parallel the reads every complete evaluation of it makes
   * (the request at head, base policies and CODEOWNERS, commits, reviews), so the core's calls find
   * them answered. Same reads at the same SHAs as a complete evaluation (the count stays fixed);
   * nothing for a PR that is not a single-request PR; a request that fails early (say, a YAML
   * error) costs these reads anyway. A failed prefetch is read again when the core asks (memo
   * drops rejections).
   */
  async prefetch(mode: "check" | "merge"): Promise<void> {
    const quiet = (p: Promise<unknown>) => void p.catch(() => {});
    const pr = await this.pull();
    const files = await this.changedFiles();
    if (files.length !== 1 || files[0]!.status === "removed") return;
    const where = parseRequestPath(files[0]!.filename);
    const base = mode === "merge" ? pr.mergeParentSha : pr.baseSha;
    if (!where.ok || base === null) return;
    const path = files[0]!.filename;
    const dir = path.slice(0, path.lastIndexOf("/"));
    quiet(this.listDir(pr.headSha, dir));
    if (mode === "merge" && pr.mergeCommitSha) {
      quiet(this.listDir(pr.mergeCommitSha, dir));
      quiet(this.listDir(pr.mergeCommitSha, ""));
      quiet(this.listDir(base, ""));
    }
    quiet(this.fileAt(pr.headSha, path));
    quiet(this.commits());
    quiet(this.reviews());
    for (const p of CODEOWNERS_LOCATIONS) quiet(this.fileAt(base, p));
    quiet(this.listDir(base, "policies").then((entries) => {
      for (const e of entries) if (e.type === "blob" && isPolicyPath(e.path)) quiet(this.fileAt(base, e.path));
    }));
  }
}
