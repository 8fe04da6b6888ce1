// Issues (PRs share the number space), issue comments and labels.
import type { SimContext } from "../context.ts";
import { commentShape, issueShape, labelShape } from "../shapes.ts";
import { actorLogin, bodyOf, intParam, paginate, repoFor, type Handler, type RouteRequest } from "../router.ts";
import { isPull, type Issue, type Repo } from "../state.ts";
import { HttpError } from "../world.ts";
import { newIssue, closePull, reopenPull } from "../pulls.ts";

function issueOf(repo: Repo, req: RouteRequest): Issue {
  const issue = repo.issues.get(intParam(req, "issue_number"));
  if (!issue) throw new HttpError(404, "Not Found");
  return issue;
}

export function ensureLabel(ctx: SimContext, repo: Repo, name: string, color = "ededed", description: string | null = null) {
  let l = repo.labels.get(name.toLowerCase());
  if (!l) {
    const id = ctx.w.ids.next("label", 3_000_000);
    l = { id, nodeId: ctx.w.ids.nodeId("LA_", id), name, color, description };
    repo.labels.set(name.toLowerCase(), l);
  }
  return l;
}

export const issueRoutes: Record<string, Handler> = {
  "issues/list-for-repo": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    const state = req.query.get("state") ?? "open";
    const labels = (req.query.get("labels") ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
    const creator = req.query.get("creator");
    const direction = req.query.get("direction") ?? "desc";
    const issues = [...repo.issues.values()]
      .filter((i) => state === "all" || i.state === state)
      .filter((i) => labels.every((l) => i.labels.some((x) => x.toLowerCase() === l)))
      .filter((i) => !creator || i.user.toLowerCase() === creator.toLowerCase())
      .sort((a, b) => (direction === "asc" ? a.number - b.number : b.number - a.number));
    return paginate(req, ctx, issues.map((i) => issueShape(ctx.w, repo, i)));
  },
  "issues/create": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    const b = bodyOf<{ title: string | number; body: string; labels: (string | { name?: string })[]; assignees: string[] }>(req);
    const issue = newIssue(ctx, repo, actorLogin(req.actor), String(b.title ?? ""), b.body ?? null);
    if (req.actor.kind === "installation") issue.viaApp = true;
    issue.labels = (b.labels ?? []).map((l) => (typeof l === "string" ? l : l.name ?? "")).filter(Boolean).map((n) => ensureLabel(ctx, repo, n).name);
    issue.assignees = b.assignees ?? [];
    return { status: 201, body: issueShape(ctx.w, repo, issue) };
  },
  "issues/get": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    return { status: 200, body: issueShape(ctx.w, repo, issueOf(repo, req)) };
  },
  "issues/update": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    const issue = issueOf(repo, req);
    const b = bodyOf<{ title: string | number; body: string | null; state: "open" | "closed"; state_reason: Issue["stateReason"]; labels: (string | { name?: string })[]; assignees: string[] }>(req);
    if (b.title !== undefined) issue.title = String(b.title);
    if (b.body !== undefined) issue.body = b.body;
    if (b.labels !== undefined) issue.labels = b.labels.map((l) => (typeof l === "string" ? l : l.name ?? "")).filter(Boolean).map((n) => ensureLabel(ctx, repo, n).name);
    if (b.assignees !== undefined) issue.assignees = b.assignees;
    if (b.state !== undefined && b.state !== issue.state) {
      if (isPull(issue)) {
        if (b.state === "closed") await closePull(ctx, repo, issue, actorLogin(req.actor));
        else await reopenPull(ctx, repo, issue, actorLogin(req.actor));
      } else {
        issue.state = b.state;
        issue.closedAt = b.state === "closed" ? ctx.w.now() : null;
        issue.closedBy = b.state === "closed" ? actorLogin(req.actor) : null;
        issue.stateReason = b.state_reason ?? (b.state === "closed" ? "completed" : "reopened");
      }
    }
    issue.updatedAt = ctx.w.now();
    return { status: 200, body: issueShape(ctx.w, repo, issue) };
  },
  "issues/list-comments": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    const issue = issueOf(repo, req);
    const comments = [...repo.comments.values()].filter((c) => c.number === issue.number).sort((a, b) => a.id - b.id);
    return paginate(req, ctx, comments.map((c) => commentShape(ctx.w, repo, c)));
  },
  "issues/create-comment": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    const issue = issueOf(repo, req);
    const b = bodyOf<{ body: string }>(req);
    const id = ctx.w.ids.next("comment", 6_000_000);
    const now = ctx.w.now();
    const c = { id, nodeId: ctx.w.ids.nodeId("IC_", id), number: issue.number, user: actorLogin(req.actor), body: b.body ?? "", createdAt: now, updatedAt: now, ...(req.actor.kind === "installation" ? { viaApp: true } : {}) };
    repo.comments.set(id, c);
    return { status: 201, body: commentShape(ctx.w, repo, c) };
  },
  "issues/update-comment": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    const c = repo.comments.get(intParam(req, "comment_id"));
    if (!c) throw new HttpError(404, "Not Found");
    c.body = bodyOf<{ body: string }>(req).body ?? c.body;
    c.updatedAt = ctx.w.now();
    return { status: 200, body: commentShape(ctx.w, repo, c) };
  },
  "issues/delete-comment": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    if (!repo.comments.delete(intParam(req, "comment_id"))) throw new HttpError(404, "Not Found");
    return { status: 204 };
  },
  "issues/add-labels": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    const issue = issueOf(repo, req);
    const raw = req.body as unknown;
    const list = Array.isArray(raw) ? raw : raw && typeof raw === "object" && "labels" in raw ? (raw as { labels: unknown[] }).labels : [];
    for (const l of list) {
      const name = typeof l === "string" ? l : (l as { name?: string }).name ?? "";
      if (!name) continue;
      const label = ensureLabel(ctx, repo, name);
      if (!issue.labels.some((x) => x.toLowerCase() === label.name.toLowerCase())) issue.labels.push(label.name);
    }
    return { status: 200, body: issue.labels.map((n) => labelShape(ctx.w, repo, repo.labels.get(n.toLowerCase())!)) };
  },
  "issues/list-labels-for-repo": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    return paginate(req, ctx, [...repo.labels.values()].map((l) => labelShape(ctx.w, repo, l)));
  },
  "issues/create-label": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    const b = bodyOf<{ name: string; color: string; description: string }>(req);
    if (repo.labels.has((b.name ?? "").toLowerCase())) throw new HttpError(422, "Validation Failed", { errors: [{ resource: "Label", code: "already_exists", field: "name" }] });
    const l = ensureLabel(ctx, repo, b.name ?? "", (b.color ?? "ededed").replace(/^#/, ""), b.description ?? null);
    return { status: 201, body: labelShape(ctx.w, repo, l) };
  },
};
