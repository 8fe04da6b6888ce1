// Development only: WEBHOOK_PROXY_URL connects a smee.io channel (smee-client, a dev dependency)
// and forwards every delivery it carries to this server's webhook route, where the signature is
// verified as for any delivery: the proxy adds no trust. Production refuses the variable
// (config.ts), and `npm ci --omit=dev` leaves smee-client out of the image.
import type { Logger } from "../db/state.ts";

export interface WebhookProxy {
  stop(): Promise<void>;
}

/** The address to forward to: a wildcard listen address is reached through the loopback. */
export function forwardTarget(serverUrl: string, path: string): string {
  const u = new URL(serverUrl);
  if (u.hostname === "0.0.0.0" || u.hostname === "[::]") u.hostname = "127.0.0.1";
  return `${u.origin}${path}`;
}

/** Connects `source` and forwards to `target`; null (with a warning) when it cannot. */
export async function startWebhookProxy(o: { source: string; target: string; log: Logger; timeoutMs?: number }): Promise<WebhookProxy | null> {
  let SmeeClient: typeof import("smee-client").SmeeClient;
  try {
    ({ SmeeClient } = await import("smee-client"));
  } catch {
    o.log.warn("WEBHOOK_PROXY_URL is set but smee-client is not installed (npm ci installs it in development); webhooks are not forwarded");
    return null;
  }
  // The channel URL is a bearer secret (whoever has it reads the deliveries): never logged.
  const quiet = (m: unknown) => String(m instanceof Error ? m.message : m).split(o.source).join("WEBHOOK_PROXY_URL");
  const client = new SmeeClient({
    source: o.source, target: o.target,
    logger: { info: (m: unknown) => o.log.info(`webhook proxy: ${quiet(m)}`), error: (m: unknown) => o.log.warn(`webhook proxy: ${quiet(m)}`) } as Pick<Console, "info" | "error"> as Console,
    maxConnectionTimeout: o.timeoutMs ?? 15_000,
  });
  try {
    await client.start();
  } catch (e) {
    o.log.warn(`webhook proxy: could not connect to WEBHOOK_PROXY_URL (${quiet(e)}); webhooks are not forwarded`);
    await client.stop().catch(() => {});
    return null;
  }
  o.log.info(`webhook proxy: forwarding WEBHOOK_PROXY_URL to ${o.target}`);
  return { stop: () => client.stop() };
}

/**
 * A new smee.io channel for the registration flow (as Probot's setup does), so that GitHub can
 * reach a server on a laptop; null (with a warning) when smee-client or the service is unavailable.
 */
export async function createWebhookChannel(o: { log: Logger; newChannelUrl?: string; timeoutMs?: number }): Promise<string | null> {
  try {
    const { SmeeClient } = await import("smee-client");
    const signal = AbortSignal.timeout(o.timeoutMs ?? 10_000);
    const url = await SmeeClient.createChannel({
      ...(o.newChannelUrl ? { newChannelUrl: o.newChannelUrl } : {}),
      fetch: ((input: string, init: RequestInit) => fetch(input, { ...init, signal })) as never,
    });
    if (!/^https?:\/\/[^\s/@]+\/\S+$/.test(url)) throw new Error("the service answered no channel URL");
    return url;
  } catch (e) {
    o.log.warn(`setup: no webhook channel could be created (${(e as Error).message}); the app's webhook will point at this server's URL. Set WEBHOOK_PROXY_URL to a channel from https://smee.io/new and reload the page to change that.`);
    return null;
  }
}
