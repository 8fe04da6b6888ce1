// I17 end to end: the real app against the simulator and a real PostgreSQL. The grant window opens
// at merged_at as the API reports it. The simulator merges, holds the deliveries back and moves
// merged_at into the past (what GitHub shows after a late delivery); the app then grants only what
// is left, or nothing once the window has passed: a refusal comment, no alert, the request id used.
// The same holds for a merge replayed after the state database was emptied.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePolicies } from "../../src/core/policy.ts";
import { APP_ROLE, DB_KEY, POLICY_YAML, REPO, OWNER, requestYaml, startJitE2E, type JitE2E } from "./app-fixture.ts";

let w: JitE2E;
beforeAll(async () => {
  w = await startJitE2E();
});
afterAll(async () => { await w?.stop(); });

const HOUR = 3_600_000;

/** The state database's clock minus `ms`, at whole seconds (GitHub's timestamps have no fraction). */
async function dbAgo(ms: number): Promise<Date> {
  const { rows } = await w.stateSu.query<{ t: Date }>("SELECT date_trunc('second', clock_timestamp() - $1::bigint * interval '1 millisecond') AS t", [ms]);
  return rows[0]!.t;
}

/** Opens and approves a request, merges it with its deliveries held back; returns the held `closed` delivery. */
async function mergeHeld(user: string, id: string, duration = "2h"): Promise<{ number: number; guid: string }> {
  const { number } = await w.request(user, id, requestYaml({ duration }));
  await w.repo.review(user === "dora" ? "dan" : "dora", number, "APPROVE");
  await w.idle();
  w.e2e.sim.dropNextDelivery({ event: "pull_request", action: "closed" });
  w.e2e.sim.dropNextDelivery({ event: "push" });
  await w.repo.merge(number);
  await w.idle();
  const closed = w.e2e.sim.findDeliveries({ event: "pull_request", action: "closed" }).at(-1)!;
  expect(closed.dropped).toBe(true);
  expect(await w.ledger(id)).toEqual([]);
  return { number, guid: closed.guid };
}

/** A merge GitHub shows at `at`, with its approval a minute before it (approvals after merged_at never count, I13). */
function backdate(number: number, at: Date): void {
  w.repo.backdateMerge(number, at);
  w.repo.backdateReviews(number, new Date(at.getTime() - 60_000));
}

const refusals = (number: number) => w.comments(number).filter((c) => c.body.startsWith("❌ **jit-access**: nothing was granted"));
const grantedComments = (number: number) => w.comments(number).filter((c) => c.body.startsWith("✅ **jit-access**: granted"));

describe("I17: the grant window is anchored to merged_at (e2e)", () => {
  it("I17: a merge whose delivery arrives 90 minutes late grants only the 30 minutes left of its 2h window", async () => {
    const { number, guid } = await mergeHeld("alice", "alice-late");
    const mergedAt = await dbAgo(90 * 60_000);
    backdate(number, mergedAt);
    w.e2e.sim.redeliver(guid);
    await w.idle();

    const [row] = await w.ledger("alice-late");
    expect(row!.status).toBe("active");
    expect(row!.expires_at!.toISOString()).toBe(new Date(mergedAt.getTime() + 2 * HOUR).toISOString());
    const left = row!.expires_at!.getTime() - row!.granted_at!.getTime();
    expect(left).toBeGreaterThan(25 * 60_000);
    expect(left).toBeLessThanOrEqual(30 * 60_000);
    expect(await w.appGranted()).toEqual([{ role: "orders_readonly", member: "alice", grantor: APP_ROLE }]);
    const [comment] = grantedComments(number);
    expect(comment!.body).toContain(`until ${new Date(mergedAt.getTime() + 2 * HOUR).toISOString().replace(/\.\d{3}Z$/, "Z")}`);
  });

  it("I17: a merge delivery replayed after its window grants nothing: JIT_WINDOW_PASSED, no alert, request id used up", async () => {
    const { number, guid } = await mergeHeld("bob", "bob-replayed");
    backdate(number, await dbAgo(3 * HOUR));
    w.e2e.sim.redeliver(guid);
    await w.idle();

    await w.nothingGranted("bob-replayed", "bob");
    const [row] = await w.ledger("bob-replayed");
    expect(row).toMatchObject({ status: "failed", granted_at: null, expires_at: null });
    const { rows } = await w.stateSu.query("SELECT failure_code FROM ledger WHERE request_id = 'bob-replayed'");
    expect(rows).toEqual([{ failure_code: "JIT_WINDOW_PASSED" }]);
    expect(refusals(number)).toHaveLength(1);
    expect(refusals(number)[0]!.body).toContain("JIT_WINDOW_PASSED");
    expect(w.alerts()).toEqual([]);

    // Replayed again, and the push for the same merge: still nothing, still one comment.
    w.e2e.sim.redeliver(guid);
    const push = w.e2e.sim.findDeliveries({ event: "push" }).at(-1)!;
    w.e2e.sim.redeliver(push.guid);
    await w.idle();
    await w.nothingGranted("bob-replayed", "bob");
    expect(refusals(number)).toHaveLength(1);
    expect(grantedComments(number)).toEqual([]);
    expect(w.alerts()).toEqual([]);
  });

  it("I17: a merge replayed after the state database was emptied grants nothing once its window has passed", async () => {
    const { number } = await w.request("carol", "carol-lost", requestYaml({ duration: "30m" }));
    await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    await w.repo.merge(number);
    await w.idle();
    expect((await w.ledger("carol-lost"))[0]!.status).toBe("active");
    expect(await w.appGranted()).toContainEqual({ role: "orders_readonly", member: "carol", grantor: APP_ROLE });

    // The grant ran its course and was revoked...
    const policy = parsePolicies([{ path: "policies/orders.yaml", bytes: new TextEncoder().encode(POLICY_YAML) }]).details!;
    const revoked = await w.deps[0]!.engines.engine(policy).revoke({ repository: `${OWNER}/${REPO}`, database: DB_KEY, requestId: "carol-lost" }, { reason: "expired", actor: "test" });
    expect(revoked.ok, JSON.stringify(revoked.problems)).toBe(true);
    // ...then the state database is lost and restored empty (ledger, deliveries, claims, events).
    await w.stateSu.query("SET session_replication_role = replica");
    const { rows: tables } = await w.stateSu.query<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'jit_migrations'");
    await w.stateSu.query(`TRUNCATE ${tables.map((t) => `"${t.t}"`).join(", ")}`);
    await w.stateSu.query("SET session_replication_role = origin");
    expect(await w.ledger()).toEqual([]);

    // 40 minutes after the merge, the merge delivery is replayed (same guid and body).
    backdate(number, await dbAgo(40 * 60_000));
    const closed = w.e2e.sim.findDeliveries({ event: "pull_request", action: "closed" }).at(-1)!;
    expect((closed.payload.pull_request as { number: number }).number).toBe(number);
    w.e2e.sim.redeliver(closed.guid);
    await w.idle();

    await w.nothingGranted("carol-lost", "carol");
    const { rows } = await w.stateSu.query("SELECT status, failure_code FROM ledger WHERE request_id = 'carol-lost'");
    expect(rows).toEqual([{ status: "failed", failure_code: "JIT_WINDOW_PASSED" }]);
    expect(w.alerts()).toEqual([]);
  });
});
