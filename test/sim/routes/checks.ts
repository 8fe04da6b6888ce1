// Check runs: create, update, get, annotations, list for a ref.
import { annotationShape, checkRunShape } from "../shapes.ts";
import { actorLogin, bodyOf, intParam, paginate, repoFor, type Handler, type RouteRequest } from "../router.ts";
import type { Repo } from "../state.ts";
import { HttpError } from "../world.ts";
import { createCheckRun, pullsForSha, updateCheckRun, type CheckRunInput } from "../checks.ts";
import type { SimContext } from "../context.ts";

function runOf(repo: Repo, req: RouteRequest) {
  const run = repo.checkRuns.get(intParam(req, "check_run_id"));
  if (!run) throw new HttpError(404, "Not Found");
  return run;
}

async function shaped(ctx: SimContext, repo: Repo, run: ReturnType<typeof runOf>) {
  return checkRunShape(ctx.w, repo, run, await pullsForSha(ctx, repo, run.headSha));
}

export const checkRoutes: Record<string, Handler> = {
  "checks/create": async (req, ctx) => {
    if (req.actor.kind !== "installation") throw new HttpError(403, "You must authenticate via a GitHub App.");
    const repo = repoFor(req, ctx, "write");
    const run = await createCheckRun(ctx, repo, bodyOf<CheckRunInput>(req), actorLogin(req.actor));
    return { status: 201, body: await shaped(ctx, repo, run) };
  },
  "checks/get": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    return { status: 200, body: await shaped(ctx, repo, runOf(repo, req)) };
  },
  "checks/update": async (req, ctx) => {
    if (req.actor.kind !== "installation") throw new HttpError(403, "You must authenticate via a GitHub App.");
    const repo = repoFor(req, ctx, "write");
    const run = await updateCheckRun(ctx, repo, runOf(repo, req), bodyOf<CheckRunInput>(req), actorLogin(req.actor));
    return { status: 200, body: await shaped(ctx, repo, run) };
  },
  "checks/list-annotations": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    const run = runOf(repo, req);
    return paginate(req, ctx, run.annotations.map((a) => annotationShape(ctx.w, repo, run, a)));
  },
  "checks/list-for-ref": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    const ref = req.params.ref ?? "";
    const sha = await repo.git.resolveCommit(ref);
    if (!sha) throw new HttpError(422, `No commit found for SHA: ${ref}`);
    const name = req.query.get("check_name");
    const status = req.query.get("status");
    let runs = [...repo.checkRuns.values()].filter((r) => r.headSha === sha && (!name || r.name === name) && (!status || r.status === status));
    if ((req.query.get("filter") ?? "latest") === "latest") {
      const latest = new Map<string, (typeof runs)[number]>();
      for (const r of runs) latest.set(r.name, r);
      runs = [...latest.values()];
    }
    runs.sort((a, b) => b.id - a.id);
    const pulls = await pullsForSha(ctx, repo, sha);
    return paginate(req, ctx, runs, (page) => ({ total_count: runs.length, check_runs: page.map((r) => checkRunShape(ctx.w, repo, r, pulls)) }));
  },
};
