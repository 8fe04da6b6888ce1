// A PullRequestContext for unit tests: per-method answers, injected errors, and a log of every
// call so tests can assert exactly what was read (and how often). `requestScenario` builds a whole
// request pull request as git trees (base, head, merge) so the changed files, blob SHAs and modes
// follow from the files themselves, as they would on GitHub.
import { createHash } from "node:crypto";
import type {
  ChangedFile, Permission, PullRequestCommit, PullRequestContext, PullRequestInfo, Pusher, RequestState, Review, TreeEntry,
} from "../../src/core/context.ts";
import { GITHUB_READS } from "../../src/core/context.ts";

export type ContextMethod = keyof PullRequestContext;

/** File content, optionally with a git mode (default 100644). */
export type FakeFile = string | Uint8Array | { content: string | Uint8Array; mode: string };
export type FakeTree = Record<string, FakeFile>;

export interface FakeContextData {
  pull: PullRequestInfo;
  files: ChangedFile[];
  commits: PullRequestCommit[];
  reviews: Review[];
  /** "@org/team" -> member logins (any case). */
  teams: Record<string, string[]>;
  /** login -> permission; anyone else has "none". */
  permissions: Record<string, Permission>;
  /** commit SHA -> repository files at that commit. */
  trees: Record<string, FakeTree>;
  /** "database/requestId" -> ledger state; anything else is "none". */
  requestStates: Record<string, RequestState>;
  /** Recorded senders of head/base changes (the state database's pushers table). */
  pushers: Pusher[];
  /** An error to throw from a method, always or for some arguments. */
  errors: Partial<Record<ContextMethod, Error | ((...args: unknown[]) => Error | undefined)>>;
}

export class FakeContext implements PullRequestContext {
  readonly calls: { method: ContextMethod; args: unknown[] }[] = [];

  readonly data: FakeContextData;

  constructor(data: FakeContextData) {
    this.data = data;
  }

  /** Number of calls of one method, or of every method. */
  count(method?: ContextMethod): number {
    return method ? this.calls.filter((c) => c.method === method).length : this.calls.length;
  }

  /** Calls that are GitHub API reads (everything but the ledger's requestState). */
  githubReads(): number {
    return this.calls.filter((c) => (GITHUB_READS as readonly string[]).includes(c.method)).length;
  }

  private async call<T>(method: ContextMethod, args: unknown[], answer: () => T): Promise<T> {
    this.calls.push({ method, args });
    const injected = this.data.errors[method];
    const err = typeof injected === "function" ? injected(...args) : injected;
    if (err) throw err;
    // Copies, so the code under test cannot change the fixture between evaluations.
    return structuredClone(answer());
  }

  pull() {
    return this.call("pull", [], () => this.data.pull);
  }
  changedFiles() {
    return this.call("changedFiles", [], () => this.data.files);
  }
  commits() {
    return this.call("commits", [], () => this.data.commits);
  }
  reviews() {
    return this.call("reviews", [], () => this.data.reviews);
  }
  isTeamMember(login: string, team: string) {
    return this.call("isTeamMember", [login, team], () => {
      const entry = Object.entries(this.data.teams).find(([t]) => t.toLowerCase() === team.toLowerCase());
      return (entry?.[1] ?? []).some((m) => m.toLowerCase() === login.toLowerCase());
    });
  }
  permission(login: string) {
    return this.call("permission", [login], () => {
      const entry = Object.entries(this.data.permissions).find(([l]) => l.toLowerCase() === login.toLowerCase());
      return entry?.[1] ?? ("none" as Permission);
    });
  }
  fileAt(sha: string, path: string) {
    return this.call("fileAt", [sha, path], () => {
      const f = this.tree(sha)[path];
      return f === undefined ? undefined : contentOf(f);
    });
  }
  listDir(sha: string, dir: string) {
    return this.call("listDir", [sha, dir], () => listDir(this.tree(sha), dir));
  }
  requestState(database: string, requestId: string) {
    return this.call("requestState", [database, requestId], () => this.data.requestStates[`${database}/${requestId}`] ?? { status: "none" as const });
  }
  pushers() {
    return this.call("pushers", [], () => this.data.pushers);
  }

  private tree(sha: string): FakeTree {
    const t = this.data.trees[sha];
    if (!t) throw new Error(`fake context: no tree for commit ${sha}`);
    return t;
  }
}

const encoder = new TextEncoder();

function contentOf(f: FakeFile): Uint8Array {
  const c = typeof f === "object" && !(f instanceof Uint8Array) ? f.content : f;
  return typeof c === "string" ? encoder.encode(c) : c;
}

