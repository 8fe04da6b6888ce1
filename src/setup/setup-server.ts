// Development only: the registration flow (GitHub's app-manifest flow) served when `npm start`
// finds no APP_ID/PRIVATE_KEY. GET /probot shows a form that POSTs the manifest to GitHub's
// /settings/apps/new (GHE_HOST, GH_ORG respected); GitHub redirects back to /probot/setup?code&state;
// the code is exchanged through POST /app-manifests/{code}/conversions and the credentials go to
// .env. Probot's own setup app is not used: it spreads app.yml over the computed URLs, writes .env
// world-readable and overwrites keys silently, trusts X-Forwarded-Host, interpolates the manifest
// unescaped, and accepts any code (a page elsewhere could make the browser register someone
// else's app here). Here: a per-process `state` (CSRF), a Host allowlist (DNS rebinding), one
// successful registration per process, and .env written by env-file.ts.
import { JitError } from "../core/errors.ts";
import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Octokit } from "@octokit/rest";
import { createAppUrl } from "../core/github-host.ts";
import type { AppConfig } from "../config.ts";
import type { Logger } from "../db/state.ts";
import { writeEnvFile, type EnvWriteResult } from "./env-file.ts";
import { buildManifest, SETUP_CALLBACK_PATH, SETUP_PATH } from "./manifest.ts";
import { donePage, messagePage, setupPage } from "./page.ts";

export interface SetupOptions {
  config: AppConfig;
  /** app.yml, already read (readAppYml). */
  appYml: Record<string, unknown>;
  /** Where the credentials are written. */
  envPath: string;
  /** Written to .env together with the credentials (e.g. the WEBHOOK_PROXY_URL the manifest uses). */
  extraEnv?: Record<string, string>;
  log: Logger;
}

export interface SetupServer {
  url: string;
  /** Resolves once the app is registered and .env written. */
  registered: Promise<EnvWriteResult>;
  close(): Promise<void>;
}

/** The credentials the conversion returns, under the variables Probot and this app read. */
const ENV_KEYS = { id: "APP_ID", pem: "PRIVATE_KEY", webhook_secret: "WEBHOOK_SECRET", client_id: "GITHUB_CLIENT_ID", client_secret: "GITHUB_CLIENT_SECRET" } as const;

export class SetupRefused extends JitError {
  constructor(message: string) {
    super("JIT_PRODUCTION_CONFIG", message);
  }
}

export async function startSetupServer(o: SetupOptions): Promise<SetupServer> {
  if (o.config.production) throw new SetupRefused("the registration flow is never served when NODE_ENV=production");
  const state = randomBytes(24).toString("hex");
  let finished: EnvWriteResult | null = null;
  let busy = false;
  let resolveRegistered!: (r: EnvWriteResult) => void;
  const registered = new Promise<EnvWriteResult>((r) => { resolveRegistered = r; });
  let port = o.config.port;

  // Only names this machine answers to: a foreign Host is a DNS-rebinding page reading the state.
  const allowedHosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `${o.config.host}:${port}`].map((h) => h.toLowerCase()));
  const send = (res: ServerResponse, status: number, html: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "x-frame-options": "DENY", "referrer-policy": "no-referrer", ...headers }).end(html);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const host = String(req.headers.host ?? "").toLowerCase();
    if (!allowedHosts().has(host)) return send(res, 421, messagePage("Wrong host", `Open this page as http://127.0.0.1:${port}${SETUP_PATH}.`));
    const url = new URL(req.url ?? "/", `http://${host}`);
    if (req.method !== "GET") return send(res, 405, messagePage("Method not allowed", "Only GET is served here."));
    if (url.pathname === "/") return send(res, 302, "", { location: SETUP_PATH });
    const baseUrl = `http://${host}`;
    if (url.pathname === SETUP_PATH) {
      if (finished) return send(res, 410, messagePage("Already registered", "Restart the server to use the new app."));
      const manifest = buildManifest(o.appYml, baseUrl, o.config.webhookProxyUrl);
      return send(res, 200, setupPage({
        name: manifest.name, manifest: JSON.stringify(manifest), webhookUrl: manifest.hook_attributes.url,
        formAction: createAppUrl(o.config.github, o.config.setupOrg, state),
        owner: o.config.setupOrg ? `the organization ${o.config.setupOrg}` : "your account",
      }));
    }
    if (url.pathname === SETUP_CALLBACK_PATH) {
      if (finished || busy) return send(res, 410, messagePage("Already registered", "This server registered an app already; restart it."));
      const code = url.searchParams.get("code") ?? "";
      const given = Buffer.from(url.searchParams.get("state") ?? "");
      if (given.length !== state.length || !timingSafeEqual(given, Buffer.from(state))) {
        o.log.warn("setup: a registration callback arrived without this page's state and was refused (cross-site request?)");
        return send(res, 403, messagePage("Refused", "This callback does not come from this server's setup page. Start again from the setup page."));
      }
      if (!/^[A-Za-z0-9_-]{1,200}$/.test(code)) return send(res, 400, messagePage("Bad request", "The code GitHub sent is missing or malformed."));
      busy = true;
      try {
        const gh = new Octokit({ baseUrl: o.config.github.apiUrl, userAgent: "jit-access-setup" });
        const { data } = await gh.request("POST /app-manifests/{code}/conversions", { code });
        const values: Record<string, string> = {};
        for (const [field, key] of Object.entries(ENV_KEYS)) {
          const v = (data as Record<string, unknown>)[field];
          if (v !== null && v !== undefined && v !== "") values[key] = String(v);
        }
        if (!values.APP_ID || !values.PRIVATE_KEY || !values.WEBHOOK_SECRET) throw new Error("GitHub's answer lacks the id, key or webhook secret");
        Object.assign(values, o.extraEnv ?? {});
        const written = writeEnvFile(o.envPath, values);
        finished = written;
        const installUrl = `${o.config.github.webUrl}/apps/${encodeURIComponent(String(data.slug ?? ""))}/installations/new`;
        o.log.info(`setup: registered GitHub App ${values.APP_ID}; wrote ${Object.keys(values).join(", ")} to ${o.envPath} (mode 0600)`);
        if (written.replaced.length) o.log.warn(`setup: replaced the earlier values of ${written.replaced.join(", ")} in ${o.envPath}`);
        o.log.info(`setup: install the app on the access repository: ${installUrl}`);
        send(res, 200, donePage({ name: String(data.name ?? "jit-access"), envPath: o.envPath, written: Object.keys(values), replaced: written.replaced, installUrl }));
        resolveRegistered(written);
      } catch (e) {
        o.log.error(`setup: the registration could not be completed: ${(e as { status?: number }).status ?? ""} ${(e as Error).message}`.replace(/\s+/g, " "));
        send(res, 502, messagePage("Registration failed", "GitHub did not convert the code (it is single-use and expires after an hour). Start again from the setup page."));
      } finally {
        busy = false;
      }
      return;
    }
    send(res, 404, messagePage("Not found", `The setup page is ${SETUP_PATH}.`));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      o.log.error(`setup: ${(e as Error).message}`);
      if (!res.headersSent) send(res, 500, messagePage("Error", "The setup page failed; see the server log."));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.config.port, o.config.host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const url = `http://${o.config.host.includes(":") ? `[${o.config.host}]` : o.config.host}:${port}`;
  return {
    url,
    registered,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
