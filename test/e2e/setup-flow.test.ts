// The registration flow end to end against the GitHub simulator: the setup page, GitHub's form and
// redirect (the simulator issues the code), the conversion, .env in a temp dir. Also what an
// attacker could try against a developer's running setup page.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createPrivateKey } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { GitHubSimulator } from "../sim/index.ts";
import { loadConfig } from "../../src/config.ts";
import { runSetup } from "../../src/setup/run.ts";
import { SetupRefused, startSetupServer } from "../../src/setup/setup-server.ts";
import { readAppYml } from "../../src/setup/manifest.ts";
import type { Logger } from "../../src/db/state.ts";

const REPO = join(import.meta.dirname, "..", "..");
let sim: GitHubSimulator;
let dir: string;
let lines: string[];
const log: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };

beforeAll(async () => { sim = await GitHubSimulator.start(); });
afterAll(async () => { await sim.close(); });
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "jit-setup-"));
  copyFileSync(join(REPO, "app.yml"), join(dir, "app.yml"));
  lines = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** GitHub Enterprise Server at the simulator: the form and the API both go there. */
const devEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  PORT: "0", GHE_HOST: new URL(sim.baseUrl).host, GHE_PROTOCOL: "http", ...extra,
});
const unescape = (s: string) => s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)));

/** GET the setup page and read its form as a browser would. */
async function readForm(setupUrl: string) {
  const html = await (await fetch(`${setupUrl}/probot`)).text();
  const action = unescape(/<form action="([^"]+)" method="post">/.exec(html)![1]!);
  const manifest = unescape(/name="manifest" value="([^"]+)"/.exec(html)![1]!);
  return { action, manifest };
}

/** The person clicks "Register", GitHub (the simulator) confirms and redirects back. */
async function submitToGitHub(form: { action: string; manifest: string }): Promise<URL> {
  const r = await fetch(form.action, { method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ manifest: form.manifest }).toString() });
  expect(r.status).toBe(302);
  return new URL(r.headers.get("location")!);
}

async function startSetup(env: NodeJS.ProcessEnv) {
  const config = loadConfig(env);
  const s = await startSetupServer({ config, appYml: readAppYml(dir), envPath: join(dir, ".env"), log });
  return s;
}

