// PullRequestContext over Octokit: each method is one logical read (see src/core/context.ts).
// Answers are memoised per instance, so one evaluation never reads the same thing twice; build a
// fresh instance per evaluation so every decision uses fresh API reads.
import type {
  ChangedFile, FileStatus, Permission, PullRequestCommit, PullRequestContext, PullRequestInfo,
  Pusher, RequestState, Review, TreeEntry,
} from "../core/context.ts";
import { CODEOWNERS_LOCATIONS, codeownersFromBytes, ownerKind, ownersOf } from "../core/codeowners.ts";
import { readPolicies } from "../core/policy-reader.ts";
import { parseRequestPath } from "../core/request-path.ts";
import { immutableReads, isFullSha, type RawEntry } from "./immutable-cache.ts";
import { isNotFound, type Octokit, type RepoRef } from "./octokit.ts";

export type RequestStateLookup = (database: string, requestId: string) => Promise<RequestState>;
export type PushersLookup = () => Promise<Pusher[]>;
/** The head and base SHAs a delivery named (untrusted: only says whether cached lists are likely to fit). */
export interface ListCacheHint { head?: string; base?: string }

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

  /** Set for a check (never for a merge): its files and commits may come from the cache of lists. */
  private readonly lists: ListCacheHint | undefined;

  constructor(octokit: Octokit, ref: RepoRef, number: number, lookupRequestState: RequestStateLookup, lookupPushers: PushersLookup, lists?: ListCacheHint) {
    this.octokit = octokit;
    this.ref = ref;
    this.number = number;
    this.lookupRequestState = lookupRequestState;
    this.lookupPushers = lookupPushers;
    this.lists = lists;
  }

  // A pull request's files and commits are fixed by its (head, base) SHAs: a check caches them
  // process-wide under both full SHAs, as the fresh pulls/get reports them (the merge path never
  // reads this cache). The delivery's SHAs are only a hint of whether to wait for pulls/get (cached
  // there) or read the lists at once beside it (a new head); the key is always the fresh read's.
  private listKey(kind: "files" | "commits", head: string, base: string): string {
    return this.key(kind, String(this.number), head, base);
  }

  private hinted(): boolean {
    const h = this.lists;
    return !!h?.head && !!h.base && isFullSha(h.head) && isFullSha(h.base)
      && immutableReads.has(this.listKey("files", h.head, h.base)) && immutableReads.has(this.listKey("commits", h.head, h.base));
  }

  private async cachedList<T>(kind: "files" | "commits"): Promise<T[] | undefined> {
    if (!this.lists || !this.hinted()) return undefined;
    const pr = await this.pullData();
    if (!isFullSha(pr.head.sha) || !isFullSha(pr.base.sha)) return undefined;
    const hit = immutableReads.get(this.listKey(kind, pr.head.sha, pr.base.sha));
    return hit?.kind === "list" ? [...(hit.items as T[])] : undefined;
  }

  /** Stores both lists once read, only if the commits end at the head pulls/get reported (read together). */
  private storeLists(): void {
    if (!this.lists) return;
    void Promise.all([this.pullData(), this.changedFiles(), this.commits()]).then(([pr, files, commits]) => {
      const head = pr.head.sha;
      const base = pr.base.sha;
      if (!isFullSha(head) || !isFullSha(base) || commits.at(-1)?.sha !== head) return;
      const put = (kind: "files" | "commits", items: readonly unknown[]) =>
        immutableReads.set(this.listKey(kind, head, base), { kind: "list", items, bytes: JSON.stringify(items).length * 2 });
      put("files", files);
      put("commits", commits);
    }, () => {});
  }

  private pullData = once(async () => (await this.octokit.rest.pulls.get({ ...this.ref, pull_number: this.number })).data);

  /** A commit's first parent: immutable, so cached by the commit's full SHA. */
  private async firstParent(sha: string): Promise<string | null> {
    const key = this.key("parent", sha);
    const hit = isFullSha(sha) ? immutableReads.get(key) : undefined;
    if (hit?.kind === "sha") return hit.sha;
    const { data: commit } = await this.octokit.rest.git.getCommit({ ...this.ref, commit_sha: sha });
    const parent = commit.parents[0]?.sha ?? null;
    if (isFullSha(sha)) immutableReads.set(key, { kind: "sha", sha: parent });
    return parent;
  }

  pull = once(async (): Promise<PullRequestInfo> => {
    const pr = await this.pullData();
    let mergeParentSha: string | null = null;
    if (pr.merged && pr.merge_commit_sha) mergeParentSha = await this.firstParent(pr.merge_commit_sha);
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
    const cached = await this.cachedList<ChangedFile>("files");
    if (cached) return cached;
    this.storeLists();
    const files = await this.octokit.paginate(this.octokit.rest.pulls.listFiles, { ...this.ref, pull_number: this.number, per_page: 100 });
    return files.map((f) => ({
      filename: f.filename,
      status: f.status as FileStatus,
      sha: f.sha ?? null,
      ...(f.previous_filename ? { previousFilename: f.previous_filename } : {}),
    }));
  });

  commits = once(async (): Promise<PullRequestCommit[]> => {
    const cached = await this.cachedList<PullRequestCommit>("commits");
    if (cached) return cached;
    this.storeLists();
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

  // A check whose prefetch will ask one team about several logins lists that team's members once
  // (one call when it fits a page) instead of one membership call per login. Both answers include
  // child teams' members and leave out pending invitations; a roster that is not complete on one
  // page, or fails, is not used (per-login reads as before). Merges never use rosters.
  private rosters = new Map<string, Promise<Set<string> | null>>();
  /** Set while a check's prefetch decides which teams to list: membership reads wait for it. */
  private rosterPlan: Promise<void> | undefined;

  private async roster(team: string): Promise<Set<string> | null> {
    const m = /^@([^/]+)\/(.+)$/.exec(team);
    if (!m) return null;
    try {
      const { data } = await this.octokit.rest.teams.listMembersInOrg({ org: m[1]!, team_slug: m[2]!, per_page: 100 });
      return data.length < 100 ? new Set(data.map((u) => u.login.toLowerCase())) : null;
    } catch {
      return null;
    }
  }

  async isTeamMember(login: string, team: string): Promise<boolean> {
    const [l, t] = [login.toLowerCase(), team.toLowerCase()];
    if (this.rosterPlan) await this.rosterPlan;
    const listed = await this.rosters.get(t);
    if (listed) return listed.has(l);
    return this.membership(JSON.stringify([l, t]));
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

  // Immutable reads (a path, a tree or a blob at a full SHA) go through the process-wide cache
  // (immutable-cache.ts); the memo above it only joins reads in flight within this evaluation.
  private key(kind: string, ...parts: string[]): string {
    return [kind, this.ref.owner, this.ref.repo, ...parts].join("\0");
  }

  /** The entries of `dir` at commit `sha` from cached trees alone: null when absent there, undefined when not cached. */
  private cachedDir(sha: string, dir: string): RawEntry[] | null | undefined {
    if (!isFullSha(sha)) return undefined;
    const direct = immutableReads.get(this.key("dir", sha, dir));
    if (direct?.kind === "tree") return direct.entries;
    if (dir === "") return undefined;
    const cut = dir.lastIndexOf("/");
    const parent = this.cachedDir(sha, cut === -1 ? "" : dir.slice(0, cut));
    if (parent === undefined || parent === null) return parent;
    const entry = parent.find((e) => e.name === dir.slice(cut + 1));
    if (!entry) return null;
    if (entry.type !== "tree") return undefined; // not a directory: let the API answer as it does
    const tree = immutableReads.get(this.key("tree", entry.sha));
    return tree?.kind === "tree" ? tree.entries : undefined;
  }

  private dirEntries = memo(async (key: string): Promise<RawEntry[]> => {
    const [sha, dir] = JSON.parse(key) as [string, string];
    const cached = this.cachedDir(sha, dir);
    if (cached !== undefined) return cached ?? [];
    try {
      // The root is the commit's own tree; a directory is addressed as "<sha>:<dir>".
      const { data } = await this.octokit.rest.git.getTree({ ...this.ref, tree_sha: dir ? `${sha}:${dir}` : sha });
      const entries = data.tree.map((e): RawEntry => ({ name: e.path ?? "", type: e.type as RawEntry["type"], mode: e.mode ?? "", sha: e.sha ?? "" }));
      if (isFullSha(sha) && !data.truncated) {
        immutableReads.set(this.key("dir", sha, dir), { kind: "tree", entries });
        if (isFullSha(data.sha)) immutableReads.set(this.key("tree", data.sha), { kind: "tree", entries });
      }
      return entries;
    } catch (err) {
      // A 404 is not cached: a commit just pushed can be missing for a moment (replication), and
      // access can come back. Absence is cached only as what a cached parent tree does not list.
      if (isNotFound(err)) return [];
      throw err;
    }
  });

  listDir(sha: string, dir: string): Promise<TreeEntry[]> {
    return this.dirEntries(JSON.stringify([sha, dir])).then((entries) => entries.map((e) => ({ ...e, path: dir ? `${dir}/${e.name}` : e.name })));
  }

  private blob = async (sha: string): Promise<Uint8Array> => {
    const hit = immutableReads.get(this.key("blob", sha));
    if (hit?.kind === "bytes" && hit.bytes) return hit.bytes;
    const { data } = await this.octokit.rest.git.getBlob({ ...this.ref, file_sha: sha });
    const bytes = Buffer.from(data.content, "base64");
    if (isFullSha(sha)) immutableReads.set(this.key("blob", sha), { kind: "bytes", bytes });
    return bytes;
  };

  private file = memo(async (key: string): Promise<Uint8Array | undefined> => {
    const [sha, path] = JSON.parse(key) as [string, string];
    const contentKey = this.key("content", sha, path);
    const hit = isFullSha(sha) ? immutableReads.get(contentKey) : undefined;
    if (hit?.kind === "bytes") return hit.bytes;
    // Its directory's tree at this commit is cached: the entry says what is there, and a regular or
    // executable file is its blob by SHA. A symbolic link goes to the contents API, which follows it.
    const cut = path.lastIndexOf("/");
    const dir = this.cachedDir(sha, cut === -1 ? "" : path.slice(0, cut));
    if (dir === null) return undefined;
    if (dir !== undefined) {
      const entry = dir.find((e) => e.name === path.slice(cut + 1));
      if (!entry || entry.type !== "blob") return undefined;
      if (entry.mode === "100644" || entry.mode === "100755") return this.blob(entry.sha);
    }
    try {
      const { data } = await this.octokit.rest.repos.getContent({ ...this.ref, path, ref: sha });
      let bytes: Uint8Array | undefined;
      if (Array.isArray(data) || data.type !== "file") bytes = undefined;
      else if (data.encoding === "base64") bytes = Buffer.from(data.content, "base64");
      // Over 1 MB the contents API omits the content: fetch the blob (size caps reject it anyway).
      else bytes = await this.blob(data.sha);
      if (isFullSha(sha)) immutableReads.set(contentKey, { kind: "bytes", bytes });
      return bytes;
    } catch (err) {
      if (isNotFound(err)) return undefined; // not cached, as for trees above
      throw err;
    }
  });

  fileAt(sha: string, path: string): Promise<Uint8Array | undefined> {
    return this.file(JSON.stringify([sha, path]));
  }

  requestState(database: string, requestId: string): Promise<RequestState> {
    return this.lookupRequestState(database, requestId);
  }

  pushers(): Promise<Pusher[]> {
    return this.lookupPushers();
  }

  /**
   * Latency, not semantics: the core reads one thing after another; this starts in parallel, as
   * early as their inputs are known, the reads an evaluation of a single-request PR makes, so the
   * core's calls find them answered or in flight. Round 1: the pull request, its files, commits and
   * reviews (they need only its number). Round 2: the request at head, the merge commit's trees
   * and parent, the base's root tree (policies/ and CODEOWNERS then come from trees and blobs cached
   * by SHA), and the team memberships and permissions the policy and CODEOWNERS at the base will
   * ask about: the author's in the requester teams of the request's database, and each approving or
   * objecting reviewer's in its approver and owner teams. The same answers the core would read at
   * the same SHAs; a membership or permission the core ends up not needing (a reviewer it excludes
   * earlier, another role's requester team) may be read once more than without it. For a PR that
   * is not a single-request PR only round 1 goes out (its commits and reviews are then two reads the
   * core does not make). A failed prefetch is read again when the core asks (memo drops rejections).
   */
  async prefetch(mode: "check" | "merge"): Promise<void> {
    if (mode === "merge") return this.prefetchReads(mode, () => {});
    let decided!: () => void;
    this.rosterPlan = new Promise<void>((resolve) => { decided = resolve; });
    try {
      await this.prefetchReads(mode, (asked) => {
        for (const [team, logins] of asked) if (logins.size >= 2) this.rosters.set(team, this.roster(team));
      });
    } finally {
      decided();
    }
  }

  private async prefetchReads(mode: "check" | "merge", plan: (asked: Map<string, Set<string>>) => void): Promise<void> {
    const quiet = (p: Promise<unknown>) => void p.catch(() => {});
    const [files, commits, reviews] = [this.changedFiles(), this.commits(), this.reviews()];
    for (const p of [files, commits, reviews]) quiet(p);
    const pr = await this.pullData();
    const changed = await files;
    if (changed.length !== 1 || changed[0]!.status === "removed") return;
    const path = changed[0]!.filename;
    const where = parseRequestPath(path);
    if (!where.ok) return;
    const dir = path.slice(0, path.lastIndexOf("/"));
    quiet(this.listDir(pr.head.sha, dir));
    quiet(this.fileAt(pr.head.sha, path));
    if (mode === "merge" && pr.merged && pr.merge_commit_sha) {
      quiet(this.listDir(pr.merge_commit_sha, dir));
      quiet(this.listDir(pr.merge_commit_sha, ""));
    }
    const base = mode === "merge" ? (await this.pull()).mergeParentSha : pr.base.sha;
    if (base === null) return;
    await this.listDir(base, "");
    const [policy, owners] = await Promise.all([
      readPolicies({ where: base, list: () => this.listDir(base, "policies"), read: (e) => this.fileAt(base, e.path) }),
      Promise.all(CODEOWNERS_LOCATIONS.map((p) => this.fileAt(base, p))),
    ]);
    const rules = policy?.details;
    const db = rules && Object.hasOwn(rules.databases, where.database) ? rules.databases[where.database] : undefined;
    if (!rules || !db) return;
    const roles = Object.values(db.roles);
    const author = pr.user.login.toLowerCase();
    const teams = (entries: readonly string[]) => entries.filter((e) => e.startsWith("@"));
    const asked = new Map<string, Set<string>>(); // team -> logins: asked once the plan is made
    const ask = (login: string, team: string) => {
      const t = team.toLowerCase();
      asked.set(t, (asked.get(t) ?? new Set()).add(login.toLowerCase()));
    };
    for (const t of new Set(roles.flatMap((r) => (r.requesters && !r.requesters.includes(author) ? teams(r.requesters) : [])))) ask(author, t);
    const codeowners = codeownersFromBytes(new Map(CODEOWNERS_LOCATIONS.map((p, i) => [p, owners[i]])));
    const ownerTeams = codeowners ? ownersOf(codeowners.parsed, path).owners.filter((o) => ownerKind(o) === "team") : [];
    const reviewerTeams = new Set([...ownerTeams, ...roles.flatMap((r) => teams(r.approvers))]);
    // As the core: each reviewer's latest decisive review; approvals count only on the head SHA.
    const identity = (login: string) => (Object.hasOwn(rules.identities, login) ? rules.identities[login] : undefined);
    const contributors = new Set((await commits).flatMap((c) => [c.author.login, c.committer.login]).filter((l): l is string => !!l).map((l) => l.toLowerCase()));
    const latest = new Map<string, Review>();
    for (const r of await reviews) if (r.state === "APPROVED" || r.state === "CHANGES_REQUESTED" || r.state === "DISMISSED") latest.set(r.user.login.toLowerCase(), r);
    for (const [login, r] of latest) {
      if (r.state === "DISMISSED" || r.user.type === "Bot" || login === author || (r.state === "APPROVED" && r.commitId !== pr.head.sha)) continue;
      // Beneficiaries and contributors never approve: the core excludes them before any read.
      if (r.state === "APPROVED" && (contributors.has(login) || (identity(login) !== undefined && identity(login) === identity(author)))) continue;
      for (const t of reviewerTeams) ask(login, t);
      quiet(this.permission(login));
    }
    plan(asked);
    for (const [team, logins] of asked) for (const login of logins) quiet(this.isTeamMember(login, team));
  }
}
