// The HTTP server: the webhook route (src/queue/receiver.ts: verify, store, 202) and the health
// endpoint. Listens on HOST (default 127.0.0.1). Probot's own Server and its webhook middleware are
// not used: the server binds port 3000 and serves a setup page when APP_ID is missing, and the
// middleware reads any body whole and runs the handlers inside the request.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Probot } from "probot";
import type { AppConfig } from "./config.ts";
import type { Logger } from "./log.ts";

export const WEBHOOK_PATH = "/api/github/webhooks";

export type HealthHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
export type WebhookHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface RunningServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/**
 * A Probot instance only when the app is configured; the caller decides what "configured" needs.
 * It logs through the app's logger (src/log.ts), never its own pretty printer of whole payloads.
 */
export function createProbot(config: AppConfig, log: Logger): Probot | null {
  if (!config.appId || !config.privateKey || !config.webhookSecret) return null;
  return new Probot({
    appId: config.appId, privateKey: config.privateKey, secret: config.webhookSecret, log,
    baseUrl: config.github.apiUrl, // GHE_HOST: https://<host>/api/v3, as Probot's own `run` derives it
  });
}

export async function startServer(opts: { config: AppConfig; webhooks: WebhookHandler | null; health: HealthHandler }): Promise<RunningServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && (path === "/health" || path === "/healthz")) {
      void Promise.resolve(opts.health(req, res)).catch(() => {
        res.statusCode = 500;
        res.end();
      });
      return;
    }
    if (opts.webhooks && path === WEBHOOK_PATH) {
      opts.webhooks(req, res);
      return;
    }
    res.statusCode = 404;
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ message: "Not Found" }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.config.port, opts.config.host, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${address}:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    }),
  };
}
