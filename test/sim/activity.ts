// GET /repos/{owner}/{repo}/activity: every ref update of a repository with the identity that made
// it (push, force push, branch creation/deletion, PR merge), newest first as GitHub lists it.
// Recorded by afterRefUpdate, the one place every ref update of the simulator goes through.
import type { SimContext } from "./context.ts";
import { ZERO_SHA } from "./git-store.ts";
import { paginate, repoFor, type Handler } from "./router.ts";
import { iso, simpleUser } from "./shapes.ts";
import type { Repo } from "./state.ts";

export type ActivityType = "push" | "force_push" | "branch_creation" | "branch_deletion" | "pr_merge" | "merge_queue_merge";

interface Activity {
  id: number;
  nodeId: string;
  before: string;
  after: string;
  ref: string;
  at: Date;
  type: ActivityType;
  /** "" for an App's own update (no user behind it): listed with a null actor. */
  actor: string;
}

const activities = new WeakMap<Repo, Activity[]>();

export function recordActivity(ctx: SimContext, repo: Repo, a: { ref: string; before: string; after: string; type: ActivityType; actor: string }): void {
  const list = activities.get(repo) ?? [];
  activities.set(repo, list);
  const id = ctx.w.ids.next("activity", 17_000_000);
  list.push({ ...a, id, nodeId: ctx.w.ids.nodeId("RA_", id), at: ctx.w.now() });
}

/** What GitHub calls the update from `before` to `after` (pr_merge is said by the merge itself). */
export function activityTypeOf(before: string, after: string, fastForward: boolean): ActivityType {
  if (before === ZERO_SHA) return "branch_creation";
  if (after === ZERO_SHA) return "branch_deletion";
  return fastForward ? "push" : "force_push";
}

export const activityRoutes: Record<string, Handler> = {
  "repos/list-activities": async (req, ctx) => {
    const repo = repoFor(req, ctx);
    const q = req.query;
    // `ref` is a branch name or a full ref, as GitHub accepts both.
    const ref = q.get("ref");
    const fullRef = ref === null ? null : ref.startsWith("refs/") ? ref : `refs/heads/${ref}`;
    const type = q.get("activity_type");
    const actor = q.get("actor")?.toLowerCase();
    const rows = (activities.get(repo) ?? [])
      .filter((a) => (fullRef === null || a.ref === fullRef) && (type === null || a.type === type) && (actor === undefined || a.actor.toLowerCase() === actor));
    const ordered = q.get("direction") === "asc" ? rows : [...rows].reverse();
    return paginate(req, ctx, ordered, (page) => page.map((a) => ({
      id: a.id, node_id: a.nodeId, before: a.before, after: a.after, ref: a.ref, timestamp: iso(a.at), activity_type: a.type,
      actor: a.actor ? simpleUser(ctx.w, ctx.w.user(a.actor)) : null,
    })));
  },
};
