// Item 5, on the real process: `node src/main.ts` with sentinel secrets in every credential
// (webhook secret, App private key, state and target database passwords) at LOG_LEVEL=trace.
// Signed deliveries (one handled, one whose handler throws), an unsigned one and a forged one go
// through Probot; every stdout line must be one JSON object carrying no payload text and no secret.
import { spawn, type ChildProcess } from "node:child_process";
import { createHmac, generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const hex = () => randomBytes(8).toString("hex");
const SECRET = `SENTINELwebhook${hex()}`;
const STATE_PASSWORD = `SENTINELstate${hex()}`;
const TARGET_PASSWORD = `SENTINELtarget${hex()}`;
const BODY = `SENTINELpayload${hex()}`;
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
const KEY_LINE = privateKey.split("\n")[1]!; // any line of the key's body

let pg: TestCluster;
let child: ChildProcess;
let out = "";
let err = "";

/** Polls stdout (bounded) until a line matches. */
async function waitFor(re: RegExp, ms = 60_000): Promise<RegExpExecArray> {
  for (const start = Date.now(); Date.now() - start < ms;) {
    const m = re.exec(out);
    if (m) return m;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no log line matching ${re}; stderr: ${err.slice(-2000)}`);
}

beforeAll(async () => {
  pg = await startPostgres();
  const c = await pg.connect();
  try { await c.query("CREATE DATABASE jit_state"); } finally { await c.end(); }
  const stateUrl = new URL(pg.superuserUrl("jit_state"));
  stateUrl.password = STATE_PASSWORD; // trust auth ignores it; the process still holds it
  child = spawn(process.execPath, [resolve(ROOT, "src/main.ts")], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: ROOT,
      APP_ID: "4242", PRIVATE_KEY: privateKey, WEBHOOK_SECRET: SECRET, DATABASE_URL: stateUrl.href,
      ORDERS_PROD_DATABASE_URL: `postgresql://jit_app:${TARGET_PASSWORD}@127.0.0.1:1/orders`,
      JIT_REPOSITORIES: "acme/access", LOG_LEVEL: "trace", LOG_FORMAT: "json", PORT: "0", HOST: "127.0.0.1",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    await exited;
    clearTimeout(timer);
  }
  await pg?.stop();
});

async function deliver(url: string, event: string, payload: unknown, signature: "valid" | "forged" | "none"): Promise<{ id: string; status: number }> {
  const body = JSON.stringify(payload);
  const id = randomUUID();
  const headers: Record<string, string> = { "content-type": "application/json", "x-github-event": event, "x-github-delivery": id };
  const key = signature === "forged" ? "not-the-secret" : SECRET;
  if (signature !== "none") headers["x-hub-signature-256"] = `sha256=${createHmac("sha256", key).update(body).digest("hex")}`;
  const res = await fetch(`${url}/api/github/webhooks`, { method: "POST", headers, body });
  await res.arrayBuffer();
  return { id, status: res.status };
}

const installation = (withInstallation: boolean) => ({
  action: "created",
  ...(withInstallation ? { installation: { id: 77, account: { login: BODY, id: 9, type: "Organization" } } } : {}),
  sender: { login: BODY, id: 1, type: "User" },
  repositories: [{ id: 1, name: BODY, full_name: `acme/${BODY}`, private: true }],
  note: BODY,
});

describe("process logs", () => {
  it("I9/case 30: every stdout line is JSON with delivery, event and outcome, and never a payload or a secret", async () => {
    const [, url] = await waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
    const handled = await deliver(url!, "installation", installation(true), "valid");
    const failing = await deliver(url!, "installation", installation(false), "valid"); // the handler throws: no installation
    const unsigned = await deliver(url!, "installation", installation(true), "none");
    const forged = await deliver(url!, "installation", installation(true), "forged");
    expect([handled.status, failing.status, unsigned.status, forged.status]).toEqual([202, 202, 400, 401]);

    await waitFor(new RegExp(`"delivery":"${handled.id}"[^\\n]*"outcome":"done"`));
    await waitFor(new RegExp(`"delivery":"${failing.id}"[^\\n]*"outcome":"(retry|dead)"`));
    await waitFor(new RegExp(`"delivery":"${forged.id}"[^\\n]*JIT_WEBHOOK_SIGNATURE|JIT_WEBHOOK_SIGNATURE[^\\n]*"delivery":"${forged.id}"`));

    const lines = out.split("\n").filter(Boolean);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>); // throws on any non-JSON line
    for (const l of lines) {
      for (const s of [BODY, SECRET, STATE_PASSWORD, TARGET_PASSWORD, KEY_LINE, "BEGIN PRIVATE KEY"]) expect(l).not.toContain(s);
    }
    // Probot's debug "Webhook received" names the event by id and name, nothing more
    expect(parsed.filter((p) => p.msg === "Webhook received").map((p) => p.event)).toContainEqual({ id: handled.id, name: "installation" });
    const done = parsed.find((p) => p.delivery === handled.id && p.outcome === "done");
    expect(done).toMatchObject({ event: "installation", msg: "delivery handled" });
    expect(err).toBe("");
  });
});
