// GHE_HOST: GitHub Enterprise Server through the variables Probot reads; the URL derivation, the
// refusals, and that the app's Probot really talks to https://<host>/api/v3.
import { createLogger } from "../../src/log.ts";
import { describe, expect, it } from "vitest";
import { generateKeyPairSync } from "node:crypto";
import { createAppUrl, GITHUB_COM, parseGitHubHost } from "../../src/core/github-host.ts";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { createProbot } from "../../src/server.ts";

describe("GHE_HOST → URLs", () => {
  it("unset: github.com", () => {
    expect(parseGitHubHost(undefined, undefined, false)).toMatchObject({ ok: true, details: GITHUB_COM });
    expect(GITHUB_COM).toEqual({ webUrl: "https://github.com", apiUrl: "https://api.github.com", enterprise: false });
  });

  it("a host (and port): https://<host>/api/v3 for the API, https://<host> for the web", () => {
    expect(parseGitHubHost("ghe.example.com", undefined, true).details).toEqual({ webUrl: "https://ghe.example.com", apiUrl: "https://ghe.example.com/api/v3", enterprise: true });
    expect(parseGitHubHost("GHE.Example.com:8443", "https", true).details.apiUrl).toBe("https://ghe.example.com:8443/api/v3");
    expect(parseGitHubHost("ghe.local", "http", false).details.apiUrl).toBe("http://ghe.local/api/v3");
  });

  it("refuses anything but a host name with an optional port (tokens would go elsewhere)", () => {
    for (const bad of ["https://ghe.example.com", "ghe.example.com/api/v3", "user:pw@ghe.example.com", "evil.example#@ghe.example.com", "ghe.example.com?x=1", "ghe example.com", "ghe.example.com:0", "ghe.example.com:123456", "-ghe.example.com", "ghe.example.com\n", "ghe.example.com\u2028", " ghe.example.com", "ghe.example.com:70000"]) {
      const d = parseGitHubHost(bad, undefined, false);
      expect(d.ok, bad).toBe(false);
      expect(d.code).toBe("JIT_CONFIG_INVALID");
    }
    expect(parseGitHubHost("ghe.example.com", "ftp", false).code).toBe("JIT_CONFIG_INVALID");
    expect(parseGitHubHost(undefined, "https", false).code).toBe("JIT_CONFIG_INVALID");
  });

  it("I9: plain http to GitHub Enterprise is refused in production", () => {
    expect(parseGitHubHost("ghe.example.com", "http", true).code).toBe("JIT_PRODUCTION_CONFIG");
    expect(() => loadConfig({ GHE_HOST: "ghe.example.com", GHE_PROTOCOL: "http", NODE_ENV: "production" })).toThrow(ConfigError);
  });

  it("the manifest form posts to the GHE host, for an account or an organization", () => {
    const ghe = parseGitHubHost("ghe.example.com", undefined, false).details;
    expect(createAppUrl(ghe)).toBe("https://ghe.example.com/settings/apps/new");
    expect(createAppUrl(ghe, "acme", "abc")).toBe("https://ghe.example.com/organizations/acme/settings/apps/new?state=abc");
    expect(createAppUrl(GITHUB_COM)).toBe("https://github.com/settings/apps/new");
  });

  it("the app's Probot uses the GHE API base", async () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
    const config = loadConfig({ GHE_HOST: "ghe.example.com", APP_ID: "1", PRIVATE_KEY: privateKey, WEBHOOK_SECRET: "dev-secret" });
    expect(config.github.apiUrl).toBe("https://ghe.example.com/api/v3");
    const probot = createProbot(config, createLogger({ level: "silent", format: "json" }))!;
    const octokit = await probot.auth();
    expect(octokit.request.endpoint.DEFAULTS.baseUrl).toBe("https://ghe.example.com/api/v3");
    const dotcom = await createProbot(loadConfig({ APP_ID: "1", PRIVATE_KEY: privateKey, WEBHOOK_SECRET: "dev-secret" }), createLogger({ level: "silent", format: "json" }))!.auth();
    expect(dotcom.request.endpoint.DEFAULTS.baseUrl).toBe("https://api.github.com");
  });

  it("GH_ORG must be an organization login", () => {
    expect(loadConfig({ GH_ORG: "acme" }).setupOrg).toBe("acme");
    expect(() => loadConfig({ GH_ORG: "../x" })).toThrow(ConfigError);
  });
});
