// docs/security.md case 30: sentinel secrets in every credential the app holds (the webhook secret, the
// App's private key, the target database's password, and the password of a target that cannot be
// reached) never appear in its logs (every level), comments, check runs, alert issues or ledger.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONNECTION_ENV, requestPath, requestYaml, startJitE2E, type JitE2E } from "./app-fixture.ts";

const hex = () => randomBytes(8).toString("hex");
const SENTINEL_WEBHOOK = `SENTINELwebhook${hex()}`;
const SENTINEL_DB = `SENTINELdb${hex()}`;
const SENTINEL_DR = `SENTINELdr${hex()}`;
const DR_ENV = "ORDERS_DR_DATABASE_URL";
const DR_POLICY = `databases:
  orders-dr:
    connection_env: ${DR_ENV}
    roles:
      orders_dr_readonly:
        max_duration: 8h
        approvals: 1
        approvers: ["@acme/dba"]
`;

let w: JitE2E;
beforeAll(async () => {
  w = await startJitE2E({ sim: { webhookSecret: SENTINEL_WEBHOOK }, targetPassword: SENTINEL_DB, logLevel: "trace" });
  // a second target that refuses connections (nothing listens on port 1), with its own password
  w.appEnv[DR_ENV] = `postgresql://jit_app:${SENTINEL_DR}@127.0.0.1:1/orders`;
});
afterAll(async () => { await w?.stop(); });

/** Everything the app wrote where people or log collectors can read it. */
async function haystack(): Promise<string[]> {
  const out: string[] = [...w.e2e.logs];
  for (const name of ["access", "access-dr"]) {
    const repo = w.e2e.sim.repo(`acme/${name}`);
    for (const i of repo.issues()) {
      const issue = repo.repo.issues.get(i.number)!;
      out.push(issue.title, issue.body ?? "");
      out.push(...repo.comments(i.number).map((c) => String(c.body)));
    }
    for (const run of await repo.checkRuns()) out.push(JSON.stringify(run));
  }
  out.push(JSON.stringify((await w.stateSu.query("SELECT * FROM ledger")).rows));
  out.push(JSON.stringify((await w.stateSu.query("SELECT * FROM events")).rows));
  out.push(JSON.stringify((await w.stateSu.query("SELECT * FROM outbox")).rows));
  return out;
}

describe("case 30: secrets stay secret", () => {
  it("case 30: a grant, a refusal, an unreachable target, a revoke and forged deliveries leak no credential", async () => {
    expect(w.appEnv[CONNECTION_ENV]).toContain(SENTINEL_DB);

    // a grant, then an early revoke
    const g = await w.request("alice", "alice-30");
    await w.repo.review("dora", g.number, "APPROVE");
    await w.idle();
    await w.repo.merge(g.number);
    await w.idle();
    expect((await w.ledger("alice-30"))[0]!.status).toBe("active");
    const del = await w.repo.openPullRequest("alice", "revoke/alice-30", { [requestPath("alice-30")]: null });
    await w.idle();
    await w.repo.merge(del.number);
    await w.idle();
    expect((await w.ledger("alice-30"))[0]!.status).toBe("revoked");

    // a refusal
    const r = await w.request("bob", "bob-30");
    await w.repo.merge(r.number, { asAdminBypass: true });
    await w.idle();
    expect(w.alerts()).toHaveLength(1);

    // a target that cannot be reached: the check explains, the merge refuses, nothing names the secret
    const dr = await w.newRepo("access-dr", { files: { "policies/dr.yaml": DR_POLICY } });
    const d = await dr.openPullRequest("alice", "req/dr", { "access-requests/orders-dr/alice-dr-30.yaml": requestYaml({ role: "orders_dr_readonly", ticket: null }) });
    await dr.review("dora", d.number, "APPROVE");
    await w.idle();
    const check = await w.check(d.headSha, dr);
    expect(check.conclusion).toBe("failure"); // green means grantable: an unreachable target is not
    expect(check.output.summary).toContain("❌ cluster of orders-dr reachable");
    expect(check.output.summary).toMatch(/Not planned: \*\*JIT_DB_UNREACHABLE\*\* cannot connect to database "orders-dr" \(ORDERS_DR_DATABASE_URL\)/);
    await dr.merge(d.number);
    await w.idle();
    expect(w.comments(d.number, dr).filter((c) => c.body.startsWith("❌")).map((c) => c.body)[0]).toContain("(**JIT_DB_UNREACHABLE**)");
    expect(w.alerts(dr)).toEqual([]); // an unreachable target is explained, not alerted (retried: transient)

    // forged deliveries: Probot rejects them and logs why
    const payload = w.e2e.sim.findDeliveries({ event: "pull_request", action: "opened" }).at(-1)!.payload;
    for (const sign of ["bad", "missing", "sha1-only", { secret: "development" }] as const) {
      expect((await w.e2e.sim.sendSignedDelivery("pull_request", payload, sign)).status).toBeGreaterThanOrEqual(400);
    }
    await w.idle();

    const texts = await haystack();
    const all = texts.join("\n");
    // the scenario really ran and was logged at every level
    expect(w.e2e.logs.length).toBeGreaterThan(50);
    expect(w.e2e.logs.some((l) => l.includes('"level":10') || l.includes('"level":20'))).toBe(true);
    expect(all).toContain("JIT_DB_UNREACHABLE");
    expect(all).toContain("granted `orders_readonly` to `alice`");

    const keyLines = w.e2e.sim.app.privateKey.split("\n").filter((l) => l && !l.startsWith("-----"));
    expect(keyLines.length).toBeGreaterThan(10);
    const sentinels = [SENTINEL_WEBHOOK, SENTINEL_DB, SENTINEL_DR, "SENTINEL", w.appEnv[CONNECTION_ENV]!, w.appEnv[DR_ENV]!, ...keyLines];
    const leaks = sentinels.filter((s) => all.includes(s)).map((s) => s.slice(0, 24));
    expect(leaks).toEqual([]);
  });
});
