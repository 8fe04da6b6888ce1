// `npm start` without credentials in development: serve the registration flow, then carry on
// with the credentials it wrote (no manual restart). Production never gets here (config.ts refuses).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseEnv } from "node:util";
import type { AppConfig } from "../config.ts";
import type { Logger } from "../db/state.ts";
import { readAppYml, SETUP_PATH } from "./manifest.ts";
import { startSetupServer } from "./setup-server.ts";
import { createWebhookChannel } from "./webhook-proxy.ts";

/** Development without APP_ID or a private key: the registration flow runs first. */
export function needsSetup(config: AppConfig): boolean {
  return !config.production && (!config.appId || !config.privateKey);
}

/** Serves the setup page until an app is registered; then the written variables are in `env`. */
export async function runSetup(config: AppConfig, log: Logger, o: { cwd?: string; env?: NodeJS.ProcessEnv; newChannelUrl?: string } = {}): Promise<void> {
  const cwd = o.cwd ?? process.cwd();
  const env = o.env ?? process.env;
  const envPath = join(cwd, ".env");
  // GitHub must reach the webhook: a laptop gets a smee channel unless one is set or NO_SMEE_SETUP=true.
  const extraEnv: Record<string, string> = {};
  if (!config.webhookProxyUrl && env.NO_SMEE_SETUP !== "true") {
    const channel = await createWebhookChannel({ log, ...(o.newChannelUrl ? { newChannelUrl: o.newChannelUrl } : {}) });
    if (channel) {
      config = { ...config, webhookProxyUrl: channel };
      extraEnv.WEBHOOK_PROXY_URL = channel;
    }
  }
  const setup = await startSetupServer({ config, appYml: readAppYml(cwd), envPath, log, extraEnv });
  log.info(`setup: no GitHub App is configured (APP_ID, PRIVATE_KEY). Open ${setup.url}${SETUP_PATH} to register one from app.yml on ${config.github.webUrl}; the credentials go to ${envPath}.`);
  const written = await setup.registered;
  await setup.close();
  const now = parseEnv(readFileSync(envPath, "utf8"));
  for (const k of written.keys) if (now[k] !== undefined) env[k] = now[k]; // the new app's values win over stale ones

  log.info("setup: starting with the new credentials");
}