function modeOf(f: FakeFile): string {
  return typeof f === "object" && !(f instanceof Uint8Array) ? f.mode : "100644";
}

/** Git's blob id: sha1("blob <size>\0" + content). */
export function blobSha(f: FakeFile): string {
  const bytes = contentOf(f);
  return createHash("sha1").update(`blob ${bytes.byteLength}\0`).update(bytes).digest("hex");
}

/** A stable fake commit SHA for a label. */
export function sha(label: string): string {
  return createHash("sha1").update(`commit ${label}`).digest("hex");
}

function treeSha(tree: FakeTree, prefix: string): string {
  const under = Object.keys(tree).filter((p) => p.startsWith(prefix)).sort();
  return sha(`tree ${prefix} ${under.map((p) => `${p}=${modeOf(tree[p]!)}:${blobSha(tree[p]!)}`).join(",")}`);
}

function listDir(tree: FakeTree, dir: string): TreeEntry[] {
  const prefix = dir === "" ? "" : `${dir}/`;
  const out = new Map<string, TreeEntry>();
  for (const [path, f] of Object.entries(tree)) {
    if (!path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length);
    const slash = rest.indexOf("/");
    if (slash === -1) out.set(rest, { name: rest, path, type: "blob", mode: modeOf(f), sha: blobSha(f) });
    else {
      const name = rest.slice(0, slash);
      // Like git, a subtree's SHA changes whenever anything under it does.
      if (!out.has(name)) out.set(name, { name, path: `${prefix}${name}`, type: "tree", mode: "040000", sha: treeSha(tree, `${prefix}${name}/`) });
    }
  }
  return [...out.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** The PR files list GitHub would return for base..head (no modes: GitHub does not report them). */
export function diffTrees(base: FakeTree, head: FakeTree): ChangedFile[] {
  const out: ChangedFile[] = [];
  for (const path of [...new Set([...Object.keys(base), ...Object.keys(head)])].sort()) {
    const b = base[path];
    const h = head[path];
    if (b === undefined && h !== undefined) out.push({ filename: path, status: "added", sha: blobSha(h) });
    else if (b !== undefined && h === undefined) out.push({ filename: path, status: "removed", sha: blobSha(b) });
    else if (b !== undefined && h !== undefined && (blobSha(b) !== blobSha(h) || modeOf(b) !== modeOf(h))) {
      out.push({ filename: path, status: blobSha(b) === blobSha(h) ? "changed" : "modified", sha: blobSha(h) });
    }
  }
  return out;
}

export function applyChanges(tree: FakeTree, changes: Record<string, FakeFile | null>): FakeTree {
  const out: FakeTree = { ...tree };
  for (const [path, f] of Object.entries(changes)) {
    if (f === null) delete out[path];
    else out[path] = f;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// A standard access repository and request pull request.

export const REQUEST_PATH = "access-requests/orders-prod/alice-inc-1234.yaml";

export const CODEOWNERS = `# last match wins
*                    @acme/security
/access-requests/    @acme/dba
/policies/           @acme/security
`;

export const POLICY = `databases:
  orders-prod:
    connection_env: ORDERS_PROD_DATABASE_URL
    roles:
      orders_readonly:
        max_duration: 8h
        approvals: 1
        approvers: ["@acme/dba"]
        requesters: ["@acme/engineering"]
        require_ticket: true
      orders_admin:
        max_duration: 1h
        approvals: 2
        approvers: ["@acme/dba"]
identities:
  alice: alice
  bob: bob
  dave: dave
  erin: erin
  frank: frank
`;

export const REQUEST = `role: orders_readonly
duration: 2h
reason: Investigate INC-1234 duplicate orders
ticket: INC-1234
`;

export const BASE_FILES: FakeTree = {
  ".github/CODEOWNERS": CODEOWNERS,
  "policies/orders.yaml": POLICY,
  "schemas/access-request.schema.json": "{}\n",
  "package.json": "{}\n",
  "README.md": "# access\n",
};

export const TEAMS: Record<string, string[]> = {
  "@acme/dba": ["dave", "Erin", "frank", "grace"],
  "@acme/engineering": ["alice", "bob"],
  "@acme/security": ["sam"],
};

export const PERMISSIONS: Record<string, Permission> = {
  dave: "write", erin: "maintain", frank: "read", grace: "admin", sam: "admin", alice: "write", bob: "write",
};

export const SHA = { base: sha("base"), head: sha("head"), merge: sha("merge"), mergeParent: sha("merge-parent"), old: sha("old-head") };

export interface ScenarioOptions {
  author?: string;
  /** Changes to the standard base tree (null deletes a file). */
  base?: Record<string, FakeFile | null>;
  /** The PR's changes on top of the base (default: add the standard request). */
  head?: Record<string, FakeFile | null>;
  /** For merge mode: changes the base branch got after the PR was opened (the merge commit's first parent). */
  mergeParent?: Record<string, FakeFile | null>;
  /** For merge mode: the merged tree, when it differs from mergeParent + the PR's changes. */
  mergeTree?: FakeTree;
  merged?: boolean;
  draft?: boolean;
  /** Branch the PR targets (default "main", the default branch). */
  baseRef?: string;
  state?: "open" | "closed";
  reviews?: Review[];
  commits?: PullRequestCommit[];
  teams?: Record<string, string[]>;
  permissions?: Record<string, Permission>;
  requestStates?: Record<string, RequestState>;
  errors?: FakeContextData["errors"];
  /** GitHub's changed_files count, when it should differ from the listed files. */
  changedFilesCount?: number;
  /** Files of the PR listing, when it should differ from the tree diff. */
  files?: ChangedFile[];
  /** GitHub's `commits` count, when it should differ from the listed commits. */
  commitsCount?: number;
  /** For merge mode: `merged_at` (default MERGED_AT). */
  mergedAt?: string;
  /** Recorded pushers (login, or a full record). */
  pushers?: (string | Pusher)[];
}

/** Default `merged_at` of a merged scenario: after every review the helpers create by default. */
export const MERGED_AT = "2026-03-09T00:00:00Z";

export function requestScenario(o: ScenarioOptions = {}): FakeContext {
  const author = o.author ?? "alice";
  const base = applyChanges(BASE_FILES, o.base ?? {});
  const changes = o.head ?? { [REQUEST_PATH]: REQUEST };
  const head = applyChanges(base, changes);
  const mergeParent = applyChanges(base, o.mergeParent ?? {});
  const merged = o.merged ?? false;
  const files = o.files ?? diffTrees(base, head);
  const commits = o.commits ?? [commit(author, "c1")];
  const trees: Record<string, FakeTree> = { [SHA.base]: base, [SHA.head]: head, [SHA.old]: base };
  if (merged) {
    trees[SHA.mergeParent] = mergeParent;
    trees[SHA.merge] = o.mergeTree ?? applyChanges(mergeParent, changes);
  }
  return new FakeContext({
    pull: {
      repository: { owner: "acme", name: "access", defaultBranch: "main" },
      number: 7,
      author,
      draft: o.draft ?? false,
      state: o.state ?? (merged ? "closed" : "open"),
      merged,
      headSha: SHA.head,
      baseRef: o.baseRef ?? "main",
      baseSha: SHA.base,
      mergeCommitSha: merged ? SHA.merge : null,
      mergeParentSha: merged ? SHA.mergeParent : null,
      changedFilesCount: o.changedFilesCount ?? files.length,
      commitsCount: o.commitsCount ?? commits.length,
      mergedAt: merged ? (o.mergedAt ?? MERGED_AT) : null,
    },
    files,
    commits,
    reviews: o.reviews ?? [],
    teams: o.teams ?? TEAMS,
    permissions: o.permissions ?? PERMISSIONS,
    trees,
    requestStates: o.requestStates ?? {},
    pushers: (o.pushers ?? []).map((p) => (typeof p === "string" ? { login: p, action: "synchronize", headSha: SHA.head } : p)),
    errors: o.errors ?? {},
  });
}

/** A commit authored and committed by `login` unless told otherwise. */
export function commit(login: string, label: string, extra: Partial<PullRequestCommit> = {}): PullRequestCommit {
  return {
    sha: sha(label),
    message: "Request access",
    author: { login, name: login, email: `${login}@example.com` },
    committer: { login, name: login, email: `${login}@example.com` },
    ...extra,
  };
}

let reviewSeq = 0;

/** `minute` minutes after 2026-03-01T10:00:00Z, as GitHub writes `submitted_at`. */
export function reviewTime(minute: number): string {
  return new Date(Date.UTC(2026, 2, 1, 10, 0) + minute * 60_000).toISOString().replace(".000Z", "Z");
}

/** A submitted review; `minute` orders reviews in time (default: creation order). */
export function review(login: string, state: Review["state"], commitId: string = SHA.head, opts: { minute?: number; type?: string } = {}): Review {
  reviewSeq++;
  const minute = opts.minute ?? reviewSeq;
  return {
    id: 1000 + reviewSeq,
    user: { login, type: opts.type ?? "User" },
    state,
    commitId,
    ...(state === "PENDING" ? {} : { submittedAt: reviewTime(minute) }),
  };
}

export const approve = (login: string, commitId: string = SHA.head, opts: { minute?: number; type?: string } = {}) =>
  review(login, "APPROVED", commitId, opts);
