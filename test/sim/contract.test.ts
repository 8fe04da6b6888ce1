import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { statSync } from "node:fs";
import type { Octokit } from "@octokit/rest";
import { GitHubSimulator, type RepoScenario } from "./index.ts";
import { ContractValidator } from "./contract.ts";
import { OPERATIONS, WEBHOOK_KEYS } from "./operations.ts";
import { allRoutes } from "./routes/index.ts";
import { AppAuth, generateAppKeyPair } from "./auth.ts";
import restSubset from "./openapi/api.github.com.subset.json" with { type: "json" };
import { installationOctokit, startReceiver } from "./test-helpers.ts";

let sim: GitHubSimulator;
let repo: RepoScenario;
let gh: Octokit;
let token: string;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
const o = { owner: "acme", repo: "access" };

beforeAll(async () => {
  receiver = await startReceiver();
  sim = await GitHubSimulator.start({ webhookUrls: [receiver.url] });
  repo = await sim.createRepo({ owner: "acme", name: "access", collaborators: { alice: "write" } });
  gh = await installationOctokit(sim, "acme");
  token = ((await (gh as unknown as { auth: () => Promise<{ token: string }> }).auth()).token);
});
afterAll(async () => { await sim.close(); await receiver.close(); });

const post = (path: string, body: unknown) => fetch(`${sim.baseUrl}${path}`, { method: "POST", headers: { authorization: `token ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });

describe("the contract subset", () => {
  it("covers every served operation with a handler, and stays small", () => {
    const handlers = allRoutes(new AppAuth(generateAppKeyPair().publicKey, 1, "c", "b[bot]"));
    for (const op of OPERATIONS) {
      expect(handlers[op.id], op.id).toBeTypeOf("function");
      expect((restSubset.paths as Record<string, Record<string, { operationId: string }>>)[op.path]?.[op.method.toLowerCase()]?.operationId).toBe(op.id);
    }
    for (const f of ["api.github.com.subset.json", "webhooks.subset.json"]) {
      expect(statSync(new URL(`./openapi/${f}`, import.meta.url)).size).toBeLessThan(4 * 1024 * 1024);
    }
  });
});

describe("responses are checked against GitHub's description", () => {
  it("a response missing a required field is a hard error: 500 to the client and a recorded violation", async () => {
    const { number } = await repo.openPullRequest("alice", "x", { "x.yaml": "1\n" });
    const fault = sim.injectFault({ route: "pulls/get", mutateResponse: (b) => { delete b.number; } });
    const err = await gh.rest.pulls.get({ ...o, pull_number: number }).then(() => null, (e: { status: number; message: string }) => e);
    expect(err?.status).toBe(500);
    expect(err?.message).toContain("simulator contract violation in pulls/get");
    expect(err?.message).toContain("must have required property 'number'");
    expect(fault.hits).toBe(1);
    const v = sim.takeViolations();
    expect(v).toEqual([expect.objectContaining({ kind: "response", target: "pulls/get", status: 200 })]);
    // the fault was consumed: the next answer is valid again
    expect((await gh.rest.pulls.get({ ...o, pull_number: number })).data.number).toBe(number);
  });

  it("a wrong type or enum value is caught too", async () => {
    sim.injectFault({ route: "GET /repos/{owner}/{repo}", mutateResponse: (b) => { b.private = "yes"; } });
    await expect(gh.rest.repos.get(o)).rejects.toMatchObject({ status: 500 });
    sim.injectFault({ route: "repos/get-branch", mutateResponse: (b) => { (b as { commit: { sha: unknown } }).commit.sha = 7; } });
    await expect(gh.rest.repos.getBranch({ ...o, branch: "main" })).rejects.toMatchObject({ status: 500 });
    expect(sim.takeViolations().map((v) => v.target)).toEqual(["repos/get", "repos/get-branch"]);
  });

  it("close() throws while violations are recorded (after cleaning up)", async () => {
    const s = await GitHubSimulator.start();
    await s.createRepo({ owner: "a", name: "b" });
    const g = await installationOctokit(s, "a");
    s.injectFault({ route: "repos/get", mutateResponse: (b) => { delete b.full_name; } });
    await g.rest.repos.get({ owner: "a", repo: "b" }).catch(() => {});
    await expect(s.close()).rejects.toThrow(/contract violations:\n- response repos\/get \(200\): .*full_name/);
  });
});

describe("request bodies GitHub would reject are answered 422", () => {
  it("a wrong type, a missing required field, an unknown enum value", async () => {
    const before = repo.pulls().length;
    const r1 = await post("/repos/acme/access/pulls", { title: 123, head: "x", base: "main" });
    expect(r1.status).toBe(422);
    expect(((await r1.json()) as { message: string }).message).toMatch(/^Invalid request\.\n\n.*\/title must be string/);
    expect(repo.pulls().length).toBe(before);
    const head = (await repo.branchSha("main"))!;
    expect((await post("/repos/acme/access/check-runs", { head_sha: head })).status).toBe(422);
    expect((await post("/repos/acme/access/check-runs", { name: "n", head_sha: head, conclusion: "approved" })).status).toBe(422);
    expect(repo.git).toBeDefined();
    expect(await repo.checkRuns(head)).toEqual([]);
    expect(sim.rejectedRequests.map((r) => r.target)).toEqual(["pulls/create", "checks/create", "checks/create"]);
    expect(sim.violations).toEqual([]);
  });

  it("malformed JSON is a 400 like GitHub's 'Problems parsing JSON'", async () => {
    const r = await fetch(`${sim.baseUrl}/repos/acme/access/issues`, { method: "POST", headers: { authorization: `token ${token}` }, body: "{nope" });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { message: string }).message).toBe("Problems parsing JSON");
  });
});

describe("webhook payloads are checked against the webhook schemas", () => {
  it("every delivered payload validates; a payload missing a required field does not", async () => {
    await repo.openPullRequest("alice", "hooks", { "h.yaml": "1\n" });
    await sim.waitForIdle();
    const contract = new ContractValidator();
    const opened = receiver.received.find((r) => r.headers["x-github-event"] === "pull_request" && r.json.action === "opened")!;
    expect(contract.checkWebhook("pull-request-opened", opened.json)).toBeNull();
    const broken = structuredClone(opened.json);
    delete broken.number;
    expect(contract.checkWebhook("pull-request-opened", broken)).toContain("must have required property 'number'");
    expect(contract.checkWebhook("pull-request-opened", { ...opened.json, action: "closed" })).toContain("/action must be equal to one of the allowed values");
    expect(WEBHOOK_KEYS).toContain("pull-request-opened");
    expect(sim.violations).toEqual([]);
  });
});
