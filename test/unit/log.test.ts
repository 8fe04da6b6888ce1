// Item 5: the app's logger is Probot's logger. Probot, its Octokit and the app write JSON lines
// through the same serializers; no line carries a webhook payload, a request or response body,
// or a header, at any level, whatever Probot does with the event (receive, handler error).
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { Probot } from "probot";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.ts";

const SENTINEL = `SENTINELbody${randomBytes(6).toString("hex")}`;
const TOKEN = `ghs_SENTINEL${randomBytes(6).toString("hex")}`;

function capture(level = "trace") {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString("utf8").split("\n")) if (l) lines.push(l);
      done();
    },
  });
  return { lines, log: createLogger({ level, destination }) };
}

function expectClean(lines: string[]): Record<string, unknown>[] {
  expect(lines.length).toBeGreaterThan(0);
  for (const l of lines) {
    expect(l).not.toContain(SENTINEL);
    expect(l).not.toContain(TOKEN);
  }
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>); // every line is one JSON object
}

const payload = () => ({
  action: "opened", number: 7, installation: { id: 1 },
  repository: { full_name: "acme/access", name: "access", owner: { login: "acme" } },
  pull_request: { number: 7, body: SENTINEL, title: SENTINEL },
});

describe("logs", () => {
  it("Probot's own webhook logging (receive at debug, a failing handler) keeps ids and messages, no payload", async () => {
    const { lines, log } = capture();
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
    const probot = new Probot({ appId: 1, privateKey, secret: "s", log });
    await probot.load((app) => {
      app.on("pull_request", async (context) => {
        context.log.info({ pr: context.payload.number }, "handler ran");
        throw Object.assign(new Error("handler failed"), { code: "JIT_TEST", request: { headers: { authorization: `token ${TOKEN}` }, body: SENTINEL }, response: { data: SENTINEL } });
      });
    });
    const id = randomBytes(8).toString("hex");
    await expect(probot.receive({ id, name: "pull_request", payload: payload() } as never)).rejects.toThrow();
    const parsed = expectClean(lines);
    const received = parsed.find((l) => l.msg === "Webhook received");
    expect(received?.event).toEqual({ id, name: "pull_request" });
    expect(parsed.find((l) => l.msg === "handler ran")?.pr).toBe(7);
    const failure = parsed.find((l) => l.level === 50);
    expect(JSON.stringify(failure)).toContain("handler failed");
    expect(JSON.stringify(failure)).toContain("JIT_TEST");
    expect(failure?.id).toBe(id);
  });

  it("errors keep type, message and code; bodies, headers and Octokit request fields are dropped", () => {
    const { lines, log } = capture();
    const err = Object.assign(new AggregateError([Object.assign(new Error("inner"), { event: { id: "d1", name: "push", payload: payload() } })], "outer"), {
      event: { id: "d1", name: "push", payload: payload() }, status: 502,
    });
    log.error(err);
    log.error({ err, delivery: "d1" }, "wrapped");
    log.warn({ error: err }, "as error");
    log.info({ payload: payload(), body: SENTINEL, headers: { authorization: TOKEN }, delivery: "d2" }, "fields");
    log.child({ name: "octokit" }).debug({ title: SENTINEL, body: SENTINEL }, "GitHub request: POST /repos/acme/access/check-runs - 201");
    log.info({ delivery: "d3", event: "pull_request", repository: "acme/access", pr: 7, outcome: "done" }, "delivery handled");
    const parsed = expectClean(lines);
    expect(parsed[0]?.err).toMatchObject({ type: "AggregateError", message: "outer", status: 502, errors: [{ type: "Error", message: "inner" }] });
    expect(parsed[3]).toMatchObject({ delivery: "d2", msg: "fields" });
    expect(parsed[4]).toMatchObject({ msg: "GitHub request: POST /repos/acme/access/check-runs - 201" });
    expect(parsed[5]).toMatchObject({ delivery: "d3", event: "pull_request", repository: "acme/access", pr: 7, outcome: "done" });
  });

  it("respects the level", () => {
    const { lines, log } = capture("warn");
    log.info("quiet");
    log.warn("loud");
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(["loud"]);
  });
});
