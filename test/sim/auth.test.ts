import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPairSync } from "node:crypto";
import { GitHubSimulator } from "./index.ts";
import { appJwt, installationOctokit, octokitWith } from "./test-helpers.ts";

let sim: GitHubSimulator;

beforeAll(async () => {
  sim = await GitHubSimulator.start();
  await sim.createRepo({ owner: "acme", name: "access" });
  await sim.createRepo({ owner: "other", name: "secret" });
});
afterAll(async () => { await sim.close(); });

const status = (p: Promise<unknown>) => p.then(() => 200, (e: { status?: number }) => e.status ?? -1);

describe("GitHub App authentication", () => {
  it("serves the app and issues installation tokens for a JWT signed with the app's key", async () => {
    const app = octokitWith(sim, appJwt(sim));
    const me = await app.rest.apps.getAuthenticated();
    expect(me.data?.id).toBe(sim.app.id);
    const inst = await app.rest.apps.getRepoInstallation({ owner: "acme", repo: "access" });
    expect(inst.data.account && "login" in inst.data.account ? inst.data.account.login : null).toBe("acme");
    const tok = await app.rest.apps.createInstallationAccessToken({ installation_id: inst.data.id });
    expect(tok.status).toBe(201);
    expect(tok.data.token).toMatch(/^ghs_[A-Za-z0-9]{36}$/);
    expect(new Date(tok.data.expires_at).getTime()).toBeGreaterThan(Date.now() + 50 * 60_000);
  });

  it("rejects missing, forged, expired and over-long JWTs with 401", async () => {
    const other = generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
    const now = Math.floor(Date.now() / 1000);
    expect(await status(octokitWith(sim, "").rest.apps.getAuthenticated())).toBe(401);
    expect(await status(octokitWith(sim, appJwt(sim, { key: other.privateKey })).rest.apps.getAuthenticated())).toBe(401);
    expect(await status(octokitWith(sim, appJwt(sim, { iat: now - 1200, exp: now - 600 })).rest.apps.getAuthenticated())).toBe(401);
    expect(await status(octokitWith(sim, appJwt(sim, { exp: now + 3600 })).rest.apps.getAuthenticated())).toBe(401);
    expect(await status(octokitWith(sim, appJwt(sim, { iss: 999 })).rest.apps.getAuthenticated())).toBe(401);
    const statuses = sim.requests("apps/get-authenticated").map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
  });

  it("requires an installation token for repository routes and scopes it to the installation", async () => {
    expect(await status(octokitWith(sim, "ghs_doesnotexist").rest.repos.get({ owner: "acme", repo: "access" }))).toBe(401);
    expect(await status(octokitWith(sim, appJwt(sim)).rest.repos.get({ owner: "acme", repo: "access" }))).toBe(401);
    const gh = await installationOctokit(sim, "acme");
    expect((await gh.rest.repos.get({ owner: "acme", repo: "access" })).data.full_name).toBe("acme/access");
    expect(await status(gh.rest.repos.get({ owner: "other", repo: "secret" }))).toBe(404);
    // an installation token is not an app JWT
    const token = (gh as unknown as { auth: () => Promise<{ token: string }> }).auth;
    const { token: t } = await token();
    expect(await status(octokitWith(sim, t).rest.apps.getAuthenticated())).toBe(401);
  });

  it("user tokens act as that person, limited by their repository permission", async () => {
    const repo = sim.repo("acme/access");
    repo.setCollaborator("reader", "read");
    const reader = octokitWith(sim, sim.userToken("reader"));
    expect((await reader.rest.repos.get({ owner: "acme", repo: "access" })).status).toBe(200);
    expect(await status(reader.rest.git.createBlob({ owner: "acme", repo: "access", content: "x" }))).toBe(403);
    expect(await status(octokitWith(sim, sim.userToken("stranger")).rest.repos.get({ owner: "acme", repo: "access" }))).toBe(404);
  });

  it("sends GitHub's rate-limit headers and counts per credential", async () => {
    const gh = await installationOctokit(sim, "acme");
    const a = await gh.rest.repos.get({ owner: "acme", repo: "access" });
    const b = await gh.rest.repos.get({ owner: "acme", repo: "access" });
    expect(a.headers["x-ratelimit-limit"]).toBe("5000");
    expect(Number(b.headers["x-ratelimit-remaining"])).toBe(Number(a.headers["x-ratelimit-remaining"]) - 1);
    expect(Number(a.headers["x-ratelimit-reset"])).toBeGreaterThan(Date.now() / 1000);
    expect(a.headers["x-ratelimit-resource"]).toBe("core");
  });
});
