// The app-manifest flow of the simulator: the web form that issues a one-time code and the REST
// conversion (validated against the OpenAPI subset like every other route).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrivateKey } from "node:crypto";
import { GitHubSimulator } from "./index.ts";

let sim: GitHubSimulator;
beforeAll(async () => { sim = await GitHubSimulator.start(); });
afterAll(async () => { await sim.close(); });

const manifest = (over: Record<string, unknown> = {}) => ({
  name: "jit-access-test", url: "https://example.com/jit", redirect_url: "http://127.0.0.1:9/probot/setup",
  hook_attributes: { url: "http://127.0.0.1:9/api/github/webhooks" }, public: false,
  default_permissions: { checks: "write", metadata: "read" }, default_events: ["pull_request"], ...over,
});
const convert = (code: string, prefix = "") => fetch(`${sim.baseUrl}${prefix}/app-manifests/${code}/conversions`, { method: "POST" });

describe("POST /app-manifests/{code}/conversions", () => {
  it("returns the registered app with its key, webhook secret and OAuth client, once", async () => {
    const code = sim.issueManifestCode(manifest());
    const r = await convert(code);
    expect(r.status).toBe(201);
    const app = await r.json() as Record<string, unknown>;
    expect(app).toMatchObject({ name: "jit-access-test", slug: "jit-access-test", permissions: { checks: "write", metadata: "read" }, events: ["pull_request"] });
    expect(typeof app.id).toBe("number");
    expect(createPrivateKey(String(app.pem)).asymmetricKeyType).toBe("rsa");
    expect(String(app.webhook_secret)).toMatch(/^[0-9a-f]{40}$/);
    expect(String(app.client_secret)).not.toBe("");
    expect((await convert(code)).status).toBe(404); // single use
    sim.assertNoViolations();
  });

  it("answers 404 for a code it never issued, and serves the GHES /api/v3 prefix", async () => {
    expect((await convert("not-a-code")).status).toBe(404);
    expect((await convert(sim.issueManifestCode(manifest()), "/api/v3")).status).toBe(201);
  });
});

describe("the /settings/apps/new form", () => {
  const submit = (path: string, m: unknown) => fetch(`${sim.baseUrl}${path}`, {
    method: "POST", redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ manifest: JSON.stringify(m) }).toString(),
  });

  it("redirects to redirect_url with a code and the state it was given", async () => {
    const r = await submit("/settings/apps/new?state=s1", manifest());
    expect(r.status).toBe(302);
    const to = new URL(r.headers.get("location")!);
    expect(`${to.origin}${to.pathname}`).toBe("http://127.0.0.1:9/probot/setup");
    expect(to.searchParams.get("state")).toBe("s1");
    const app = await (await convert(to.searchParams.get("code")!)).json() as { owner: { login: string } };
    expect(app.owner.login).toBe("jit-access-dev");
  });

  it("registers under the organization for /organizations/{org}/settings/apps/new", async () => {
    const r = await submit("/organizations/acme/settings/apps/new", manifest());
    const code = new URL(r.headers.get("location")!).searchParams.get("code")!;
    expect(((await (await convert(code)).json()) as { owner: { login: string } }).owner.login).toBe("acme");
  });

  it("refuses a manifest without a webhook url or redirect_url, as GitHub does", async () => {
    expect((await submit("/settings/apps/new", manifest({ hook_attributes: {} }))).status).toBe(422);
    expect((await submit("/settings/apps/new", manifest({ redirect_url: undefined }))).status).toBe(422);
  });
});
