// Repository, branches, contents at a ref, collaborator permission, users.
import type { SimContext } from "../context.ts";
import type { TreeEntry } from "../git-store.ts";
import { commitShape, diffEntryShape, publicUser, pullSimpleShape, repoShape, simpleUser } from "../shapes.ts";
import { paginate, repoFor, type Handler, type RouteRequest } from "../router.ts";
import { fullName, isPull, type Repo } from "../state.ts";
import { baseShaOf } from "../pulls.ts";
import { HttpError } from "../world.ts";
import { posix } from "node:path";

const encPath = (p: string) => p.split("/").map(encodeURIComponent).join("/");

function contentEntry(ctx: SimContext, repo: Repo, e: TreeEntry, ref: string): Record<string, unknown> {
  const api = `${ctx.w.baseUrl}/repos/${fullName(repo)}`;
  const self = `${api}/contents/${encPath(e.path)}?ref=${encodeURIComponent(ref)}`;
  const kind = e.type === "tree" ? "dir" : e.type === "commit" ? "submodule" : e.mode === "120000" ? "symlink" : "file";
  const gitUrl = e.type === "tree" ? `${api}/git/trees/${e.sha}` : e.type === "commit" ? null : `${api}/git/blobs/${e.sha}`;
  const html = e.type === "commit" ? null : `${ctx.w.baseUrl}/${fullName(repo)}/${e.type === "tree" ? "tree" : "blob"}/${encodeURIComponent(ref)}/${encPath(e.path)}`;
  return {
    type: kind, size: e.size ?? 0, name: posix.basename(e.path), path: e.path, sha: e.sha, url: self, git_url: gitUrl, html_url: html,
    download_url: kind === "file" ? `${ctx.w.baseUrl}/${fullName(repo)}/raw/${encodeURIComponent(ref)}/${encPath(e.path)}` : null,
    _links: { self, git: gitUrl, html },
  };
}

/** base64 in 60-character lines, as the contents API returns it. */
const base64Lines = (b: Buffer) => (b.toString("base64").match(/.{1,60}/g) ?? []).join("\n") + (b.length ? "\n" : "");

async function getContent(req: RouteRequest, ctx: SimContext) {
  const repo = repoFor(req, ctx);
  const ref = req.query.get("ref") ?? repo.defaultBranch;
  const commit = await repo.git.resolveCommit(ref);
  if (!commit) throw new HttpError(404, `No commit found for the ref ${ref}`);
  const path = (req.params.path ?? "").replace(/^\/+|\/+$/g, "");
  let entry = await repo.git.entryAt(commit, path);
  if (!entry) throw new HttpError(404, "Not Found");
  if (entry.type === "tree") {
    const entries = await repo.git.lsTree(`${commit}:${path}`, {});
    const listed = entries.map((e) => contentEntry(ctx, repo, { ...e, path: path ? `${path}/${e.path}` : e.path }, ref));
    return { status: 200, body: listed };
  }
  if (entry.mode === "120000") {
    // A symlink to a regular file in the repository answers with that file (GitHub's documented behaviour).
    const target = (await repo.git.readBlob(entry.sha)).toString("utf8");
    const resolved = posix.normalize(posix.join(posix.dirname(path), target));
    const t = resolved.startsWith("..") ? null : await repo.git.entryAt(commit, resolved);
    if (t && t.type === "blob" && t.mode !== "120000") entry = t;
    else return { status: 200, body: { ...contentEntry(ctx, repo, entry, ref), target } };
  }
  if (entry.type === "commit") return { status: 200, body: { ...contentEntry(ctx, repo, entry, ref), submodule_git_url: "" } };
  const data = await repo.git.readBlob(entry.sha);
  if (/\.raw/.test(req.accept)) return { status: 200, body: data, headers: { "content-type": "application/vnd.github.raw" } };
  return { status: 200, body: { ...contentEntry(ctx, repo, entry, ref), size: data.length, content: base64Lines(data), encoding: "base64" } };
}

/**
 * GET /compare/{base}...{head}: commits reachable from head and not from the merge base, files
 * changed between the merge base and head (as GitHub's three-dot comparison). Without `page` or
 * `per_page` GitHub answers up to 250 commits and 300 files; with them, commits are paginated and
 * files appear on the first page only.
 */
async function compareCommits(req: RouteRequest, ctx: SimContext) {
  const repo = repoFor(req, ctx);
  const basehead = req.params.basehead ?? "";
  const m = /^(.+?)\.\.\.(.+)$/.exec(basehead);
  if (!m) throw new HttpError(404, "Not Found");
  const [base, head] = [await repo.git.resolveCommit(m[1]!), await repo.git.resolveCommit(m[2]!)];
  if (!base || !head) throw new HttpError(404, "Not Found");
  const mergeBase = await repo.git.mergeBase(base, head);
  if (!mergeBase) throw new HttpError(404, `No common ancestor between ${m[1]} and ${m[2]}.`);
  const ahead = await repo.git.commitsBetween(base, head);
  const behind = await repo.git.commitsBetween(head, base);
  const status = ahead.length === 0 && behind.length === 0 ? "identical" : behind.length === 0 ? "ahead" : ahead.length === 0 ? "behind" : "diverged";
  const paged = req.query.has("page") || req.query.has("per_page");
  const perPage = Math.min(Math.max(Number(req.query.get("per_page") ?? 100) || 100, 1), 100);
  const page = Math.max(Number(req.query.get("page") ?? 1) || 1, 1);
  const listed = paged ? ahead.slice((page - 1) * perPage, page * perPage) : ahead.slice(0, 250);
  const commits = [];
  for (const sha of listed) commits.push(commitShape(ctx.w, repo, await repo.git.readCommit(sha)));
  const files = [];
  if (!paged || page === 1) {
    for (const d of (await repo.git.diff(mergeBase, head)).slice(0, 300)) files.push(diffEntryShape(ctx.w, repo, head, d, await repo.git.patch(mergeBase, head, d)));
  }
  const html = `${ctx.w.baseUrl}/${fullName(repo)}/compare/${basehead}`;
  return {
    status: 200,
    body: {
      url: `${ctx.w.baseUrl}/repos/${fullName(repo)}/compare/${basehead}`, html_url: html,
      permalink_url: `${ctx.w.baseUrl}/${fullName(repo)}/compare/${repo.owner}:${base.slice(0, 7)}...${repo.owner}:${head.slice(0, 7)}`,
      diff_url: `${html}.diff`, patch_url: `${html}.patch`,
      base_commit: commitShape(ctx.w, repo, await repo.git.readCommit(base)),
      merge_base_commit: commitShape(ctx.w, repo, await repo.git.readCommit(mergeBase)),
      status, ahead_by: ahead.length, behind_by: behind.length, total_commits: ahead.length, commits, files,
    },
  };
}

