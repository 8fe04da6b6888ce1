// Route matching from the OpenAPI path templates of OPERATIONS, and helpers shared by handlers
// (pagination with Link headers, repo access, integer params).
import type { Actor } from "./auth.ts";
import type { SimContext } from "./context.ts";
import { OPERATIONS, type OperationDef } from "./operations.ts";
import { PERMISSION_RANK, type Repo } from "./state.ts";
import { HttpError } from "./world.ts";

export interface RouteRequest {
  op: OperationDef;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  actor: Actor;
  url: URL;
  /** the Accept header (media type selection, e.g. raw contents) */
  accept: string;
}

export interface RouteResponse { status: number; body?: unknown; headers?: Record<string, string> }
export type Handler = (req: RouteRequest, ctx: SimContext) => Promise<RouteResponse>;

/** Params that may contain slashes (file paths, refs, branch names, `base...head` of branches). */
const GREEDY = new Set(["path", "ref", "branch", "basehead"]);

interface CompiledRoute { op: OperationDef; re: RegExp; names: string[] }

const compiled: CompiledRoute[] = OPERATIONS.map((op) => {
  const names: string[] = [];
  const re = op.path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\/\{(\w+)\}/g, (_, n: string) => {
    names.push(n);
    // A contents path may be empty (the repository root): "/contents" and "/contents/".
    return n === "path" ? "(?:/(.*))?" : GREEDY.has(n) ? "/(.+)" : "/([^/]+)";
  });
  return { op, re: new RegExp(`^${re}$`), names };
});

export function matchRoute(method: string, pathname: string): { op: OperationDef; params: Record<string, string> } | null {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, "") : pathname;
  for (const r of compiled) {
    if (r.op.method !== method) continue;
    const m = r.re.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    r.names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1] ?? ""); });
    return { op: r.op, params };
  }
  return null;
}

/** True when some operation serves this path with another method (405 rather than 404). */
export const pathKnown = (pathname: string) => compiled.some((r) => r.re.test(pathname));

export function intParam(req: RouteRequest, name: string): number {
  const v = req.params[name] ?? "";
  if (!/^\d+$/.test(v)) throw new HttpError(404, "Not Found");
  return Number(v);
}

/** The repo of the request, checking the actor can see it (GitHub answers 404 otherwise). */
export function repoFor(req: RouteRequest, ctx: SimContext, need: "read" | "write" = "read"): Repo {
  const repo = ctx.w.repo(req.params.owner ?? "", req.params.repo ?? "");
  const a = req.actor;
  if (a.kind === "installation") {
    const inst = ctx.w.installations.get(a.installationId);
    if (!inst || inst.account.toLowerCase() !== repo.owner.toLowerCase()) throw new HttpError(404, "Not Found");
    return repo;
  }
  if (a.kind === "user") {
    const perm = ctx.w.permission(repo, a.login);
    if (perm === "none" && repo.private) throw new HttpError(404, "Not Found");
    if (need === "write" && PERMISSION_RANK[perm] < PERMISSION_RANK.write) throw new HttpError(403, "Must have push access to this repository.");
    return repo;
  }
  throw new HttpError(401, "Bad credentials");
}

export const actorLogin = (a: Actor): string => (a.kind === "app" ? "" : a.login);

/** Slices a list per `per_page`/`page` and adds GitHub's Link header. */
export function paginate<T>(req: RouteRequest, ctx: SimContext, items: T[], wrap?: (page: T[]) => unknown): RouteResponse {
  const perPage = Math.min(Math.max(Number(req.query.get("per_page") ?? 30) || 30, 1), 100);
  const page = Math.max(Number(req.query.get("page") ?? 1) || 1, 1);
  const last = Math.max(Math.ceil(items.length / perPage), 1);
  const slice = items.slice((page - 1) * perPage, page * perPage);
  const link = (p: number, rel: string) => {
    const u = new URL(req.url.pathname, ctx.w.baseUrl);
    req.query.forEach((v, k) => u.searchParams.set(k, v));
    u.searchParams.set("per_page", String(perPage));
    u.searchParams.set("page", String(p));
    return `<${u.toString()}>; rel="${rel}"`;
  };
  const rels: string[] = [];
  if (page > 1) rels.push(link(page - 1, "prev"), link(1, "first"));
  if (page < last) rels.push(link(page + 1, "next"), link(last, "last"));
  return { status: 200, body: wrap ? wrap(slice) : slice, headers: rels.length ? { link: rels.join(", ") } : {} };
}

/** As paginate, but shapes only the requested page (items costly to shape: patches, commits). */
export async function paginateShaped<T>(req: RouteRequest, ctx: SimContext, items: T[], shape: (page: T[]) => Promise<unknown[]>): Promise<RouteResponse> {
  const r = paginate(req, ctx, items);
  return { ...r, body: await shape(r.body as T[]) };
}

export function bodyOf<T extends object>(req: RouteRequest): Partial<T> {
  return (req.body && typeof req.body === "object" ? req.body : {}) as Partial<T>;
}
