import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Octokit } from "@octokit/rest";
import { roundTrips } from "./faults.ts";
import { GitHubSimulator } from "./index.ts";
import { installationOctokit } from "./test-helpers.ts";

let sim: GitHubSimulator;
let gh: Octokit;
const o = { owner: "acme", repo: "access" };

beforeAll(async () => {
  sim = await GitHubSimulator.start();
  await sim.createRepo({ owner: "acme", name: "access" });
  gh = await installationOctokit(sim, "acme");
});
afterAll(async () => { await sim.close(); });

describe("fault injection and the request log", () => {
  it("answers an injected 5xx `count` times, then recovers", async () => {
    const fault = sim.injectFault({ route: "pulls/create", status: 502, count: 2 });
    sim.clearRequestLog();
    const body = { ...o, title: "t", head: "nope", base: "main" };
    await expect(gh.rest.pulls.create(body)).rejects.toMatchObject({ status: 502 });
    await expect(gh.rest.pulls.create(body)).rejects.toMatchObject({ status: 502 });
    await expect(gh.rest.pulls.create(body)).rejects.toMatchObject({ status: 422 }); // reaches the handler: no such head
    expect(fault.hits).toBe(2);
    expect(sim.requests("POST /repos/{owner}/{repo}/pulls").map((r) => [r.status, r.faulted])).toEqual([[502, true], [502, true], [422, false]]);
  });

  it("answers 429 with rate-limit headers and retry-after", async () => {
    sim.injectFault({ route: "repos/get", status: 429 });
    const err = await gh.rest.repos.get(o).then(() => null, (e: { status: number; response: { headers: Record<string, string> } }) => e);
    expect(err?.status).toBe(429);
    expect(err?.response.headers["x-ratelimit-remaining"]).toBe("0");
    expect(err?.response.headers["retry-after"]).toBe("60");
    expect(Number(err?.response.headers["x-ratelimit-reset"])).toBeGreaterThan(Date.now() / 1000);
    expect((await gh.rest.repos.get(o)).status).toBe(200);
  });

  it("adds latency and logs the duration", async () => {
    sim.injectFault({ route: "repos/get", latencyMs: 150 });
    sim.clearRequestLog();
    await gh.rest.repos.get(o);
    await gh.rest.repos.get(o);
    const [slow, fast] = sim.requests("repos/get");
    expect(slow!.ms).toBeGreaterThanOrEqual(140);
    expect(fast!.faulted).toBe(false);
  });

  it("delays every call by setLatency, and roundTrips counts calls in flight together as one trip", async () => {
    sim.setLatency(60);
    try {
      sim.clearRequestLog();
      await Promise.all([gh.rest.repos.get(o), gh.rest.repos.getContent({ ...o, path: "README.md" })]);
      await gh.rest.repos.get(o);
      const log = sim.requests();
      expect(log).toHaveLength(3);
      for (const r of log) expect(r.ms).toBeGreaterThanOrEqual(55);
      expect(roundTrips(log)).toBe(2);
    } finally {
      sim.setLatency(0);
    }
  });

  it("roundTrips: the longest chain of calls each started after the previous one was answered", () => {
    expect(roundTrips([])).toBe(0);
    // a ‖ b, then c after b, d after a only (overlaps c): chain a→d or b→c = 2; e after c and d = 3
    const at = (startedAt: number, end: number) => ({ startedAt, at: end });
    expect(roundTrips([at(0, 10), at(1, 11), at(12, 22), at(10.5, 20), at(22, 30)])).toBe(3);
    expect(roundTrips([at(0, 10), at(5, 15), at(9, 19)])).toBe(1);
  });

  it("logs method, route template, status and actor for every call, so tests can count API calls", async () => {
    sim.clearRequestLog();
    await gh.rest.repos.getContent({ ...o, path: "README.md" });
    await gh.rest.repos.getContent({ ...o, path: "missing" }).catch(() => {});
    expect(sim.countRequests("repos/get-content")).toBe(2);
    expect(sim.requests()).toEqual([
      expect.objectContaining({ method: "GET", route: "/repos/{owner}/{repo}/contents/{path}", status: 200, actor: sim.app.botLogin }),
      expect.objectContaining({ method: "GET", route: "/repos/{owner}/{repo}/contents/{path}", status: 404 }),
    ]);
  });

  it("answers unknown routes 404 and logs them", async () => {
    const r = await fetch(`${sim.baseUrl}/repos/acme/access/no-such-thing`);
    expect(r.status).toBe(404);
    expect(sim.requestLog.at(-1)).toMatchObject({ operationId: null, status: 404 });
  });
});