/**
 * GET /commits/{sha}/pulls: for a commit on the default branch, the merged pull requests that
 * introduced it (its merge commit, or one of its commits for a merge-commit merge); otherwise the
 * open pull requests whose commits include it (GitHub's documented behaviour).
 */
async function pullsForCommit(req: RouteRequest, ctx: SimContext) {
  const repo = repoFor(req, ctx);
  const sha = req.params.commit_sha ?? "";
  const commit = await repo.git.resolveCommit(sha);
  if (!commit) throw new HttpError(422, `No commit found for SHA: ${sha}`);
  const tip = await repo.git.resolveCommit(repo.defaultBranch);
  const onDefault = tip !== null && (await repo.git.isAncestor(commit, tip));
  const found = [];
  for (const p of [...repo.issues.values()].filter(isPull).sort((a, b) => b.number - a.number)) {
    const base = await baseShaOf(repo, p);
    const inPull = async () => p.pull.headSha === commit || (await repo.git.commitsBetween(base, p.pull.headSha)).includes(commit);
    const hit = onDefault
      ? p.pull.merged && (p.pull.mergeCommitSha === commit || (await inPull()))
      : p.state === "open" && (await inPull());
    if (hit) found.push(pullSimpleShape(ctx.w, repo, p, base));
  }
  return paginate(req, ctx, found);
}

const LEGACY: Record<string, string> = { admin: "admin", maintain: "write", write: "write", triage: "read", read: "read", none: "none" };

export const repoRoutes: Record<string, Handler> = {
  "repos/get": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    const perms = { admin: true, maintain: true, push: true, triage: true, pull: true };
    return { status: 200, body: { ...repoShape(ctx.w, repo), permissions: perms } };
  },
  "repos/list-branches": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    const refs = await repo.git.listRefs("refs/heads/");
    const protectedOnly = req.query.get("protected") === "true";
    const branches = refs
      .map((r) => ({ name: r.ref.slice("refs/heads/".length), sha: r.sha }))
      .filter((b) => !protectedOnly || (repo.protection && b.name === repo.defaultBranch))
      .map((b) => ({ name: b.name, commit: { sha: b.sha, url: `${ctx.w.baseUrl}/repos/${fullName(repo)}/commits/${b.sha}` }, protected: !!repo.protection && b.name === repo.defaultBranch }));
    return paginate(req, ctx, branches);
  },
  "repos/get-branch": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    const name = req.params.branch ?? "";
    const sha = await repo.git.readRef(`refs/heads/${name}`);
    if (!sha) throw new HttpError(404, "Branch not found");
    const isProtected = !!repo.protection && name === repo.defaultBranch;
    const api = `${ctx.w.baseUrl}/repos/${fullName(repo)}/branches/${encodeURIComponent(name)}`;
    return {
      status: 200,
      body: {
        name, commit: commitShape(ctx.w, repo, await repo.git.readCommit(sha)),
        _links: { self: api, html: `${ctx.w.baseUrl}/${fullName(repo)}/tree/${encodeURIComponent(name)}` },
        protected: isProtected,
        protection: { enabled: isProtected, required_status_checks: { enforcement_level: isProtected && repo.protection!.requiredChecks.length ? "everyone" : "off", contexts: isProtected ? repo.protection!.requiredChecks : [], checks: [] } },
        protection_url: `${api}/protection`,
      },
    };
  },
  "repos/get-content": getContent,
  "repos/compare-commits-with-basehead": compareCommits,
  "repos/list-pull-requests-associated-with-commit": pullsForCommit,
  "repos/get-collaborator-permission-level": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    const user = ctx.w.findUser(req.params.username ?? "");
    if (!user) throw new HttpError(404, "Not Found");
    const role = ctx.w.permission(repo, user.login);
    const has = (p: string) => ["admin", "maintain", "write", "triage", "read"].indexOf(role) <= ["admin", "maintain", "write", "triage", "read"].indexOf(p) && role !== "none";
    return {
      status: 200,
      body: {
        permission: LEGACY[role], role_name: role,
        user: { ...simpleUser(ctx.w, user), role_name: role, permissions: { admin: has("admin"), maintain: has("maintain"), push: has("write"), triage: has("triage"), pull: has("read") } },
      },
    };
  },
  "users/get-by-username": async (req, ctx) => {
    const user = ctx.w.findUser(req.params.username ?? "");
    if (!user) throw new HttpError(404, "Not Found");
    return { status: 200, body: publicUser(ctx.w, user) };
  },
};
