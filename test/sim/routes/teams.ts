// Teams: get by slug, members, and a user's membership (what approver checks read).
import { simpleUser, teamShape } from "../shapes.ts";
import { paginate, type Handler, type RouteRequest } from "../router.ts";
import type { SimContext } from "../context.ts";
import { HttpError } from "../world.ts";

function teamOf(req: RouteRequest, ctx: SimContext) {
  const org = req.params.org ?? "";
  const team = ctx.w.team(org, req.params.team_slug ?? "");
  const a = req.actor;
  const visible = a.kind === "installation" ? ctx.w.installations.get(a.installationId)?.account.toLowerCase() === org.toLowerCase()
    : a.kind === "user" ? !!ctx.w.orgMembers.get(org.toLowerCase())?.has(a.login.toLowerCase()) : false;
  if (!team || !visible) throw new HttpError(404, "Not Found");
  return team;
}

export const teamRoutes: Record<string, Handler> = {
  "teams/get-by-name": async (req, ctx) => ({ status: 200, body: teamShape(ctx.w, teamOf(req, ctx)) }),
  "teams/list-members-in-org": async (req, ctx) => {
    const team = teamOf(req, ctx);
    const role = req.query.get("role") ?? "all";
    const members = [...team.members.entries()].filter(([, m]) => m.state === "active" && (role === "all" || m.role === role));
    return paginate(req, ctx, members.map(([login]) => simpleUser(ctx.w, ctx.w.user(login))));
  },
  "teams/get-membership-for-user-in-org": async (req, ctx) => {
    const team = teamOf(req, ctx);
    const login = (req.params.username ?? "").toLowerCase();
    const m = team.members.get(login);
    if (!m) throw new HttpError(404, "Not Found");
    return { status: 200, body: { url: `${ctx.w.baseUrl}/organizations/${ctx.w.user(team.org).id}/team/${team.id}/memberships/${req.params.username}`, role: m.role, state: m.state } };
  },
};
