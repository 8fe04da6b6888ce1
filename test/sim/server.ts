// The simulator's HTTP front: route, authenticate, rate-limit, inject faults, validate the request
// body, run the handler, validate the response against the contract, log.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { randomBytes } from "node:crypto";
import type { AppAuth, Actor } from "./auth.ts";
import type { ContractValidator } from "./contract.ts";
import type { SimContext } from "./context.ts";
import type { Faults, RateLimits, RequestLogEntry } from "./faults.ts";
import { handleManifestForm } from "./manifests.ts";
import { matchRoute, type Handler, type RouteResponse } from "./router.ts";
import { HttpError } from "./world.ts";

const DOCS = "https://docs.github.com/rest";
/** Operations that authenticate as the app (JWT) rather than with an installation/user token. */
/** Operations GitHub serves without credentials (the manifest code is the credential). */
const PUBLIC = new Set(["apps/create-from-manifest"]);
const ANONYMOUS: Actor = { kind: "user", login: "", token: "anonymous" };
const APP_AUTH = new Set(["apps/get-authenticated", "apps/list-installations", "apps/get-installation", "apps/create-installation-access-token", "apps/get-repo-installation"]);

export interface ServerDeps {
  ctx: SimContext;
  auth: AppAuth;
  contract: ContractValidator;
  faults: Faults;
  rateLimits: RateLimits;
  routes: Record<string, Handler>;
  log: RequestLogEntry[];
  onViolation: (kind: "request" | "response", target: string, message: string, status?: number) => void;
}

const errorBody = (status: number, message: string, extra: Record<string, unknown> = {}) => ({ message, documentation_url: DOCS, status: String(status), ...extra });

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

const actorName = (a: Actor | null) => (!a ? "" : a.kind === "app" ? "app" : a.login);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createSimServer(d: ServerDeps): Server {
  return createServer((req, res) => {
    void (async () => {
      if (await handleManifestForm(d.ctx.w, d.ctx.w.app.owner, req, res)) return;
      await handle(d, req, res);
    })();
  });
}

async function handle(d: ServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = performance.now();
  const method = req.method ?? "GET";
  const url = new URL(req.url ?? "/", d.ctx.w.baseUrl);
  // GitHub Enterprise Server serves the same API under /api/v3 (GHE_HOST clients use that base).
  if (url.pathname.startsWith("/api/v3/")) url.pathname = url.pathname.slice("/api/v3".length);
  const match = matchRoute(method, url.pathname);
  let actor: Actor | null = null;
  let faulted = false;
  const headers: Record<string, string> = { "x-github-request-id": randomBytes(8).toString("hex").toUpperCase(), "x-github-api-version-selected": "2022-11-28" };
  let out: RouteResponse;
  try {
    if (!match) throw new HttpError(404, "Not Found");
    const raw = await readBody(req);
    let body: unknown;
    if (raw.trim() !== "") {
      try { body = JSON.parse(raw); } catch { throw new HttpError(400, "Problems parsing JSON"); }
    }
    actor = PUBLIC.has(match.op.id) && !req.headers.authorization ? ANONYMOUS : d.auth.authenticate(req.headers.authorization, APP_AUTH.has(match.op.id));
    const rl = d.rateLimits.consume(actor.kind === "app" ? "app" : actor.token);
    Object.assign(headers, rl.headers);
    if (rl.exceeded) throw new HttpError(403, `API rate limit exceeded for ${actorName(actor)}.`);
    const fault = d.faults.take(match.op.id, method, match.op.path);
    const delay = (fault?.latencyMs ?? 0) + d.faults.latencyMs;
    if (delay > 0) await sleep(delay);
    if (fault?.status) {
      faulted = true;
      if (fault.status === 429 || fault.status === 403) {
        const reset = Math.floor(Date.now() / 1000) + 60;
        Object.assign(headers, d.rateLimits.headers(5000, reset), { "retry-after": "60" });
        throw new HttpError(fault.status, `API rate limit exceeded for ${actorName(actor)}.`);
      }
      throw new HttpError(fault.status, fault.status >= 500 ? "Server Error" : "Injected fault");
    }
    if (fault?.beforeHandler) { faulted = true; await fault.beforeHandler(); }
    const problem = d.contract.checkRequest(match.op.id, body);
    if (problem) {
      d.onViolation("request", match.op.id, problem);
      throw new HttpError(422, `Invalid request.\n\n${problem}`);
    }
    const handler = d.routes[match.op.id];
    if (!handler) throw new Error(`no handler for ${match.op.id}`);
    out = await handler({ op: match.op, params: match.params, query: url.searchParams, body, actor, url, accept: String(req.headers.accept ?? "") }, d.ctx);
    if (fault?.mutateResponse && out.body && typeof out.body === "object") { faulted = true; fault.mutateResponse(out.body as Record<string, unknown>); }
  } catch (e) {
    if (e instanceof HttpError) out = { status: e.status, body: errorBody(e.status, e.message, e.extra) };
    else {
      // A crash inside the simulator is a defect of the simulator: surface it like a contract violation.
      d.onViolation("response", match?.op.id ?? url.pathname, `simulator error: ${(e as Error).stack ?? String(e)}`, 500);
      out = { status: 500, body: errorBody(500, `simulator error: ${(e as Error).message}`) };
    }
  }
  if (match && !Buffer.isBuffer(out.body) && out.status !== 500) {
    const problem = d.contract.checkResponse(match.op.id, out.status, out.body);
    if (problem) {
      d.onViolation("response", match.op.id, problem, out.status);
      out = { status: 500, body: errorBody(500, `simulator contract violation in ${match.op.id} (${out.status}): ${problem}`) };
    }
  }
  Object.assign(headers, out.headers ?? {});
  if (Buffer.isBuffer(out.body)) {
    res.writeHead(out.status, { ...headers, "content-length": String(out.body.length) });
    res.end(out.body);
  } else if (out.body === undefined) {
    res.writeHead(out.status, headers);
    res.end();
  } else {
    const text = JSON.stringify(out.body);
    res.writeHead(out.status, { "content-type": "application/json; charset=utf-8", "x-github-media-type": "github.v3; format=json", ...headers, "content-length": String(Buffer.byteLength(text)) });
    res.end(text);
  }
  d.log.push({ method, route: match?.op.path ?? url.pathname, operationId: match?.op.id ?? null, path: url.pathname + url.search, status: out.status, ms: Math.round(performance.now() - started), actor: actorName(actor), faulted, startedAt: performance.timeOrigin + started, at: performance.timeOrigin + performance.now() });
}
