// The database is ground truth (I8): docs/security.md cases 40 and 41, standing access, and crash safety
// across the state and target databases.
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";
import { APP, DB_KEY, eventsFor, ledgerRow, makePolicy, setupGrantFixture, STATE_DB, type GrantFixture } from "../harness/grant-fixture.ts";

let cluster: TestCluster;
let f: GrantFixture;

beforeAll(async () => {
  cluster = await startPostgres();
  f = await setupGrantFixture(cluster, { logins: ["alice", "bob", "carol", "dave", "erin", "fred", "gina", "hank", "ivan"] });
});
afterAll(async () => {
  await f?.close();
  await cluster?.stop();
});

const members = async (user: string) => (await f.appGranted()).filter((m) => m.member === user);

async function driftEvents(member: string): Promise<{ kind: string; code: string; details: Record<string, unknown> }[]> {
  const { rows } = await f.stateSu.query("SELECT kind, code, details FROM events WHERE code = 'JIT_DRIFT_ORPHAN_GRANT' AND details->>'member' = $1 ORDER BY id", [member]);
  return rows;
}

describe("reconcile", () => {
  it("case 40: an app grant whose ledger row was deleted by hand is revoked, its sessions ended, and alerted", async () => {
    expect((await f.engine.grant(f.input("alice-1"))).ok).toBe(true);
    const alice = await f.login("alice");
    await alice.query("SELECT 1");
    await f.stateSu.query("DELETE FROM ledger WHERE request_id = 'alice-1'");

    const report = await f.engine.reconcile("sweeper");
    expect(report.orphans).toEqual([expect.objectContaining({ database: DB_KEY, role: "orders_readonly", member: "alice", revoked: true, sessionsEnded: 1 })]);
    expect(await members("alice")).toEqual([]);
    await expect(alice.query("SELECT 1")).rejects.toThrow();
    const events = await driftEvents("alice");
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: "drift_orphan_revoked", code: "JIT_DRIFT_ORPHAN_GRANT", details: { role: "orders_readonly", membershipGone: true, sessionsLeft: 0 } });
  });

  it("case 40: a manual GRANT made with the app's credential is revoked and alerted", async () => {
    const asApp = await cluster.connect(APP, "orders");
    await asApp.query(f.major >= 16 ? "GRANT orders_admin TO bob WITH INHERIT TRUE" : "GRANT orders_admin TO bob");
    await asApp.end();
    expect(await members("bob")).toHaveLength(1);

    const report = await f.engine.reconcile();
    expect(report.orphans.map((o) => [o.role, o.member, o.revoked])).toEqual([["orders_admin", "bob", true]]);
    expect(await members("bob")).toEqual([]);
    expect(await driftEvents("bob")).toHaveLength(1);
  });

  it("leaves active grants alone, reports memberships it did not grant (JIT_STANDING_ACCESS) and never revokes them", async () => {
    expect((await f.engine.grant(f.input("carol-1", { dbUser: "carol" }))).ok).toBe(true);
    await f.su.query("GRANT orders_readonly TO dave");

    const report = await f.engine.reconcile();
    expect(report.orphans).toEqual([]);
    expect(await members("carol")).toHaveLength(1);
    expect(await ledgerRow(f, "carol-1")).toMatchObject({ status: "active" });
    expect(report.standing).toEqual([{ database: DB_KEY, role: "orders_readonly", member: "dave", grantor: "postgres" }]);
    const { rows } = await f.su.query("SELECT pg_has_role('dave', 'orders_readonly', 'MEMBER') AS m");
    expect(rows[0].m).toBe(true);

    // Listed under standing_access in the policy: known, not reported.
    const policy = makePolicy(["orders_readonly", "orders_admin"], { standingAccess: { orders_readonly: ["dave"] } });
    const { engine } = f.newEngine({ policy });
    expect((await engine.reconcile()).standing).toEqual([]);
  });

  it("reports active ledger rows whose membership someone else removed, without acting on them", async () => {
    expect((await f.engine.grant(f.input("erin-1", { dbUser: "erin" }))).ok).toBe(true);
    await f.su.query(f.major >= 16 ? `REVOKE orders_readonly FROM erin GRANTED BY ${APP}` : "REVOKE orders_readonly FROM erin");
    const report = await f.engine.reconcile();
    const row = (await ledgerRow(f, "erin-1"))!;
    expect(report.missing).toContain(Number(row.id));
    expect(row.status).toBe("active");
  });
});

