// Every GitHub side effect of an applied action goes through the one outbox (issue 11): a comment
// or alert issue GitHub refuses is not lost and does not fail the delivery; it waits in the outbox,
// the scheduler's drain posts it once, and nothing is posted twice. The real app (Probot over HTTP),
// the GitHub simulator and a real PostgreSQL.
import { describe, expect, it } from "vitest";
import { REPO, PATH_1, request, e2e, state, scheduler, ledger, appGranted, useExpiryE2E } from "./expiry-fixture.ts";

useExpiryE2E();

describe("comments and alerts through the outbox", () => {
  it("a granted comment GitHub refuses with 502 waits in the outbox (the grant stands, the delivery is done); the drain posts it once", async () => {
    const repo = e2e.sim.repo(REPO);
    const { number } = await repo.openPullRequest("alice", "req-outbox-1", { [PATH_1]: request("INC-1") });
    await e2e.sim.waitForIdle();
    await repo.review("dora", number, "APPROVE");
    await e2e.sim.waitForIdle();
    const granted = () => repo.comments(number).filter((c) => String(c.body).includes("granted"));
    const fault = e2e.sim.injectFault({ route: "issues/create-comment", status: 502, count: 1 });
    await repo.merge(number, { method: "squash" });
    await e2e.sim.waitForIdle();

    expect(fault.hits).toBe(1);
    expect(await ledger("alice-inc-1")).toEqual([expect.objectContaining({ status: "active" })]);
    expect(await appGranted()).toEqual(["alice"]);
    expect(granted()).toEqual([]);
    const key = "granted:acme/access:orders-prod/alice-inc-1";
    expect(await outboxItem(key)).toMatchObject({ kind: "comment", done: false, attempts: 1, last_error: expect.stringContaining("502") });

    // The push delivery of the same merge found the merge handled: nothing else posted it meanwhile.
    expect((await scheduler.drainNow())?.done ?? []).toEqual([]); // its backoff has not passed: nothing yet
    await state.query("UPDATE outbox SET next_attempt_at = now() WHERE dedupe_key = $1", [key]);
    const drained = await scheduler.drainNow();
    expect(drained?.done.map((d) => d.kind)).toContain("comment");
    expect(granted()).toHaveLength(1);
    expect(await outboxItem(key)).toMatchObject({ done: true, attempts: 2 });
    await scheduler.drainNow();
    expect(granted()).toHaveLength(1);
  });
});

async function outboxItem(key: string): Promise<{ kind: string; done: boolean; attempts: number; last_error: string | null } | undefined> {
  return (await state.query("SELECT kind, done, attempts, last_error FROM outbox WHERE dedupe_key = $1", [key])).rows[0];
}
