// Helpers for the simulator's own tests: app JWTs and Octokit clients against the simulator.
import { createSign } from "node:crypto";
import { Octokit } from "@octokit/rest";
import type { GitHubSimulator } from "./simulator.ts";

export function appJwt(sim: GitHubSimulator, o: { iat?: number; exp?: number; iss?: string | number; key?: string } = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const enc = (x: unknown) => Buffer.from(JSON.stringify(x)).toString("base64url");
  const head = enc({ alg: "RS256", typ: "JWT" });
  const body = enc({ iat: o.iat ?? now - 30, exp: o.exp ?? now + 540, iss: o.iss ?? sim.app.id });
  const sig = createSign("RSA-SHA256").update(`${head}.${body}`).sign(o.key ?? sim.app.privateKey).toString("base64url");
  return `${head}.${body}.${sig}`;
}

/** Octokit without retries/throttling (a test must see the simulator's answer as is). */
export function octokitWith(sim: GitHubSimulator, auth: string): Octokit {
  return new Octokit({ auth, baseUrl: sim.baseUrl, request: { retries: 0 }, log: { debug() {}, info() {}, warn() {}, error() {} } });
}

export async function installationOctokit(sim: GitHubSimulator, account: string): Promise<Octokit> {
  const app = octokitWith(sim, appJwt(sim));
  const { data } = await app.rest.apps.createInstallationAccessToken({ installation_id: sim.installationId(account)! });
  return octokitWith(sim, data.token);
}

export interface Received { headers: Record<string, string | string[] | undefined>; body: string; json: Record<string, unknown> }

/** A plain HTTP endpoint on 127.0.0.1 that records webhook deliveries and answers `status`. */
export async function startReceiver(status = 200): Promise<{ url: string; received: Received[]; setStatus(s: number): void; close(): Promise<void> }> {
  const { createServer } = await import("node:http");
  const received: Received[] = [];
  let answer = status;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      received.push({ headers: req.headers, body, json: JSON.parse(body) as Record<string, unknown> });
      res.writeHead(answer).end("ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/hook`, received, setStatus: (s) => { answer = s; },
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