describe("crash safety", () => {
  it("case 41: the state database fails between GRANT and the ledger write: the grant is revoked at once", async () => {
    const { engine } = f.newEngine({
      hooks: {
        afterGrant: async () => {
          // Kill the engine's state connection, which holds the ledger row lock inside its transaction.
          const { rowCount } = await f.stateSu.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND state = 'idle in transaction' AND pid <> pg_backend_pid()", [STATE_DB]);
          expect(rowCount).toBe(1);
        },
      },
    });
    const d = await engine.grant(f.input("fred-1", { dbUser: "fred" }));
    expect(d.ok).toBe(false);
    expect(d.code).toBe("JIT_GRANT_FAILED");
    expect(await members("fred")).toEqual([]);
    expect(await ledgerRow(f, "fred-1")).toMatchObject({ status: "failed", failure_code: "JIT_GRANT_FAILED" });
    expect((await eventsFor(f, "fred-1")).map((e) => e.kind)).toEqual(["grant_intent", "grant_compensated"]);
    const { rows } = await f.su.query("SELECT pg_has_role('fred', 'orders_readonly', 'MEMBER') AS m");
    expect(rows[0].m).toBe(false);
  });

  it("case 41: an error between GRANT and the ledger write (state database fine) revokes in the same locked transaction", async () => {
    const { engine } = f.newEngine({ hooks: { afterGrant: () => { throw new Error("injected failure"); } } });
    const d = await engine.grant(f.input("ivan-0", { dbUser: "ivan" }));
    expect(d.code).toBe("JIT_GRANT_FAILED");
    expect(d.message).toContain("revoked again");
    expect(await members("ivan")).toEqual([]);
    const row = (await ledgerRow(f, "ivan-0"))!;
    expect(row).toMatchObject({ status: "failed", failure_code: "JIT_GRANT_FAILED" });
    expect((row.sql_executed as { text: string }[]).map((x) => x.text)[0]).toMatch(/^GRANT "orders_readonly" TO "ivan"/);
    expect((row.sql_executed as { text: string }[]).some((x) => x.text.startsWith("REVOKE"))).toBe(true);
    expect((await eventsFor(f, "ivan-0")).map((e) => e.kind)).toEqual(["grant_intent", "grant_compensated"]);
  });

  function crashAfterGrant(requestId: string, dbUser: string): Promise<void> {
    const script = resolve(import.meta.dirname, "../harness/crash-grant.ts");
    const arg = JSON.stringify({ stateUrl: cluster.superuserUrl(STATE_DB), env: f.env, policy: f.policy, input: f.input(requestId, { dbUser }) });
    const child = spawn(process.execPath, [script, arg], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    return new Promise((ok, fail) => {
      child.stdout.on("data", (c: Buffer) => {
        out += c.toString();
        if (out.includes("GRANTED")) child.kill("SIGKILL"); // the process dies between GRANT and ledger write
      });
      child.once("exit", (_code, signal) => (signal === "SIGKILL" ? ok() : fail(new Error(`child did not crash as planned: ${out} ${err}`))));
    });
  }

  it("case 41: a process killed between GRANT and the ledger write leaves no membership after the next reconcile", async () => {
    await crashAfterGrant("gina-1", "gina");
    // The crash left exactly what it would in production: the membership and an intent row.
    expect(await members("gina")).toHaveLength(1);
    await expect.poll(async () => (await f.stateSu.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND state = 'idle in transaction'", [STATE_DB])).rows[0].n).toBe(0);
    expect(await ledgerRow(f, "gina-1")).toMatchObject({ status: "intent" });

    const report = await f.engine.reconcile("sweeper");
    expect(report.orphans).toEqual([expect.objectContaining({ role: "orders_readonly", member: "gina", revoked: true })]);
    expect(await members("gina")).toEqual([]);
    expect(await ledgerRow(f, "gina-1")).toMatchObject({ status: "failed", failure_code: "JIT_DRIFT_ORPHAN_GRANT" });
    expect((await driftEvents("gina"))[0]).toMatchObject({ code: "JIT_DRIFT_ORPHAN_GRANT" });
    // Request ids are single-use: the interrupted request is not granted by a later retry.
    expect((await f.engine.grant(f.input("gina-1", { dbUser: "gina" }))).code).toBe("JIT_DRIFT_ORPHAN_GRANT");
    expect(await members("gina")).toEqual([]);
  });

  it("case 41: retrying the interrupted grant (a redelivered webhook) first removes the leftover, then grants once", async () => {
    await crashAfterGrant("hank-1", "hank");
    expect(await members("hank")).toHaveLength(1);
    await expect.poll(async () => (await f.stateSu.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND state = 'idle in transaction'", [STATE_DB])).rows[0].n).toBe(0);

    const d = await f.engine.grant(f.input("hank-1", { dbUser: "hank" }));
    expect(d.ok, d.message).toBe(true);
    expect(await members("hank")).toHaveLength(1);
    expect(await ledgerRow(f, "hank-1")).toMatchObject({ status: "active" });
    expect((await eventsFor(f, "hank-1")).map((e) => e.kind)).toEqual(["grant_intent", "drift_orphan_revoked", "granted"]);
    expect((await f.engine.reconcile()).orphans).toEqual([]);
  });

  it("a grant in flight is not mistaken for drift by a concurrent reconcile", async () => {
    let reconciled: Awaited<ReturnType<typeof f.engine.reconcile>> | undefined;
    const { engine } = f.newEngine({ hooks: { afterGrant: async () => { reconciled = await f.engine.reconcile(); } } });
    const d = await engine.grant(f.input("ivan-1", { dbUser: "ivan" }));
    expect(d.ok).toBe(true);
    expect(reconciled?.orphans).toEqual([]);
    expect(await members("ivan")).toHaveLength(1);
  });
});
