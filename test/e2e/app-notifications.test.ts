// Outcome notifications end to end (issue 13 item 8): the requester is @-mentioned on every outcome
// (granted, refused, extended, revoked early, expired) on the request PR; the request PR gets a
// comment when its grant ends, at expiry (the scheduler's sweep and outbox) and at early revoke (a
// merged deletion); the pre-expiry reminder says how to extend. Each once, however often the
// deliveries, sweeps and outbox drains run. I19: the mentioned login is the PR author as GitHub
// reports it; nothing from the request file is ever a mention.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { probotGitHub } from "../../src/github/installations.ts";
import { LeaderLock } from "../../src/scheduler/leader.ts";
import { GitHubPolicySource } from "../../src/scheduler/policy-source.ts";
import { startScheduler, type Scheduler } from "../../src/scheduler/scheduler.ts";
import { CONNECTION_ENV, POLICY_YAML, requestPath, requestYaml, startJitE2E, type JitE2E } from "./app-fixture.ts";

let w: JitE2E;
let scheduler: Scheduler;
const log = { info: () => {}, warn: () => {}, error: () => {} };

beforeAll(async () => {
  w = await startJitE2E();
  const deps = w.deps[0]!;
  const github = probotGitHub(w.e2e.app.probot, w.e2e.sim.app.id);
  scheduler = startScheduler({
    state: deps.state, engines: deps.engines, github, log, leader: LeaderLock.forPool(deps.state),
    policies: new GitHubPolicySource({ github, state: deps.state, ttlMs: 0 }),
    // no periodic tick: runOnce() drives each step
    config: { sweepIntervalMs: 0, remindBeforeMs: 15 * 60_000 }, outboxBackoff: () => 0,
  });
  await scheduler.ready;
});
afterAll(async () => {
  await scheduler?.stop();
  await w?.stop();
});

const OUTCOME = (login: string) => `cc @${login} (requester)`;
const bodies = (n: number) => w.comments(n).map((c) => c.body);

/** Opens, approves (dora) and merges a request as `user`. */
async function granted(user: string, id: string, yaml = requestYaml()): Promise<number> {
  const { number } = await w.request(user, id, yaml);
  await w.repo.review("dora", number, "APPROVE");
  await w.idle();
  await w.repo.merge(number, { method: "squash" });
  await w.idle();
  return number;
}

/** Redelivers every delivery GitHub sent about PR `number` (as a retrying GitHub or an operator would). */
async function redeliverAll(number: number): Promise<void> {
  for (const d of w.e2e.sim.deliveries.filter((x) => (x.payload as { pull_request?: { number?: number } }).pull_request?.number === number)) {
    w.e2e.sim.redeliver(d.guid);
  }
  await w.idle();
}

describe("the requester is mentioned on every outcome, once", () => {
  it("granted: the grant comment mentions the PR author, and a redelivery posts nothing more", async () => {
    const number = await granted("alice", "alice-n-granted");
    const mine = bodies(number).filter((b) => b.startsWith("✅ **jit-access**: granted"));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toContain(OUTCOME("alice"));
    await redeliverAll(number);
    expect(bodies(number).filter((b) => b.includes(OUTCOME("alice")))).toHaveLength(1);
  });

  it("refused: an admin merge without approval mentions the requester in the refusal", async () => {
    const { number } = await w.request("bob", "bob-n-refused");
    const refusal = await w.mergeAndRefusal(number);
    expect(refusal).toContain(OUTCOME("bob"));
    await w.nothingGranted("bob-n-refused", "bob");
  });

  it("extended: the extension comment mentions the requester", async () => {
    await granted("carol", "carol-n-ext", requestYaml({ duration: "1h" }));
    const { number } = await w.request("carol", "carol-n-ext", requestYaml({ duration: "3h" }), { branch: "extend/carol-n-ext" });
    await w.repo.review("dan", number, "APPROVE");
    await w.idle();
    await w.repo.merge(number, { method: "squash" });
    await w.idle();
    const ext = bodies(number).filter((b) => b.startsWith("⏱️"));
    expect(ext).toHaveLength(1);
    expect(ext[0]).toContain(OUTCOME("carol"));
  });

  it("I19: text in the request file is never a mention; only the author read from GitHub is", async () => {
    const { number } = await w.request("dora", "dora-n-inert", requestYaml({ reason: "cc @mallory and @acme/security please" }));
    await w.repo.review("dan", number, "APPROVE");
    await w.idle();
    await w.repo.merge(number, { method: "squash" });
    await w.idle();
    const all = bodies(number);
    expect(all.filter((b) => b.includes(OUTCOME("dora")))).toHaveLength(1);
    for (const b of all) {
      expect(b).not.toMatch(/(^|[^`])@mallory/);
      expect(b).not.toMatch(/(^|[^`])@acme\/security/);
    }
  });
});

