// GitHub App endpoints: the app itself, installations, installation access tokens.
import { appShape, installationShape, repoShape, iso } from "../shapes.ts";
import { intParam, paginate, type Handler } from "../router.ts";
import { HttpError } from "../world.ts";
import type { AppAuth } from "../auth.ts";
import { convertManifestCode } from "../manifests.ts";

export function appRoutes(auth: AppAuth): Record<string, Handler> {
  return {
    "apps/get-authenticated": async (_req, ctx) => ({ status: 200, body: { ...appShape(ctx.w), installations_count: ctx.w.installations.size } }),
    "apps/list-installations": async (req, ctx) => {
      if (req.actor.kind !== "app") throw new HttpError(401, "A JSON web token could not be decoded");
      const ids = [...ctx.w.installations.keys()].sort((a, b) => a - b);
      // This operation's description types `account` as simple-user AND enterprise (allOf): the
      // enterprise fields are added so the answer satisfies the contract as written.
      return paginate(req, ctx, ids.map((id) => {
        const inst = installationShape(ctx.w, id) as { account: Record<string, unknown>; created_at: string };
        const login = String(inst.account.login);
        return { ...inst, account: { ...inst.account, name: login, slug: login.toLowerCase(), created_at: inst.created_at, updated_at: inst.created_at } };
      }));
    },
    "apps/get-installation": async (req, ctx) => {
      const id = intParam(req, "installation_id");
      if (!ctx.w.installations.has(id)) throw new HttpError(404, "Not Found");
      return { status: 200, body: installationShape(ctx.w, id) };
    },
    "apps/create-installation-access-token": async (req, ctx) => {
      const id = intParam(req, "installation_id");
      if (!ctx.w.installations.has(id)) throw new HttpError(404, "Not Found");
      const { token, expiresAt } = auth.issueInstallationToken(id);
      return { status: 201, body: { token, expires_at: iso(expiresAt), permissions: ctx.w.app.permissions, repository_selection: "all" } };
    },
    "apps/get-repo-installation": async (req, ctx) => {
      const repo = ctx.w.repo(req.params.owner ?? "", req.params.repo ?? "");
      const inst = ctx.w.installationFor(repo.owner);
      if (!inst) throw new HttpError(404, "Not Found");
      return { status: 200, body: installationShape(ctx.w, inst.id) };
    },
    // No authentication: the one-time code is the credential, as on GitHub.
    "apps/create-from-manifest": async (req, ctx) => ({ status: 201, body: convertManifestCode(ctx.w, req.params.code ?? "") }),
    "apps/list-repos-accessible-to-installation": async (req, ctx) => {
      if (req.actor.kind !== "installation") throw new HttpError(403, "This endpoint requires an installation access token");
      const inst = ctx.w.installations.get(req.actor.installationId)!;
      const repos = [...ctx.w.repos.values()].filter((r) => r.owner.toLowerCase() === inst.account.toLowerCase());
      return paginate(req, ctx, repos, (page) => ({ total_count: repos.length, repository_selection: "all", repositories: page.map((r) => repoShape(ctx.w, r)) }));
    },
  };
}
