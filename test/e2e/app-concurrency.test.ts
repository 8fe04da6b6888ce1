// docs/security.md case 28: two app replicas sharing the state database, deliveries sent concurrently.
// The same merge arriving as `pull_request.closed` and `push` on different replicas at once, and
// the same delivery repeated, grant exactly once, write one ledger row and post one comment.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP_ROLE, POLICY_YAML, requestYaml, startJitE2E, type JitE2E } from "./app-fixture.ts";

// More people than the app's state pool has connections (10), for a burst of simultaneous merges.
const BURST = Array.from({ length: 14 }, (_, i) => `burst${i}`);

let w: JitE2E;
beforeAll(async () => {
  const policy = `${POLICY_YAML}${BURST.map((u) => `  ${u}: ${u}`).join("\n")}\n`;
  w = await startJitE2E({ replicas: 2, sim: { deliveryMode: "concurrent" }, files: { "policies/orders.yaml": policy } });
  for (const u of BURST) {
    w.e2e.sim.addTeamMember("acme", "engineering", u);
    await w.su.query(`CREATE ROLE ${u} LOGIN`);
  }
});
afterAll(async () => { await w?.stop(); });

async function grants(requestId: string): Promise<{ events: string[]; grantStatements: number }> {
  const { rows } = await w.stateSu.query<{ kind: string }>("SELECT kind FROM events WHERE request_id = $1 ORDER BY id", [requestId]);
  const ledger = await w.ledger(requestId);
  return { events: rows.map((r) => r.kind), grantStatements: ledger.flatMap((r) => r.sql_executed).filter((s) => s.text.startsWith("GRANT")).length };
}

const grantedComments = (number: number) => w.comments(number).filter((c) => c.body.startsWith("✅ **jit-access**: granted"));
const refusals = (number: number) => w.comments(number).filter((c) => c.body.startsWith("❌"));

/** alice-28 granted exactly once: one membership, one ledger row, one GRANT, one comment, no refusal or alert. */
async function expectAliceGrantedOnce(number: number): Promise<void> {
  expect(await w.appGranted()).toEqual([{ role: "orders_readonly", member: "alice", grantor: APP_ROLE }]);
  expect(await w.ledger("alice-28")).toHaveLength(1);
  expect(await grants("alice-28")).toEqual({ events: ["grant_intent", "granted"], grantStatements: 1 });
  expect(grantedComments(number)).toHaveLength(1);
  expect(refusals(number)).toEqual([]);
  expect(w.alerts()).toEqual([]);
}

