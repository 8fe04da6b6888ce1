// Issue 13 item 3 on a real server: two app grants whose windows overlap through the closure (a
// role that contains another) never revoke each other early — revoking or expiring one leaves the
// membership the other grant still covers (I16) — and a request for what an active grant already
// gives is refused read-only (JIT_ALREADY_GRANTED / JIT_ALREADY_HAS_ACCESS) without a ledger row.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";
import { DB_KEY, ledgerRow, setupGrantFixture, type GrantFixture } from "../harness/grant-fixture.ts";

let cluster: TestCluster;
let f: GrantFixture;
const key = (requestId: string) => ({ repository: "acme/access", database: DB_KEY, requestId });
const opts = { reason: "test", actor: "test" };

beforeAll(async () => {
  cluster = await startPostgres();
  f = await setupGrantFixture(cluster, { roles: ["ov_inner", "ov_outer"], logins: ["alice", "bob", "carol"] });
  // ov_outer contains ov_inner: holding ov_outer gives ov_inner's privileges too.
  await f.su.query("GRANT ov_inner TO ov_outer");
});
afterAll(async () => {
  await f?.close();
  await cluster?.stop();
});

async function has(user: string, role: string): Promise<boolean> {
  const { rows } = await f.su.query<{ h: boolean }>("SELECT pg_has_role($1, $2, 'USAGE') AS h", [user, role]);
  return rows[0]!.h;
}

describe("overlapping windows through the closure (I16)", () => {
  it("I16: revoking the inner grant early leaves the outer grant, which still covers the inner role", async () => {
    expect((await f.engine.grant(f.input("a-inner", { role: "ov_inner", dbUser: "alice" }))).ok).toBe(true);
    const outer = await f.engine.grant(f.input("a-outer", { role: "ov_outer", dbUser: "alice" }));
    expect(outer.ok, JSON.stringify(outer.problems)).toBe(true);

    const r = await f.engine.revoke(key("a-inner"), opts);
    expect(r.ok, JSON.stringify(r.problems)).toBe(true);
    expect(await f.appGranted()).toEqual([{ role: "ov_outer", member: "alice", admin: false }]);
    expect(await has("alice", "ov_inner")).toBe(true); // through ov_outer, until its own expiry
    expect((await ledgerRow(f, "a-outer"))!.status).toBe("active");
    expect((await f.engine.revoke(key("a-outer"), opts)).ok).toBe(true);
    expect(await has("alice", "ov_inner")).toBe(false);
  });

  it("I16: expiring the outer grant (the sweep's batch revoke) leaves the inner grant's own membership", async () => {
    expect((await f.engine.grant(f.input("b-inner", { role: "ov_inner", dbUser: "bob" }))).ok).toBe(true);
    expect((await f.engine.grant(f.input("b-outer", { role: "ov_outer", dbUser: "bob" }))).ok).toBe(true);
    const id = Number((await ledgerRow(f, "b-outer"))!.id);
    const [done] = await f.engine.revokeMany([id], { reason: "expired", actor: "sweep" });
    expect(done!.decision.ok, JSON.stringify(done!.decision.problems)).toBe(true);
    expect(await f.appGranted()).toEqual([{ role: "ov_inner", member: "bob", admin: false }]);
    expect(await has("bob", "ov_inner")).toBe(true);
    expect((await ledgerRow(f, "b-inner"))!.status).toBe("active");
    expect((await f.engine.revoke(key("b-inner"), opts)).ok).toBe(true);
  });

  it("a second request for an actively granted membership is refused read-only with the active id, and leaves no ledger row", async () => {
    expect((await f.engine.grant(f.input("c-first", { role: "ov_inner", dbUser: "carol" }))).ok).toBe(true);
    const same = await f.engine.inspectTarget(key("c-second"), "ov_inner", "carol");
    expect(same.problems.map((p) => p.code)).toEqual(["JIT_ALREADY_GRANTED"]);
    expect(same.problems[0]!.message).toContain(`${DB_KEY}/c-first until `);
    expect(same.held.map((h) => h.requestId)).toEqual(["c-first"]);
    // The grant's own row is no overlap with itself (a re-run after the merge).
    expect((await f.engine.inspectTarget(key("c-first"), "ov_inner", "carol")).problems).toEqual([]);
    expect(await ledgerRow(f, "c-second")).toBeUndefined();
    // The closure: outer held through the app, a request for the inner role is existing access.
    expect((await f.engine.revoke(key("c-first"), opts)).ok).toBe(true);
    expect((await f.engine.grant(f.input("c-outer", { role: "ov_outer", dbUser: "carol" }))).ok).toBe(true);
    const inner = await f.engine.inspectTarget(key("c-inner"), "ov_inner", "carol");
    expect(inner.problems.map((p) => p.code)).toEqual(["JIT_ALREADY_HAS_ACCESS"]);
    expect(await ledgerRow(f, "c-inner")).toBeUndefined();
    // Read-only: the inspection changed nothing in the catalog.
    expect(await f.appGranted()).toEqual([{ role: "ov_outer", member: "carol", admin: false }]);
  });
});
