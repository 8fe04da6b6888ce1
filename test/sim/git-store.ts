// A bare git repository driven by the `git` binary: the simulator's source of truth for blobs,
// trees, commits and refs. Every SHA the simulator returns is a real git object id.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";

export interface GitIdentity { name: string; email: string; date: Date }

export interface TreeEntry { mode: string; type: "blob" | "tree" | "commit"; sha: string; size: number | null; path: string }

export interface CommitInfo {
  sha: string;
  tree: string;
  parents: string[];
  author: GitIdentity;
  committer: GitIdentity;
  message: string;
}

export interface DiffEntry {
  status: "added" | "removed" | "modified" | "renamed" | "copied" | "changed";
  filename: string;
  previousFilename?: string;
  oldMode: string;
  newMode: string;
  /** blob id at the head side (all zeros for a removed file, as GitHub reports it) */
  sha: string;
  additions: number;
  deletions: number;
  binary: boolean;
}

/** A change to apply on top of a tree: content (string or bytes) with an optional mode, or null to delete. */
export type FileChange = string | Buffer | { content: string | Buffer; mode?: "100644" | "100755" | "120000" } | null;

export const ZERO_SHA = "0000000000000000000000000000000000000000";
const SHA_RE = /^[0-9a-f]{40}$/;

export class GitError extends Error {
  readonly code: number | null;
  readonly stderr: string;
  constructor(message: string, code: number | null, stderr: string) {
    super(message);
    this.code = code;
    this.stderr = stderr;
  }
}

const TREEISH_RE = /^[0-9a-f]{40}(?::.*)?$/s;
const isSha = (s: string | null) => s === null || SHA_RE.test(s);

export class GitStore {
  readonly dir: string;
  private readonly root: string;

  private constructor(dir: string, root: string) {
    this.dir = dir;
    this.root = root;
  }

  // Answers about objects addressed by full SHAs never change (git objects are immutable), so they
  // are memoised per store: the simulator answers in far fewer git processes. Refs are never cached;
  // "absent" answers are not kept (the object may be written later). Callers get copies.
  readonly #memo = new Map<string, Promise<unknown>>();
  #cached<T>(key: string | null, fn: () => Promise<T>, copy: (v: T) => T, keep: (v: T) => boolean = () => true): Promise<T> {
    if (key === null) return fn();
    let p = this.#memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = fn();
      this.#memo.set(key, p);
      p.then((v) => { if (!keep(v)) this.#memo.delete(key); }, () => this.#memo.delete(key));
    }
    return p.then(copy);
  }

  static async create(defaultBranch = "main"): Promise<GitStore> {
    const root = await mkdtemp(join(tmpdir(), "jit-sim-git-"));
    const dir = join(root, "repo.git");
    const store = new GitStore(dir, root);
    await store.git(["init", "--quiet", "--bare", `--initial-branch=${defaultBranch}`, dir], { cwd: root, noGitDir: true });
    return store;
  }

  async destroy(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }

