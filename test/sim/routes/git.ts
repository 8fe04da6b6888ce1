// The git data API: blobs, trees, commits and refs over the bare repository.
import type { SimContext } from "../context.ts";
import { ZERO_SHA } from "../git-store.ts";
import { gitCommitShape, treeShape } from "../shapes.ts";
import { actorLogin, bodyOf, repoFor, type Handler, type RouteRequest } from "../router.ts";
import { fullName, type Repo } from "../state.ts";
import { HttpError } from "../world.ts";
import { afterRefUpdate, identityOf } from "../repos.ts";

const SHA = /^[0-9a-f]{40}$/;

function refShape(ctx: SimContext, repo: Repo, ref: string, sha: string, type: string) {
  const api = `${ctx.w.baseUrl}/repos/${fullName(repo)}`;
  return {
    ref, node_id: ctx.w.ids.nodeId("REF_", repo.id) + Buffer.from(ref).toString("base64url"), url: `${api}/git/${ref}`,
    object: { type, sha, url: `${api}/git/${type === "commit" ? "commits" : type === "tag" ? "tags" : type === "tree" ? "trees" : "blobs"}/${sha}` },
  };
}

/** `{ref}` in the refs API is relative to "refs/" (e.g. "heads/main"). */
function fullRef(req: RouteRequest): string {
  const ref = (req.params.ref ?? "").replace(/^refs\//, "");
  if (!ref || ref.includes("..") || /[\s~^:?*[\\]/.test(ref) || ref.startsWith("-") || ref.endsWith("/")) throw new HttpError(404, "Not Found");
  return `refs/${ref}`;
}

async function notifyRef(ctx: SimContext, repo: Repo, req: RouteRequest, ref: string, before: string, after: string): Promise<void> {
  await afterRefUpdate(ctx, repo, ref, before, after, actorLogin(req.actor));
}

export const gitRoutes: Record<string, Handler> = {
  "git/create-blob": async (req, ctx) => {
    const repo = repoFor(req, ctx, "write");
    const b = bodyOf<{ content: string; encoding: string }>(req);
    const encoding = b.encoding ?? "utf-8";
    if (encoding !== "utf-8" && encoding !== "base64") throw new HttpError(422, `encoding must be one of: utf-8, base64`);
    const data = encoding === "base64" ? Buffer.from(b.content ?? "", "base64") : Buffer.from(b.content ?? "", "utf8");
    const sha = await repo.git.writeBlob(data);
    return { status: 201, body: { sha, url: `${ctx.w.baseUrl}/repos/${fullName(repo)}/git/blobs/${sha}` } };
  },
  "git/get-blob": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    const sha = req.params.file_sha ?? "";
    if ((await repo.git.objectType(sha)) !== "blob") throw new HttpError(404, "Not Found");
    const data = await repo.git.readBlob(sha);
    return {
      status: 200,
      body: { sha, node_id: ctx.w.ids.nodeId("B_", parseInt(sha.slice(0, 8), 16)), size: data.length, url: `${ctx.w.baseUrl}/repos/${fullName(repo)}/git/blobs/${sha}`, content: (data.toString("base64").match(/.{1,60}/g) ?? []).join("\n") + (data.length ? "\n" : ""), encoding: "base64" },
    };
  },
  "git/create-tree": async (req, ctx) => {
    const repo = repoFor(req, ctx, "write");
    const b = bodyOf<{ base_tree: string; tree: { path: string; mode: string; type: string; sha?: string | null; content?: string }[] }>(req);
    if (b.base_tree !== undefined && (await repo.git.objectType(b.base_tree)) !== "tree") {
      const commit = await repo.git.objectType(b.base_tree ?? "") === "commit" ? (await repo.git.readCommit(b.base_tree!)).tree : null;
      if (!commit) throw new HttpError(422, "Invalid tree info", { errors: [{ resource: "Tree", code: "invalid", message: "base_tree is not a valid tree" }] });
      b.base_tree = commit;
    }
    const lines: string[] = [];
    const subtrees: { path: string; sha: string }[] = [];
    for (const e of b.tree ?? []) {
      if (e.sha === null) { lines.push(`0 ${ZERO_SHA}\t${e.path}`); continue; }
      let sha = e.sha;
      if (e.content !== undefined) sha = await repo.git.writeBlob(e.content);
      if (!sha || !SHA.test(sha)) throw new HttpError(422, "Invalid tree info", { errors: [{ resource: "Tree", code: "invalid", message: `tree.sha ${String(sha)} is not a valid blob` }] });
      const type = await repo.git.objectType(sha);
      if (e.type === "tree") {
        if (type !== "tree") throw new HttpError(422, "Invalid tree info", { errors: [{ resource: "Tree", code: "invalid", message: `tree.sha ${sha} is not a valid tree` }] });
        subtrees.push({ path: e.path, sha });
      } else if (e.type === "commit") {
        lines.push(`160000 ${sha}\t${e.path}`);
      } else {
        if (type !== "blob") throw new HttpError(422, "Invalid tree info", { errors: [{ resource: "Tree", code: "invalid", message: `tree.sha ${sha} is not a valid blob` }] });
        lines.push(`${e.mode} ${sha}\t${e.path}`);
      }
    }
    let tree = await repo.git.applyIndexLines(b.base_tree ?? null, lines);
    if (subtrees.length) tree = await repo.git.buildTree(tree, {}, subtrees);
    return { status: 201, body: await treeShape(ctx.w, repo, repo.git, tree, false) };
  },
  "git/get-tree": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    // Any tree-ish, as GitHub accepts: a tree or commit SHA, a branch or tag, or "<rev>:<path>".
    const treeish = req.params.tree_sha ?? "";
    const colon = treeish.indexOf(":");
    const rev = colon === -1 ? treeish : treeish.slice(0, colon);
    let sha = rev;
    const type = SHA.test(sha) ? await repo.git.objectType(sha) : null;
    if (type === "commit") sha = (await repo.git.readCommit(sha)).tree;
    else if (type !== "tree") {
      const commit = await repo.git.resolveCommit(rev);
      if (!commit) throw new HttpError(404, "Not Found");
      sha = (await repo.git.readCommit(commit)).tree;
    }
    if (colon !== -1) {
      const path = treeish.slice(colon + 1).replace(/^\/+|\/+$/g, "");
      const entry = await repo.git.entryAt(sha, path);
      if (!entry || entry.type !== "tree") throw new HttpError(404, "Not Found");
      sha = entry.sha;
    }
    const recursive = req.query.has("recursive") && !["0", "false"].includes(req.query.get("recursive") ?? "");
    return { status: 200, body: await treeShape(ctx.w, repo, repo.git, sha, recursive) };
  },
  "git/create-commit": async (req, ctx) => {
    const repo = repoFor(req, ctx, "write");
    const b = bodyOf<{ message: string; tree: string; parents: string[]; author: { name: string; email: string; date?: string }; committer: { name: string; email: string; date?: string } }>(req);
    if ((await repo.git.objectType(b.tree ?? "")) !== "tree") throw new HttpError(422, "Tree SHA does not exist");
    for (const p of b.parents ?? []) if ((await repo.git.objectType(p)) !== "commit") throw new HttpError(422, "Parent SHA does not exist or is not a commit object");
    const fallback = identityOf(ctx, actorLogin(req.actor));
    const ident = (i?: { name: string; email: string; date?: string }) => (i ? { name: i.name, email: i.email, date: i.date ? new Date(i.date) : ctx.w.now() } : undefined);
    const author = ident(b.author) ?? fallback;
    const sha = await repo.git.commitTree(b.tree!, b.parents ?? [], b.message ?? "", author, ident(b.committer) ?? author);
    return { status: 201, body: gitCommitShape(ctx.w, repo, await repo.git.readCommit(sha)) };
  },
  "git/get-commit": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    const sha = req.params.commit_sha ?? "";
    if ((await repo.git.objectType(sha)) !== "commit") throw new HttpError(404, "Not Found");
    return { status: 200, body: gitCommitShape(ctx.w, repo, await repo.git.readCommit(sha)) };
  },
  "git/create-ref": async (req, ctx) => {
    const repo = repoFor(req, ctx, "write");
    const b = bodyOf<{ ref: string; sha: string }>(req);
    const ref = b.ref ?? "";
    if (!/^refs\/[^/]+\/.+/.test(ref) || ref.includes("..") || /[\s~^:?*[\\]/.test(ref)) throw new HttpError(422, `${ref} is not a valid ref name.`);
    const type = await repo.git.objectType(b.sha ?? "");
    if (!type) throw new HttpError(422, "Object does not exist");
    if (await repo.git.readRef(ref)) throw new HttpError(422, "Reference already exists");
    await repo.git.updateRef(ref, b.sha!, ZERO_SHA);
    await notifyRef(ctx, repo, req, ref, ZERO_SHA, b.sha!);
    return { status: 201, body: refShape(ctx, repo, ref, b.sha!, type) };
  },
  "git/get-ref": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    const ref = fullRef(req);
    const found = (await repo.git.listRefs(ref)).find((r) => r.ref === ref);
    if (!found) throw new HttpError(404, "Not Found");
    return { status: 200, body: refShape(ctx, repo, found.ref, found.sha, found.type) };
  },
  "git/update-ref": async (req, ctx) => {
    const repo = repoFor(req, ctx, "write");
    const ref = fullRef(req);
    const b = bodyOf<{ sha: string; force: boolean }>(req);
    const before = await repo.git.readRef(ref);
    if (!before) throw new HttpError(422, "Reference does not exist");
    const type = await repo.git.objectType(b.sha ?? "");
    if (!type) throw new HttpError(422, "Object does not exist");
    if (!b.force && type === "commit" && !(await repo.git.isAncestor(before, b.sha!))) throw new HttpError(422, "Update is not a fast forward");
    await repo.git.updateRef(ref, b.sha!, before);
    await notifyRef(ctx, repo, req, ref, before, b.sha!);
    return { status: 200, body: refShape(ctx, repo, ref, b.sha!, type) };
  },
  "git/delete-ref": async (req, ctx) => {
    const repo = repoFor(req, ctx, "write");
    const ref = fullRef(req);
    const before = await repo.git.readRef(ref);
    if (!before) throw new HttpError(422, "Reference does not exist");
    await repo.git.deleteRef(ref);
    await notifyRef(ctx, repo, req, ref, before, ZERO_SHA);
    return { status: 204 };
  },
};

