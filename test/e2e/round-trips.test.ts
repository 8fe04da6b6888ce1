// Issue 11 item 5 as a regression test: with every GitHub call slowed down (the simulator's
// setLatency), a check on a new request PR completes in at most 3 sequential round trips and a
// merge reaches GRANT in at most 4 (test/sim/faults.ts roundTrips); a review re-evaluation makes
// at most 7 API calls. The latency is large (200 ms)
// so that calls issued together are never mistaken for a chain on a busy machine; nothing here
// asserts a duration.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { roundTrips } from "../sim/faults.ts";
import { requestPath, requestYaml, startJitE2E, type JitE2E } from "./app-fixture.ts";

let w: JitE2E;
beforeAll(async () => { w = await startJitE2E(); });
afterAll(async () => { await w?.stop(); });

/** Sends the (dropped) delivery again with every call slowed; the app's calls until `until`. */
async function slowly(event: string, payload: Record<string, unknown>) {
  const { sim } = w.e2e;
  await w.idle();
  sim.clearRequestLog();
  sim.setLatency(200);
  try {
    await sim.sendSignedDelivery(event, payload, "valid");
    await w.idle();
  } finally {
    sim.setLatency(0);
  }
  return sim.requests().filter((r) => r.actor === sim.app.botLogin);
}

describe("round trips to GitHub", () => {
  it("a check on a new request PR: at most 3 round trips to the completed check run", async () => {
    // a first evaluation warms the cache of immutable reads at the base, as a running app has
    await w.request("alice", "rt-warm");
    const { sim } = w.e2e;
    sim.dropNextDelivery({ event: "pull_request", action: "opened" });
    await w.repo.openPullRequest("bob", "rt/check", { [requestPath("rt-check")]: requestYaml({ reason: "Investigate INC-1 round trips" }) });
    await sim.waitForIdle();
    const opened = sim.findDeliveries({ event: "pull_request", action: "opened" }).at(-1)!;
    const calls = await slowly("pull_request", opened.payload);
    const done = calls.find((c) => c.operationId === "checks/update" && c.status === 200)!;
    expect(done).toBeDefined();
    const before = calls.filter((c) => c.startedAt < done.at);
    expect(roundTrips(before)).toBeLessThanOrEqual(3);
    // the same reads as ever, each once
    expect(before.filter((c) => c.operationId === "pulls/get")).toHaveLength(1);
  });

  it("a merge: at most 4 round trips before GRANT, and the grant is made", async () => {
    const { sim } = w.e2e;
    const { number } = await w.request("carol", "rt-merge");
    await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    sim.dropNextDelivery({ event: "pull_request", action: "closed" });
    sim.dropNextDelivery({ event: "push" });
    await w.repo.merge(number);
    await sim.waitForIdle();
    const closed = sim.findDeliveries({ event: "pull_request", action: "closed" }).at(-1)!;
    const calls = await slowly("pull_request", closed.payload);
    const { rows } = await w.stateSu.query<{ at: string; status: string }>(
      "SELECT extract(epoch FROM granted_at) * 1000 AS at, status FROM ledger WHERE request_id = $1", ["rt-merge"]);
    expect(rows.map((r) => r.status)).toEqual(["active"]);
    const before = calls.filter((c) => c.startedAt < Number(rows[0]!.at));
    expect(roundTrips(before)).toBeLessThanOrEqual(4);
  });

  // 12 calls before (docs/performance.md). The floor without caching a membership or permission or
  // leaving a changed decision out of the comment is 7: the pull request, its reviews, the
  // requester's team, the approver team's roster (requester and reviewer), the reviewer's
  // permission, the check run, the comment.
  it("a review re-evaluation: at most 7 API calls (was 12), and the decision it shows is the new one", async () => {
    const { sim } = w.e2e;
    const { number, headSha } = await w.request("bob", "rt-review");
    expect((await w.check(headSha)).conclusion).toBe("action_required");
    sim.dropNextDelivery({ event: "pull_request_review" });
    await w.repo.review("dora", number, "APPROVE");
    await sim.waitForIdle();
    const submitted = sim.findDeliveries({ event: "pull_request_review" }).at(-1)!;
    const calls = await slowly("pull_request_review", submitted.payload);
    const routes = calls.map((c) => c.operationId);
    expect(calls.length, routes.join(", ")).toBeLessThanOrEqual(7);
    // the PR, its reviews, memberships and permission are read fresh; the check run is one call
    expect(routes.filter((r) => r === "pulls/get")).toHaveLength(1);
    expect(routes.filter((r) => r === "pulls/list-reviews")).toHaveLength(1);
    expect(routes.filter((r) => r === "repos/get-collaborator-permission-level")).toHaveLength(1);
    expect(routes.filter((r) => r?.startsWith("checks/"))).toEqual(["checks/create"]);
    expect(routes.filter((r) => r?.startsWith("issues/"))).toEqual(["issues/update-comment"]);
    expect(routes).not.toContain("pulls/list-files");
    expect(routes).not.toContain("pulls/list-commits");
    expect((await w.check(headSha)).conclusion).toBe("success");
    const sticky = w.comments(number).filter((c) => c.body.includes("jit-access:sticky"));
    expect(sticky).toHaveLength(1);
    expect(sticky[0]!.body).toContain("✅");
  });
});