  /** Runs git; resolves stdout. `okCodes` lists exit codes that are not failures. */
  git(args: string[], opts: { input?: string | Buffer; env?: Record<string, string>; cwd?: string; noGitDir?: boolean; okCodes?: number[] } = {}): Promise<{ stdout: Buffer; code: number }> {
    return new Promise((resolve, reject) => {
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: this.root,
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_CONFIG_GLOBAL: "/dev/null",
        LC_ALL: "C",
        ...(opts.noGitDir ? {} : { GIT_DIR: this.dir }),
        ...opts.env,
      };
      const child = spawn("git", args, { cwd: opts.cwd ?? this.root, env, stdio: ["pipe", "pipe", "pipe"] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on("data", (b: Buffer) => out.push(b));
      child.stderr.on("data", (b: Buffer) => err.push(b));
      child.on("error", reject);
      child.on("close", (code) => {
        const ok = [0, ...(opts.okCodes ?? [])];
        if (code !== null && ok.includes(code)) resolve({ stdout: Buffer.concat(out), code });
        else {
          const stderr = Buffer.concat(err).toString("utf8");
          reject(new GitError(`git ${args[0]} failed (${code}): ${stderr.trim()}`, code, stderr));
        }
      });
      child.stdin.on("error", () => { /* git may exit before reading all input */ });
      child.stdin.end(opts.input ?? "");
    });
  }

  private async text(args: string[], opts: Parameters<GitStore["git"]>[1] = {}): Promise<string> {
    return (await this.git(args, opts)).stdout.toString("utf8").trim();
  }

  async writeBlob(content: string | Buffer): Promise<string> {
    return this.text(["hash-object", "-w", "--stdin"], { input: content });
  }

  async readBlob(sha: string): Promise<Buffer> {
    return this.#cached(SHA_RE.test(sha) ? `blob ${sha}` : null, async () => (await this.git(["cat-file", "blob", sha])).stdout, (b) => Buffer.from(b));
  }

  /** Object type, or null when the object does not exist. */
  async objectType(sha: string): Promise<string | null> {
    if (!SHA_RE.test(sha)) return null;
    return this.#cached(`type ${sha}`, async () => {
      const { stdout, code } = await this.git(["cat-file", "-t", sha], { okCodes: [1, 128] });
      return code === 0 ? stdout.toString("utf8").trim() : null;
    }, (t) => t, (t) => t !== null);
  }

  async objectSize(sha: string): Promise<number> {
    return Number(await this.text(["cat-file", "-s", sha]));
  }

  /** Resolves a branch name, full ref, tag or SHA to a commit SHA; null when it does not exist. */
  async resolveCommit(ref: string): Promise<string | null> {
    if (SHA_RE.test(ref)) return this.#cached(`commit-of ${ref}`, () => this.#resolveCommit(ref), (c) => c, (c) => c !== null);
    return this.#resolveCommit(ref);
  }

  async #resolveCommit(ref: string): Promise<string | null> {
    if (!ref || ref.startsWith("-") || ref.includes("..") || /[\s~^:?*[\\]/.test(ref)) return null;
    const candidates = SHA_RE.test(ref) ? [ref] : ref.startsWith("refs/") ? [ref] : [`refs/heads/${ref}`, `refs/tags/${ref}`, ref];
    for (const c of candidates) {
      const { stdout, code } = await this.git(["rev-parse", "--verify", "--quiet", `${c}^{commit}`], { okCodes: [1, 128] });
      if (code === 0) return stdout.toString("utf8").trim();
    }
    return null;
  }

  /** Reads a full ref (refs/heads/x); null when absent. */
  async readRef(ref: string): Promise<string | null> {
    const { stdout, code } = await this.git(["rev-parse", "--verify", "--quiet", ref], { okCodes: [1, 128] });
    return code === 0 ? stdout.toString("utf8").trim() : null;
  }

  async listRefs(prefix = "refs/"): Promise<{ ref: string; sha: string; type: string }[]> {
    const out = await this.text(["for-each-ref", "--format=%(refname) %(objectname) %(objecttype)", prefix]);
    return out ? out.split("\n").map((l) => { const [ref, sha, type] = l.split(" ") as [string, string, string]; return { ref, sha, type }; }) : [];
  }

  /** Compare-and-swap ref update: `expectedOld` ZERO_SHA means "must not exist yet". */
  async updateRef(ref: string, sha: string, expectedOld?: string): Promise<void> {
    await this.git(["update-ref", ref, sha, ...(expectedOld !== undefined ? [expectedOld] : [])]);
  }

  async deleteRef(ref: string): Promise<void> {
    await this.git(["update-ref", "-d", ref]);
  }

  async readCommit(sha: string): Promise<CommitInfo> {
    return this.#cached(SHA_RE.test(sha) ? `commit ${sha}` : null, () => this.#readCommit(sha),
      (c) => ({ ...c, parents: [...c.parents], author: { ...c.author }, committer: { ...c.committer } }));
  }

  async #readCommit(sha: string): Promise<CommitInfo> {
    const raw = (await this.git(["cat-file", "commit", sha])).stdout.toString("utf8");
    const split = raw.indexOf("\n\n");
    const header = raw.slice(0, split === -1 ? raw.length : split);
    const message = split === -1 ? "" : raw.slice(split + 2);
    let tree = "";
    const parents: string[] = [];
    let author: GitIdentity | undefined;
    let committer: GitIdentity | undefined;
    const ident = (s: string): GitIdentity => {
      const m = /^(.*) <(.*)> (\d+) ([+-]\d{4})$/.exec(s);
      if (!m) throw new Error(`bad identity line: ${s}`);
      return { name: m[1]!, email: m[2]!, date: new Date(Number(m[3]) * 1000) };
    };
    for (const line of header.split("\n")) {
      if (line.startsWith("tree ")) tree = line.slice(5);
      else if (line.startsWith("parent ")) parents.push(line.slice(7));
      else if (line.startsWith("author ")) author = ident(line.slice(7));
      else if (line.startsWith("committer ")) committer = ident(line.slice(10));
    }
    return { sha, tree, parents, author: author!, committer: committer!, message };
  }

  async commitTree(tree: string, parents: string[], message: string, author: GitIdentity, committer: GitIdentity = author): Promise<string> {
    const stamp = (d: Date) => `${Math.floor(d.getTime() / 1000)} +0000`;
    return this.text(["commit-tree", tree, ...parents.flatMap((p) => ["-p", p]), "-F", "-"], {
      input: message,
      env: {
        GIT_AUTHOR_NAME: author.name, GIT_AUTHOR_EMAIL: author.email, GIT_AUTHOR_DATE: stamp(author.date),
        GIT_COMMITTER_NAME: committer.name, GIT_COMMITTER_EMAIL: committer.email, GIT_COMMITTER_DATE: stamp(committer.date),
      },
    });
  }

  /** Lists a tree (optionally one path inside it, optionally recursive). */
  async lsTree(treeish: string, opts: { path?: string; recursive?: boolean } = {}): Promise<TreeEntry[]> {
    const key = TREEISH_RE.test(treeish) ? `ls ${JSON.stringify([treeish, opts.path ?? null, opts.recursive ?? false])}` : null;
    return this.#cached(key, () => this.#lsTree(treeish, opts), (es) => es.map((e) => ({ ...e })));
  }

  async #lsTree(treeish: string, opts: { path?: string; recursive?: boolean }): Promise<TreeEntry[]> {
    const args = ["ls-tree", "-z", "--long", "--full-tree"];
    if (opts.recursive) args.push("-r", "-t");
    args.push(treeish);
    if (opts.path !== undefined) args.push("--", opts.path);
    const out = (await this.git(args)).stdout.toString("utf8");
    return out.split("\0").filter(Boolean).map((rec) => {
      const tab = rec.indexOf("\t");
      const [mode, type, sha, size] = rec.slice(0, tab).split(/ +/) as [string, TreeEntry["type"], string, string];
      return { mode, type, sha, size: size === "-" ? null : Number(size), path: rec.slice(tab + 1) };
    });
  }

  /** The entry at `path` in a tree, or null. The empty path is the root tree itself. */
  async entryAt(treeish: string, path: string): Promise<TreeEntry | null> {
    const clean = path.replace(/^\/+|\/+$/g, "");
    if (clean === "") {
      const sha = await this.text(["rev-parse", `${treeish}^{tree}`]);
      return { mode: "040000", type: "tree", sha, size: null, path: "" };
    }
    const entries = await this.lsTree(treeish, { path: clean });
    return entries.find((e) => e.path === clean) ?? null;
  }

  /** Builds a new tree from `baseTree` (or empty) plus changes, using a throwaway index. */
  async buildTree(baseTree: string | null, changes: Record<string, FileChange>, treeEntries: { path: string; sha: string }[] = []): Promise<string> {
    const index = join(this.root, `index-${randomUUID()}`);
    const env = { GIT_INDEX_FILE: index };
    try {
      if (baseTree) await this.git(["read-tree", baseTree], { env });
      else await this.git(["read-tree", "--empty"], { env });
      const lines: string[] = [];
      const blobs = new Map<string, string>(); // one hash-object per distinct text (large fixtures)
      for (const [path, change] of Object.entries(changes)) {
        if (change === null) { lines.push(`0 ${ZERO_SHA}\t${path}`); continue; }
        const content = typeof change === "string" || Buffer.isBuffer(change) ? change : change.content;
        const mode = typeof change === "object" && !Buffer.isBuffer(change) && change.mode ? change.mode : "100644";
        let blob = typeof content === "string" ? blobs.get(content) : undefined;
        if (!blob) {
          blob = await this.writeBlob(content);
          if (typeof content === "string") blobs.set(content, blob);
        }
        lines.push(`${mode} ${blob}\t${path}`);
      }
      if (lines.length) await this.git(["update-index", "--index-info"], { env, input: lines.join("\n") + "\n" });
      for (const t of treeEntries) {
        const existing = (await this.git(["ls-files", "-z", "--", `${t.path}/`], { env })).stdout.toString("utf8").split("\0").filter(Boolean);
        if (existing.length) await this.git(["update-index", "--force-remove", "-z", "--stdin"], { env, input: existing.join("\0") + "\0" });
        await this.git(["read-tree", `--prefix=${t.path}/`, t.sha], { env });
      }
      return await this.text(["write-tree"], { env });
    } finally {
      await rm(index, { force: true });
    }
  }

  /** Applies raw index lines ("mode sha\tpath"; mode 0 deletes) on top of a tree. */
  async applyIndexLines(baseTree: string | null, lines: string[]): Promise<string> {
    const index = join(this.root, `index-${randomUUID()}`);
    const env = { GIT_INDEX_FILE: index };
    try {
      await this.git(baseTree ? ["read-tree", baseTree] : ["read-tree", "--empty"], { env });
      if (lines.length) await this.git(["update-index", "--index-info"], { env, input: lines.join("\n") + "\n" });
      return await this.text(["write-tree"], { env });
    } finally {
      await rm(index, { force: true });
    }
  }

  async mergeBase(a: string, b: string): Promise<string | null> {
    return this.#cached(isSha(a) && isSha(b) ? `merge-base ${a} ${b}` : null, async () => {
      const { stdout, code } = await this.git(["merge-base", a, b], { okCodes: [1] });
      return code === 0 ? stdout.toString("utf8").trim() : null;
    }, (m) => m);
  }

  /** Three-way merge of two commits; the merged tree, or null on conflict. */
  async mergeTrees(ours: string, theirs: string): Promise<string | null> {
    return this.#cached(isSha(ours) && isSha(theirs) ? `merge-tree ${ours} ${theirs}` : null, () => this.#mergeTrees(ours, theirs), (t) => t);
  }

  async #mergeTrees(ours: string, theirs: string): Promise<string | null> {
    const { stdout, code } = await this.git(["merge-tree", "--write-tree", "--no-messages", "--allow-unrelated-histories", ours, theirs], { okCodes: [1] });
    return code === 0 ? stdout.toString("utf8").split("\n")[0]!.trim() : null;
  }

  /** Commits reachable from `head` but not from `base`, oldest first. */
  async commitsBetween(base: string | null, head: string): Promise<string[]> {
    return this.#cached(isSha(base) && isSha(head) ? `between ${base} ${head}` : null, () => this.#commitsBetween(base, head), (l) => [...l]);
  }

  async #commitsBetween(base: string | null, head: string): Promise<string[]> {
    const out = await this.text(["rev-list", "--reverse", "--topo-order", head, ...(base ? [`^${base}`] : [])]);
    return out ? out.split("\n") : [];
  }

  async isAncestor(a: string, b: string): Promise<boolean> {
    return this.#cached(isSha(a) && isSha(b) ? `ancestor ${a} ${b}` : null, async () => {
      const { code } = await this.git(["merge-base", "--is-ancestor", a, b], { okCodes: [1] });
      return code === 0;
    }, (x) => x);
  }

  /** File-level diff between two commits (or trees), with rename detection as GitHub shows it. */
  async diff(from: string, to: string): Promise<DiffEntry[]> {
    return this.#cached(isSha(from) && isSha(to) ? `diff ${from} ${to}` : null, () => this.#diff(from, to), (ds) => ds.map((d) => ({ ...d })));
  }

  async #diff(from: string, to: string): Promise<DiffEntry[]> {
    const raw = (await this.git(["diff-tree", "-r", "-z", "-M", "--raw", "--no-commit-id", from, to])).stdout.toString("utf8").split("\0");
    const num = (await this.git(["diff-tree", "-r", "-z", "-M", "--numstat", "--no-commit-id", from, to])).stdout.toString("utf8").split("\0");
    const stats = new Map<string, { add: number; del: number; binary: boolean }>();
    for (let i = 0; i < num.length; i++) {
      const rec = num[i]!;
      if (!rec) continue;
      const [a, d, p] = rec.split("\t") as [string, string, string];
      let path = p;
      if (p === "") { i += 2; path = num[i]!; }
      stats.set(path, { add: a === "-" ? 0 : Number(a), del: d === "-" ? 0 : Number(d), binary: a === "-" });
    }
    const out: DiffEntry[] = [];
    for (let i = 0; i < raw.length; i++) {
      const meta = raw[i]!;
      if (!meta.startsWith(":")) continue;
      const [oldMode, newMode, , newSha, statusField] = meta.slice(1).split(" ") as [string, string, string, string, string];
      const code = statusField[0]!;
      const first = raw[++i]!;
      let filename = first;
      let previousFilename: string | undefined;
      if (code === "R" || code === "C") { previousFilename = first; filename = raw[++i]!; }
      const st = stats.get(filename) ?? { add: 0, del: 0, binary: false };
      const status: DiffEntry["status"] = code === "A" ? "added" : code === "D" ? "removed" : code === "R" ? "renamed" : code === "C" ? "copied" : code === "T" ? "changed" : "modified";
      out.push({ status, filename, ...(previousFilename !== undefined ? { previousFilename } : {}), oldMode, newMode, sha: newSha, additions: st.add, deletions: st.del, binary: st.binary });
    }
    return out;
  }

  /** Unified diff hunks for one file (no headers), or null for binary files. */
  async patch(from: string, to: string, entry: DiffEntry): Promise<string | null> {
    const key = isSha(from) && isSha(to) ? `patch ${JSON.stringify([from, to, entry.filename, entry.previousFilename ?? null, entry.binary])}` : null;
    return this.#cached(key, () => this.#patch(from, to, entry), (x) => x);
  }

  /** Patches of many entries with one git call (a page of a large PR); same text as patch(). */
  async patches(from: string, to: string, entries: DiffEntry[]): Promise<(string | null)[]> {
    const plain = entries.filter((e) => !e.binary && !e.previousFilename).map((e) => e.filename);
    const sections = new Map<string, string>();
    if (plain.length > 1) {
      const out = (await this.git(["diff-tree", "-p", "-M", "--no-color", "--no-commit-id", from, to, "--", ...plain])).stdout.toString("utf8");
      for (const section of out.split(/^(?=diff --git )/m)) {
        const header = section.slice(0, section.indexOf("\n") + 1);
        const at = section.indexOf("\n@@");
        sections.set(header, at === -1 ? "" : section.slice(at + 1).replace(/\n$/, ""));
      }
    }
    return Promise.all(entries.map((e) => {
      const found = sections.get(`diff --git a/${e.filename} b/${e.filename}\n`);
      return found !== undefined ? (found === "" ? null : found) : this.patch(from, to, e);
    }));
  }

  async #patch(from: string, to: string, entry: DiffEntry): Promise<string | null> {
    if (entry.binary) return null;
    const paths = entry.previousFilename ? [entry.previousFilename, entry.filename] : [entry.filename];
    const out = (await this.git(["diff-tree", "-p", "-M", "--no-color", "--no-commit-id", from, to, "--", ...paths])).stdout.toString("utf8");
    const at = out.indexOf("\n@@");
    if (at === -1) return null;
    return out.slice(at + 1).replace(/\n$/, "");
  }
}
