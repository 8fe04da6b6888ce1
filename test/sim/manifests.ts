// GitHub's app-manifest flow (https://docs.github.com/apps/sharing-github-apps/registering-a-github-app-from-a-manifest).
// The web half (a signed-in person POSTs the manifest form to /settings/apps/new, clicks "Create",
// and GitHub redirects to the manifest's redirect_url with ?code&state) is not part of the REST
// API, so it is served here outside the contract; the REST half, POST
// /app-manifests/{code}/conversions, is routes/apps.ts. Codes are single-use and expire after one
// hour, as GitHub's do.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { iso, userByLogin } from "./shapes.ts";
import { HttpError, type SimWorld } from "./world.ts";

const CODE_TTL_MS = 3600_000;

export interface PendingManifest {
  manifest: Record<string, unknown>;
  owner: string;
  issuedAt: number;
}

/** Registered apps get ids from here on, far from the simulator's own app id. */
let nextAppId = 900_000;

/** GitHub's checks on a manifest that matter to the flow: a name, a homepage url, a webhook url when the hook is active. */
export function manifestProblem(m: unknown): string | null {
  if (!m || typeof m !== "object" || Array.isArray(m)) return "manifest must be a JSON object";
  const o = m as Record<string, unknown>;
  if (typeof o.url !== "string" || !/^https?:\/\//.test(o.url)) return "url must be an http(s) URL";
  const hook = o.hook_attributes as Record<string, unknown> | undefined;
  if (hook !== undefined && (typeof hook !== "object" || hook === null)) return "hook_attributes must be an object";
  if (hook && hook.active !== false && (typeof hook.url !== "string" || !/^https?:\/\//.test(hook.url))) return "hook_attributes.url must be an http(s) URL";
  if (o.name !== undefined && (typeof o.name !== "string" || o.name.length === 0 || o.name.length > 34)) return "name must be 1 to 34 characters";
  if (o.redirect_url !== undefined && (typeof o.redirect_url !== "string" || !/^https?:\/\//.test(o.redirect_url))) return "redirect_url must be an http(s) URL";
  return null;
}

/** What GitHub does when the person clicks "Create GitHub App": a one-time code for the manifest. */
export function issueManifestCode(w: SimWorld, manifest: Record<string, unknown>, owner: string): string {
  const problem = manifestProblem(manifest);
  if (problem) throw new Error(`invalid manifest: ${problem}`);
  w.user(owner);
  const code = randomBytes(20).toString("hex");
  w.manifestCodes.set(code, { manifest, owner, issuedAt: Date.now() });
  return code;
}

/** POST /app-manifests/{code}/conversions: the app's id, key, webhook secret and OAuth client. */
export function convertManifestCode(w: SimWorld, code: string): Record<string, unknown> {
  const pending = w.manifestCodes.get(code);
  w.manifestCodes.delete(code); // single use, even when expired
  if (!pending || Date.now() - pending.issuedAt > CODE_TTL_MS) throw new HttpError(404, "Not Found");
  const m = pending.manifest;
  const id = nextAppId++;
  const name = typeof m.name === "string" ? m.name : `app-${id}`;
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
  const now = w.now();
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
  const permissions = (m.default_permissions ?? {}) as Record<string, string>;
  const events = Array.isArray(m.default_events) ? m.default_events.map(String) : [];
  return {
    id, slug, node_id: w.ids.nodeId("A_", id), client_id: `Iv23li${randomBytes(7).toString("hex")}`,
    owner: userByLogin(w, pending.owner), name, description: typeof m.description === "string" ? m.description : "",
    external_url: String(m.url), html_url: `${w.baseUrl}/apps/${slug}`, created_at: iso(now), updated_at: iso(now),
    permissions, events,
    client_secret: randomBytes(20).toString("hex"), webhook_secret: randomBytes(20).toString("hex"), pem: privateKey,
  };
}

const WEB_PATH = /^\/(?:organizations\/([A-Za-z0-9-]+)\/)?settings\/apps\/new$/;

/**
 * The web form GitHub serves: the manifest arrives form-encoded, the person (the simulator's
 * `webUser`, or the organization) confirms, GitHub answers 302 to redirect_url?code=…&state=….
 * Returns false when the request is not for this page.
 */
export async function handleManifestForm(w: SimWorld, webUser: string, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const url = new URL(req.url ?? "/", w.baseUrl);
  const m = WEB_PATH.exec(url.pathname);
  if (!m || req.method !== "POST") return false;
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
  let manifest: unknown;
  try { manifest = JSON.parse(form.get("manifest") ?? ""); } catch { manifest = null; }
  const problem = manifestProblem(manifest);
  const redirect = (manifest as { redirect_url?: unknown } | null)?.redirect_url;
  if (problem || typeof redirect !== "string") {
    res.writeHead(422, { "content-type": "text/plain" }).end(`Invalid GitHub App configuration: ${problem ?? "redirect_url is required"}`);
    return true;
  }
  const code = issueManifestCode(w, manifest as Record<string, unknown>, m[1] ?? webUser);
  const to = new URL(redirect);
  to.searchParams.set("code", code);
  const state = url.searchParams.get("state");
  if (state !== null) to.searchParams.set("state", state);
  res.writeHead(302, { location: to.toString(), "content-type": "text/html" }).end();
  return true;
}