describe("registration flow (manifest) against the simulator", () => {
  it("registers the app from app.yml and writes APP_ID, PRIVATE_KEY, WEBHOOK_SECRET to .env (0600), then carries on with them", async () => {
    const env = devEnv();
    // smee.io/new stand-in: answers a HEAD with the new channel's address, as smee.io does
    const channels = createServer((req, res) => { res.writeHead(307, { location: "https://smee.io/chan-test-1" }).end(); });
    await new Promise<void>((r) => channels.listen(0, "127.0.0.1", r));
    const newChannelUrl = `http://127.0.0.1:${(channels.address() as AddressInfo).port}/new`;
    const done = runSetup(loadConfig(env), log, { cwd: dir, env, newChannelUrl }).finally(() => channels.close());
    // runSetup logs where the page is
    const setupUrl = await (async () => {
      for (let i = 0; i < 200; i++) {
        const m = lines.map((l) => /Open (http:\/\/[^ ]+)\/probot /.exec(l)).find(Boolean);
        if (m) return m[1]!;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error("setup page never announced");
    })();

    const form = await readForm(setupUrl);
    const action = new URL(form.action);
    expect(`${action.origin}${action.pathname}`).toBe(`${sim.baseUrl}/settings/apps/new`);
    expect(action.searchParams.get("state")).toMatch(/^[0-9a-f]{48}$/);
    const manifest = JSON.parse(form.manifest) as Record<string, unknown>;
    expect(manifest).toMatchObject({
      name: "jit-access", public: false, url: setupUrl,
      hook_attributes: { url: "https://smee.io/chan-test-1" }, redirect_url: `${setupUrl}/probot/setup`, callback_urls: [setupUrl],
      default_permissions: { checks: "write", contents: "write", pull_requests: "write", issues: "write", members: "read", metadata: "read" },
      default_events: ["pull_request", "pull_request_review", "push", "check_run", "check_suite", "issues"],
    });

    const back = await submitToGitHub(form);
    expect(`${back.origin}${back.pathname}`).toBe(`${setupUrl}/probot/setup`);
    const page = await fetch(back);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(`${sim.baseUrl}/apps/jit-access/installations/new`);
    await done;

    const envPath = join(dir, ".env");
    expect(statSync(envPath).mode & 0o777).toBe(0o600);
    const written = parseEnv(readFileSync(envPath, "utf8"));
    expect(written.APP_ID).toMatch(/^[0-9]+$/);
    expect(createPrivateKey(written.PRIVATE_KEY!).asymmetricKeyType).toBe("rsa");
    expect(written.WEBHOOK_SECRET).toMatch(/^[0-9a-f]{40}$/);
    expect(written.GITHUB_CLIENT_ID).toBeTruthy();
    expect(written.WEBHOOK_PROXY_URL).toBe("https://smee.io/chan-test-1");
    // the process continues with them: config now has the app
    expect(env.APP_ID).toBe(written.APP_ID);
    const after = loadConfig(env);
    expect(after.appId).toBe(written.APP_ID);
    expect(after.privateKey).toBe(written.PRIVATE_KEY);
    // no secret in the log
    expect(lines.join("\n")).not.toContain(written.WEBHOOK_SECRET);
    expect(lines.join("\n")).not.toContain("PRIVATE KEY");
    expect(sim.requests("apps/create-from-manifest")).toHaveLength(1);
  });

  it("without a channel the webhook points at this server's route", async () => {
    const s = await startSetup(devEnv());
    try {
      const m = JSON.parse((await readForm(s.url)).manifest) as { hook_attributes: { url: string } };
      expect(m.hook_attributes.url).toBe(`${s.url}/api/github/webhooks`);
    } finally { await s.close(); }
  });

  it("registers under GH_ORG's organization", async () => {
    const s = await startSetup(devEnv({ GH_ORG: "acme" }));
    try {
      const form = await readForm(s.url);
      expect(new URL(form.action).pathname).toBe("/organizations/acme/settings/apps/new");
    } finally { await s.close(); }
  });

  it("keeps the other lines of an existing .env and says which keys it replaced", async () => {
    writeFileSync(join(dir, ".env"), "# mine\nJIT_REPOSITORIES=acme/access\nAPP_ID=1\n", { mode: 0o644 });
    const s = await startSetup(devEnv());
    try {
      await fetch(await submitToGitHub(await readForm(s.url)));
      const r = await s.registered;
      expect(r.replaced).toEqual(["APP_ID"]);
      const text = readFileSync(join(dir, ".env"), "utf8");
      expect(text.startsWith("# mine\nJIT_REPOSITORIES=acme/access\nAPP_ID=")).toBe(true);
      expect(statSync(join(dir, ".env")).mode & 0o777).toBe(0o600);
      expect(lines.some((l) => l.includes("replaced the earlier values of APP_ID"))).toBe(true);
    } finally { await s.close(); }
  });
});

describe("the setup page under attack", () => {
  it("I9: a callback without this page's state (another site's code) writes nothing", async () => {
    const s = await startSetup(devEnv());
    const conversions = sim.countRequests("apps/create-from-manifest");
    try {
      // the attacker registers an app of their own and sends the victim's browser to the callback
      const code = sim.issueManifestCode({ name: "evil", url: "https://evil.example", hook_attributes: { url: "https://evil.example/h" } }, "mallory");
      for (const q of [`code=${code}`, `code=${code}&state=`, `code=${code}&state=${"0".repeat(48)}`]) {
        const r = await fetch(`${s.url}/probot/setup?${q}`);
        expect(r.status).toBe(403);
      }
      expect(existsSync(join(dir, ".env"))).toBe(false);
      expect(sim.countRequests("apps/create-from-manifest")).toBe(conversions);
    } finally { await s.close(); }
  });

  it("a code GitHub does not convert (used, expired, invented) writes nothing and leaves the page usable", async () => {
    const s = await startSetup(devEnv());
    try {
      const form = await readForm(s.url);
      const state = new URL(form.action).searchParams.get("state")!;
      const r = await fetch(`${s.url}/probot/setup?code=deadbeef&state=${state}`);
      expect(r.status).toBe(502);
      expect(existsSync(join(dir, ".env"))).toBe(false);
      await fetch(await submitToGitHub(form)); // a real registration still completes afterwards
      expect((await s.registered).keys).toContain("APP_ID");
    } finally { await s.close(); }
  });

  it("I9: a page reached under a foreign Host (DNS rebinding) is refused and shows no state", async () => {
    const s = await startSetup(devEnv());
    try {
      const port = new URL(s.url).port;
      const { request } = await import("node:http");
      const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port, path: "/probot", headers: { host: `attacker.example:${port}` } }, (r) => {
          let body = ""; r.on("data", (c: Buffer) => { body += c.toString(); }); r.on("end", () => resolve({ status: r.statusCode!, body }));
        });
        req.on("error", reject); req.end();
      });
      expect(res.status).toBe(421);
      expect(res.body).not.toContain("state=");
      expect(res.body).not.toContain("manifest");
    } finally { await s.close(); }
  });

  it("I9: after one registration the callback is closed; a second code cannot replace the credentials", async () => {
    const s = await startSetup(devEnv());
    try {
      const form = await readForm(s.url);
      await fetch(await submitToGitHub(form));
      await s.registered;
      const first = readFileSync(join(dir, ".env"), "utf8");
      const again = await submitToGitHub(form); // same state, a fresh code
      expect((await fetch(again)).status).toBe(410);
      expect((await fetch(`${s.url}/probot`)).status).toBe(410);
      expect(readFileSync(join(dir, ".env"), "utf8")).toBe(first);
    } finally { await s.close(); }
  });

  it("I9: the manifest is HTML-escaped in the page (a quote in app.yml cannot break out of the form)", async () => {
    writeFileSync(join(dir, "app.yml"), `name: jit-access\ndescription: "x' onmouseover='alert(1)\\" <script>alert(2)</script>"\n`);
    const s = await startSetup(devEnv());
    try {
      const html = await (await fetch(`${s.url}/probot`)).text();
      expect(html).not.toContain("<script>alert");
      expect(html).not.toMatch(/value="[^"]*"[^>]*onmouseover/);
      expect(JSON.parse((await readForm(s.url)).manifest).description).toBe(`x' onmouseover='alert(1)" <script>alert(2)</script>`);
    } finally { await s.close(); }
  });

  it("I9: production never serves the setup page", async () => {
    const config = { ...loadConfig(devEnv()), production: true };
    await expect(startSetupServer({ config, appYml: readAppYml(dir), envPath: join(dir, ".env"), log })).rejects.toBeInstanceOf(SetupRefused);
    expect(() => loadConfig({ NODE_ENV: "production", GHE_HOST: "ghe.example.com", JIT_REPOSITORIES: "acme/access", WEBHOOK_SECRET: "s3cret-s3cret" })).toThrow(/APP_ID is required/);
  });

  it("app.yml carries no URL the flow fills; one that does is refused", () => {
    expect(() => readAppYml(REPO)).not.toThrow();
    writeFileSync(join(dir, "app.yml"), "name: x\nurl: https://github.com/\nhook_attributes:\n  url: https://example.invalid/h\n");
    expect(() => readAppYml(dir)).toThrow(/url, hook_attributes\.url/);
  });
});