describe("the request PR hears when its grant ends", () => {
  it("early revoke: the deletion PR's comment mentions its author, and the request PR gets one comment mentioning the requester", async () => {
    // alice's grant from the first test (one active grant per membership: a second would be refused)
    const requestPr = w.repo.pulls().find((p) => p.headRef === "req/alice-n-granted")!.number;
    const { number: deletion } = await w.repo.openPullRequest("alice", "revoke/alice-n-granted", { [requestPath("alice-n-granted")]: null });
    await w.idle();
    await w.repo.merge(deletion, { method: "squash" });
    await w.idle();
    expect(bodies(deletion).filter((b) => b.startsWith("🔒 **jit-access**: revoked"))).toHaveLength(1);
    const ended = bodies(requestPr).filter((b) => b.includes("was revoked early"));
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatch(/^🔒 @alice: \*\*jit-access\*\*: `orders_readonly` for `alice` on `orders-prod` \(`alice-n-granted`\) was revoked early at \S+Z \(pull request #\d+ deleted the request file\)/);
    expect(ended[0]).toContain(`pull request #${deletion} deleted the request file`);
    await redeliverAll(deletion);
    expect(bodies(requestPr).filter((b) => b.includes("was revoked early"))).toHaveLength(1);
    expect(await w.ledger("alice-n-granted")).toEqual([expect.objectContaining({ status: "revoked" })]);
  });

  it("reminder: mentions the requester and says how to extend (duration of this file, counted from the grant, docs/requests.md)", async () => {
    const number = await granted("bob", "bob-n-expiry");
    await w.stateSu.query("UPDATE ledger SET expires_at = now() + interval '10 minutes' WHERE request_id = 'bob-n-expiry'");
    await scheduler.runOnce();
    await scheduler.runOnce();
    const reminders = bodies(number).filter((b) => b.startsWith("⏳"));
    expect(reminders).toHaveLength(1);
    expect(reminders[0]).toContain("Open a pull request that changes only `duration` in `access-requests/orders-prod/bob-n-expiry.yaml` to the new total");
    expect(reminders[0]).toContain("docs/requests.md");
    expect(reminders[0]).toContain(OUTCOME("bob"));
  });

  it("expiry: the sweep revokes, the outbox opens the revert PR and comments once on the request PR, mentioning the requester", async () => {
    const number = w.repo.pulls().find((p) => p.headRef === "req/bob-n-expiry")!.number;
    await w.stateSu.query("UPDATE ledger SET expires_at = now() - interval '1 second' WHERE request_id = 'bob-n-expiry'");
    await scheduler.runOnce();
    await scheduler.drainNow();
    await w.idle();
    await scheduler.runOnce();
    await scheduler.drainNow();
    await w.idle();
    expect(await w.ledger("bob-n-expiry")).toEqual([expect.objectContaining({ status: "revoked", revoke_reason: "expired" })]);
    expect((await w.appGranted()).filter((m) => m.member === "bob")).toEqual([]);
    const ended = bodies(number).filter((b) => b.includes("expired and was revoked"));
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatch(/^🔒 @bob: \*\*jit-access\*\*: `orders_readonly` for `bob` on `orders-prod` \(`bob-n-expiry`\) expired and was revoked at \S+Z; \d+ session\(s\) of `bob` ended\. Pull request #\d+ deletes the request file\./);
    const revert = w.repo.pulls().find((p) => p.title.startsWith("Expire orders-prod/bob-n-expiry"));
    expect(revert).toBeDefined();
    expect(ended[0]).toContain(`Pull request #${revert!.number} deletes the request file.`);
  });

  it("jit revoke: the CLI only queues; the app's outbox comments once on the request PR, mentioning the requester", async () => {
    const number = w.repo.pulls().find((p) => p.headRef === "req/dora-n-inert")!.number;
    const dir = mkdtempSync(join(tmpdir(), "jit-notify-"));
    try {
      mkdirSync(join(dir, "policies"));
      writeFileSync(join(dir, "policies", "orders.yaml"), POLICY_YAML);
      const io = captureIo({ DATABASE_URL: w.appEnv.DATABASE_URL!, [CONNECTION_ENV]: w.appEnv[CONNECTION_ENV]!, USER: "oncall" }, dir);
      expect(await main(["revoke", "orders-prod/dora-n-inert", "--reason", "incident closed"], io)).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(bodies(number).filter((b) => b.includes("was revoked early"))).toEqual([]); // not yet: the CLI never calls GitHub
    await scheduler.drainNow();
    await scheduler.drainNow();
    const ended = bodies(number).filter((b) => b.includes("was revoked early"));
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatch(/^🔒 @dora: \*\*jit-access\*\*: `orders_readonly` for `dora` on `orders-prod` \(`dora-n-inert`\) was revoked early at \S+Z; \d+ session\(s\) of `dora` ended\./);
    expect((await w.appGranted()).filter((m) => m.member === "dora")).toEqual([]);
  });
});
