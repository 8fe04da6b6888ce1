// I16 through the app: the check shows the target login's OID for the head it evaluated, and a
// merge after the login was dropped and recreated (a different person under the same name) grants
// nothing, with JIT_TARGET_CHANGED in the refusal.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startJitE2E, type JitE2E } from "./app-fixture.ts";

let w: JitE2E;
beforeAll(async () => { w = await startJitE2E(); });
afterAll(async () => { await w?.stop(); });

async function oidOf(login: string): Promise<string> {
  return (await w.su.query<{ oid: string }>("SELECT oid::text AS oid FROM pg_roles WHERE rolname = $1", [login])).rows[0]!.oid;
}

describe("I16: the target login is bound by OID from check to merge", () => {
  it("I16: the check shows the login's OID, and a login recreated before the merge is refused with JIT_TARGET_CHANGED", async () => {
    const { number, headSha } = await w.request("alice", "alice-oid-1");
    const before = await oidOf("alice");
    expect((await w.check(headSha)).output.summary).toContain(`Login \`alice\` is OID ${before}; the merge grants nothing if the name denotes another role by then`);
    await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    expect((await w.check(headSha)).conclusion).toBe("success");

    await w.su.query("DROP ROLE alice");
    await w.su.query("CREATE ROLE alice LOGIN");
    const after = await oidOf("alice");
    expect(after).not.toBe(before);

    const refusal = await w.mergeAndRefusal(number);
    expect(refusal).toContain("JIT_TARGET_CHANGED");
    expect(refusal).toContain(`was OID ${before} when the check ran and is OID ${after} now`);
    await w.nothingGranted("alice-oid-1");
    const { rows } = await w.su.query("SELECT pg_has_role('alice', 'orders_readonly', 'MEMBER') AS m");
    expect(rows[0]).toEqual({ m: false });
  });

  it("I16: an unchanged login on the checked head is granted", async () => {
    const { number, headSha } = await w.request("bob", "bob-oid-1", undefined);
    expect((await w.check(headSha)).output.summary).toContain(`Login \`bob\` is OID ${await oidOf("bob")}`);
    await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    await w.repo.merge(number, { method: "squash" });
    await w.idle();
    expect(await w.appGranted()).toEqual([{ role: "orders_readonly", member: "bob", grantor: "jit_app" }]);
  });
});
