import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHmac } from "node:crypto";
import { GitHubSimulator, type RepoScenario } from "./index.ts";
import { startReceiver } from "./test-helpers.ts";

let sim: GitHubSimulator;
let repo: RepoScenario;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  receiver = await startReceiver();
  sim = await GitHubSimulator.start({ webhookUrls: [receiver.url] });
  sim.createOrg("acme", ["alice"]);
  repo = await sim.createRepo({ owner: "acme", name: "access", collaborators: { alice: "write" } });
});
afterAll(async () => { await sim.close(); await receiver.close(); });

describe("webhook deliveries", () => {
  it("are POSTed with GitHub's headers and a valid X-Hub-Signature-256 over the exact body", async () => {
    await repo.openPullRequest("alice", "one", { "a.yaml": "1\n" });
    await sim.waitForIdle();
    expect(receiver.received.length).toBe(3);
    const guids = new Set<string>();
    for (const r of receiver.received) {
      expect(r.headers["content-type"]).toBe("application/json");
      expect(String(r.headers["user-agent"])).toMatch(/^GitHub-Hookshot\//);
      expect(String(r.headers["x-github-delivery"])).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      guids.add(String(r.headers["x-github-delivery"]));
      const expected = `sha256=${createHmac("sha256", sim.app.webhookSecret).update(r.body).digest("hex")}`;
      expect(r.headers["x-hub-signature-256"]).toBe(expected);
      expect(r.headers["x-github-hook-installation-target-id"]).toBe(String(sim.app.id));
      expect((r.json.installation as { id: number }).id).toBe(sim.installationId("acme"));
      expect((r.json.organization as { login: string }).login).toBe("acme");
    }
    expect(guids.size).toBe(3);
    expect(receiver.received.map((r) => r.headers["x-github-event"])).toEqual(["push", "check_suite", "pull_request"]);
    expect(sim.deliveries.every((d) => d.status === 200)).toBe(true);
  });

  it("drops the next matching delivery (recorded, not sent) and redelivers with the same GUID", async () => {
    sim.dropNextDelivery({ event: "pull_request", action: "opened" });
    const mark = receiver.received.length;
    const { number } = await repo.openPullRequest("alice", "two", { "b.yaml": "1\n" });
    await sim.waitForIdle();
    expect(receiver.received.slice(mark).map((r) => r.headers["x-github-event"])).toEqual(["push", "check_suite"]);
    const dropped = sim.findDeliveries({ event: "pull_request", action: "opened" }).find((d) => (d.payload.number as number) === number)!;
    expect(dropped).toMatchObject({ dropped: true, status: null });
    const again = sim.redeliver(dropped.guid);
    await sim.waitForIdle();
    expect(again).toMatchObject({ guid: dropped.guid, redelivery: true, status: 200 });
    const last = receiver.received.at(-1)!;
    expect(last.headers["x-github-delivery"]).toBe(dropped.guid);
    expect(last.json.number).toBe(number);
  });

  it("records the app's answer; waitForIdle covers slow receivers", async () => {
    receiver.setStatus(500);
    try {
      await repo.pushToDefaultBranch({ "c.txt": "1\n" });
      await sim.waitForIdle();
      const push = sim.findDeliveries({ event: "push" }).at(-1)!;
      expect(push.status).toBe(500);
      expect(push.ms).not.toBeNull();
    } finally {
      receiver.setStatus(200);
    }
  });

  it("sends installation.created when the app is installed on a new account", async () => {
    await sim.createRepo({ owner: "newco", name: "r", install: false });
    const mark = receiver.received.length;
    const id = sim.installApp("newco");
    await sim.waitForIdle();
    const hook = receiver.received.slice(mark);
    expect(hook.map((r) => `${String(r.headers["x-github-event"])}.${String(r.json.action)}`)).toEqual(["installation.created"]);
    expect(hook[0]!.json.installation).toMatchObject({ id, app_id: sim.app.id, account: { login: "newco" } });
  });

  it("sends nothing for repositories the app is not installed on", async () => {
    const r = await sim.createRepo({ owner: "stranger", name: "r", install: false });
    const mark = receiver.received.length;
    await r.pushToDefaultBranch({ "x.txt": "1\n" });
    await sim.waitForIdle();
    expect(receiver.received.length).toBe(mark);
  });

  it("can send a delivery with a bad, missing or sha1-only signature (signature tests)", async () => {
    const modes = ["bad", "missing", "sha1-only"] as const;
    const mark = receiver.received.length;
    for (const m of modes) await sim.sendSignedDelivery("push", { ref: "refs/heads/main" }, m);
    const got = receiver.received.slice(mark);
    expect(got.map((r) => [Boolean(r.headers["x-hub-signature-256"]), Boolean(r.headers["x-hub-signature"])])).toEqual([[true, true], [false, false], [false, true]]);
    const good = `sha256=${createHmac("sha256", sim.app.webhookSecret).update(got[0]!.body).digest("hex")}`;
    expect(got[0]!.headers["x-hub-signature-256"]).not.toBe(good);
  });
});