describe("case 28: idempotency across redeliveries and replicas", () => {
  it("case 28: closed and push for one merge reach both replicas concurrently → one GRANT, one ledger row, one comment", async () => {
    expect(w.e2e.apps).toHaveLength(2);
    const { number } = await w.request("alice", "alice-28");
    await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    const mergeSha = await w.repo.merge(number);
    await w.idle();

    const closed = w.e2e.sim.findDeliveries({ event: "pull_request", action: "closed" }).at(-1)!;
    const push = w.e2e.sim.findDeliveries({ event: "push", predicate: (d) => d.payload.after === mergeSha }).at(-1)!;
    expect(new Set([closed.target, push.target]).size).toBe(2); // one each
    expect([closed.status, push.status]).toEqual([202, 202]);

    await expectAliceGrantedOnce(number);
  });

  it("case 28: the same merge delivery three times (redelivered, and resent to both replicas at once) changes nothing", async () => {
    const closed = w.e2e.sim.findDeliveries({ event: "pull_request", action: "closed" }).at(-1)!;
    const number = (closed.payload.pull_request as { number: number }).number;
    w.e2e.sim.redeliver(closed.guid);
    w.e2e.sim.redeliver(closed.guid);
    const [a, b] = await Promise.all(w.e2e.apps.map((app) => w.e2e.sim.sendSignedDelivery("pull_request", closed.payload, "valid", app.webhookUrl)));
    expect([a!.status, b!.status]).toEqual([202, 202]);
    await w.idle();
    expect(w.e2e.sim.findDeliveries({ predicate: (d) => d.guid === closed.guid }).map((d) => d.status)).toEqual([202, 202, 202]);

    await expectAliceGrantedOnce(number);
  });

  it("case 28: several request PRs merged back to back, every event concurrent on two replicas → each granted once", async () => {
    const users = ["bob", "carol", "dora"] as const;
    const prs: number[] = [];
    for (const u of users) {
      const { number } = await w.request(u, `${u}-28`, requestYaml({ reason: `Concurrent ${u}` }));
      await w.repo.review(u === "dora" ? "dan" : "dora", number, "APPROVE");
      prs.push(number);
    }
    await w.idle();
    // merge all three without waiting in between: closed and push deliveries overlap
    for (const n of prs) await w.repo.merge(n);
    await w.idle();
    for (const [i, u] of users.entries()) {
      expect(await w.ledger(`${u}-28`)).toHaveLength(1);
      expect(await grants(`${u}-28`)).toEqual({ events: ["grant_intent", "granted"], grantStatements: 1 });
      expect(grantedComments(prs[i]!)).toHaveLength(1);
      expect(refusals(prs[i]!)).toEqual([]);
    }
    expect(w.alerts()).toEqual([]);
    expect((await w.appGranted()).map((m) => m.member)).toEqual(["alice", "bob", "carol", "dora"]);
  });

  it("case 28: a burst of merges larger than the state pool, closed and push for each on both replicas → each granted once, nothing stuck", async () => {
    const prs: number[] = [];
    for (const u of BURST) {
      const { number } = await w.request(u, `${u}-28`, requestYaml({ reason: `Burst ${u}` }));
      await w.repo.review("dora", number, "APPROVE");
      prs.push(number);
    }
    await w.idle();
    // the merges' own deliveries are held back; then every closed delivery goes to both replicas at
    // once: 2 x 14 merge handlers in flight, each needing state connections
    for (const _ of BURST) {
      w.e2e.sim.dropNextDelivery({ event: "pull_request", action: "closed" });
      w.e2e.sim.dropNextDelivery({ event: "push" });
    }
    for (const n of prs) await w.repo.merge(n);
    await w.idle();
    expect(await w.ledger(`${BURST[0]}-28`)).toEqual([]);
    const closed = w.e2e.sim.findDeliveries({ event: "pull_request", action: "closed" }).slice(-BURST.length);
    expect(closed.every((d) => d.dropped)).toBe(true);
    const sent = await Promise.all(closed.flatMap((d) => w.e2e.apps.map((app) => w.e2e.sim.sendSignedDelivery("pull_request", d.payload, "valid", app.webhookUrl))));
    await w.idle();
    expect(sent.map((d) => `${d.status} ${d.status === 202 ? "" : d.responseBody ?? d.error}`).filter((x) => x !== "202 ")).toEqual([]);
    for (const [i, u] of BURST.entries()) {
      expect(await grants(`${u}-28`)).toEqual({ events: ["grant_intent", "granted"], grantStatements: 1 });
      expect(grantedComments(prs[i]!)).toHaveLength(1);
      expect(refusals(prs[i]!)).toEqual([]);
    }
    expect((await w.appGranted()).filter((m) => m.member.startsWith("burst"))).toHaveLength(BURST.length);
  });

  it("the same PR evaluated on both replicas at once still has one sticky comment", async () => {
    w.e2e.sim.dropNextDelivery({ event: "pull_request", action: "opened" });
    const { number } = await w.repo.openPullRequest("carol", "req/carol-sticky", { "access-requests/orders-prod/carol-sticky.yaml": requestYaml() });
    await w.idle();
    const opened = w.e2e.sim.findDeliveries({ event: "pull_request", action: "opened" }).at(-1)!;
    for (let round = 0; round < 3; round++) {
      const sent = await Promise.all([0, 1, 0, 1].map((i) => w.e2e.sim.sendSignedDelivery("pull_request", opened.payload, "valid", w.e2e.apps[i]!.webhookUrl)));
      expect(sent.map((d) => d.status)).toEqual([202, 202, 202, 202]);
      await w.idle();
      expect(w.comments(number).filter((c) => c.body.startsWith("<!-- jit-access:sticky -->"))).toHaveLength(1);
    }
    expect(w.comments(number)).toHaveLength(1);
  });

  it("case 28: a refused merge seen by both replicas comments once and raises one alert", async () => {
    const { number } = await w.request("alice", "alice-28-refused");
    await w.repo.merge(number); // no approval, no protection on this repository
    await w.idle();
    const closed = w.e2e.sim.findDeliveries({ event: "pull_request", action: "closed" }).at(-1)!;
    await Promise.all(w.e2e.apps.map((app) => w.e2e.sim.sendSignedDelivery("pull_request", closed.payload, "valid", app.webhookUrl)));
    await w.idle();
    expect(refusals(number)).toHaveLength(1);
    expect(w.alerts()).toHaveLength(1);
    expect(await w.ledger("alice-28-refused")).toEqual([]);
  });
});
