// WEBHOOK_PROXY_URL: smee-client forwards deliveries from a channel to the local webhook route.
// No network: a local HTTP server on 127.0.0.1 stands in for smee.io (server-sent events in
// smee's format: headers and body of the delivery as one JSON message).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHmac, randomUUID } from "node:crypto";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createNodeMiddleware, Probot } from "probot";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { WEBHOOK_PATH } from "../../src/server.ts";
import { forwardTarget, startWebhookProxy, type WebhookProxy } from "../../src/setup/webhook-proxy.ts";
import type { Logger } from "../../src/db/state.ts";

const SECRET = "proxy-test-secret";
const listen = async (s: Server) => { await new Promise<void>((r) => s.listen(0, "127.0.0.1", r)); return `http://127.0.0.1:${(s.address() as AddressInfo).port}`; };

let smee: Server;
let smeeUrl: string;
let stream: ServerResponse | null = null;
let app: Server;
let appUrl: string;
let proxy: WebhookProxy | null;
const received: { id: string; name: string; payload: unknown }[] = [];
const lines: string[] = [];
const log: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };

beforeAll(async () => {
  smee = createServer((req, res) => {
    if (req.url !== "/channel-abc123") { res.writeHead(404).end(); return; }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    res.write("event: ready\ndata: {}\n\n");
    stream = res;
  });
  smeeUrl = `${await listen(smee)}/channel-abc123`;
  const probot = new Probot({ appId: 1, privateKey: "unused", secret: SECRET, logLevel: "fatal" }); // the refused bad signature is expected here
  const middleware = await createNodeMiddleware((a) => { a.onAny(async (c) => { received.push({ id: c.id, name: c.name, payload: c.payload }); }); }, { probot, webhooksPath: WEBHOOK_PATH });
  app = createServer((req, res) => { void middleware(req, res, () => { res.writeHead(404).end(); }); });
  appUrl = await listen(app);
  proxy = await startWebhookProxy({ source: smeeUrl, target: forwardTarget(appUrl, WEBHOOK_PATH), log, timeoutMs: 10_000 });
});
afterAll(async () => {
  await proxy?.stop();
  stream?.end();
  smee.closeAllConnections();
  await new Promise<void>((r) => smee.close(() => r()));
  await new Promise<void>((r) => app.close(() => r()));
});

/** What smee.io sends for one GitHub delivery. */
function relay(payload: Record<string, unknown>, signWith = SECRET): string {
  const id = randomUUID();
  const body = JSON.stringify(payload);
  stream!.write(`data: ${JSON.stringify({
    "x-github-event": "issues", "x-github-delivery": id, "content-type": "application/json",
    "x-hub-signature-256": `sha256=${createHmac("sha256", signWith).update(body).digest("hex")}`,
    body: payload, query: {}, timestamp: Date.now(),
  })}\n\n`);
  return id;
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe("WEBHOOK_PROXY_URL (smee)", () => {
  it("connects the channel and a delivery reaches the app's webhook route, signature verified", async () => {
    expect(proxy).not.toBeNull();
    const id = relay({ action: "opened", issue: { number: 1 }, repository: { full_name: "acme/access" } });
    await until(() => received.some((r) => r.id === id));
    expect(received.find((r) => r.id === id)).toMatchObject({ name: "issues", payload: { action: "opened", issue: { number: 1 } } });
  });

  it("I9: the proxy adds no trust: a delivery with a wrong signature is forwarded and refused", async () => {
    const before = received.length;
    const bad = relay({ action: "opened", issue: { number: 2 } }, "not-the-secret");
    const good = relay({ action: "opened", issue: { number: 3 } });
    await until(() => received.some((r) => r.id === good));
    expect(received.some((r) => r.id === bad)).toBe(false);
    expect(received.length).toBe(before + 1);
  });

  it("I9: the channel URL (a bearer secret) never appears in the log", () => {
    expect(lines.some((l) => l.includes("forwarding WEBHOOK_PROXY_URL"))).toBe(true);
    expect(lines.join("\n")).not.toContain("channel-abc123");
  });

  it("an unreachable channel is a warning, not a crash", async () => {
    const p = await startWebhookProxy({ source: "http://127.0.0.1:9/nothing", target: forwardTarget(appUrl, WEBHOOK_PATH), log, timeoutMs: 2_000 });
    expect(p).toBeNull();
    expect(lines.some((l) => l.includes("could not connect to WEBHOOK_PROXY_URL"))).toBe(true);
  });

  it("is refused in production and must be an http(s) URL", () => {
    expect(() => loadConfig({ NODE_ENV: "production", APP_ID: "1", PRIVATE_KEY: "k", WEBHOOK_SECRET: "s3cret", JIT_REPOSITORIES: "acme/access", WEBHOOK_PROXY_URL: "https://smee.io/x" })).toThrow(/WEBHOOK_PROXY_URL is for development only/);
    expect(() => loadConfig({ WEBHOOK_PROXY_URL: "file:///etc/passwd" })).toThrow(ConfigError);
    expect(loadConfig({ WEBHOOK_PROXY_URL: "https://smee.io/abc" }).webhookProxyUrl).toBe("https://smee.io/abc");
  });

  it("forwards to the loopback when the server listens on a wildcard address", () => {
    expect(forwardTarget("http://0.0.0.0:3000", WEBHOOK_PATH)).toBe("http://127.0.0.1:3000/api/github/webhooks");
    expect(forwardTarget("http://127.0.0.1:4000", WEBHOOK_PATH)).toBe("http://127.0.0.1:4000/api/github/webhooks");
  });
});
