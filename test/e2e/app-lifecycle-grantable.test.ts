// Issue 13 items 1 and 3 end to end (simulator + real PostgreSQL): green means grantable — the check
// runs the merge-time target checks read-only and shows them; a benign refusal at merge (a login
// dropped after approval, existing access, an overlapping request) is commented, not alerted, and
// does not use up the request id; an incident (a merge without approval) still is alerted.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP_ROLE, codesIn, requestYaml, startJitE2E, type JitE2E } from "./app-fixture.ts";

let w: JitE2E;
beforeAll(async () => { w = await startJitE2E(); });
afterAll(async () => { await w?.stop(); });

async function approved(user: string, id: string, yaml = requestYaml()): Promise<{ number: number; headSha: string }> {
  const r = await w.request(user, id, yaml);
  await w.repo.review("dora", r.number, "APPROVE");
  await w.idle();
  return r;
}

async function merge(number: number): Promise<void> {
  await w.repo.merge(number, { method: "squash" });
  await w.idle();
}

describe("green means grantable (item 1)", () => {
  it("a grantable request lists the target checks, all passed, and is green", async () => {
    const { headSha } = await approved("carol", "carol-green");
    const check = await w.check(headSha);
    expect(check.conclusion).toBe("success");
    const summary = check.output.summary!;
    expect(summary).toContain("### Target checks (as the merge runs them)");
    const oid = (await w.su.query<{ oid: string }>("SELECT oid::text FROM pg_roles WHERE rolname = 'carol'")).rows[0]!.oid;
    expect(summary).toContain(`✅ login carol exists and is a plain login (OID ${oid})`);
    expect(summary).toContain("✅ role orders_readonly exists and is pure over its closure");
    expect(summary).toContain("✅ carol does not already have orders_readonly");
    expect(summary).toContain("✅ app role healthy");
    expect(summary).not.toContain("❌");
  });

  it("existing access outside the app: the check is not green (JIT_ALREADY_HAS_ACCESS), even when approved; merged anyway it is a benign refusal", async () => {
    await w.su.query("GRANT orders_readonly TO bob");
    try {
      const { number, headSha } = await approved("bob", "bob-standing");
      const check = await w.check(headSha);
      expect(check.conclusion).toBe("failure");
      expect(check.output.title).toMatch(/^JIT_ALREADY_HAS_ACCESS: /);
      expect(check.output.summary).toContain("❌ bob does not already have orders_readonly");
      // Merged anyway (an admin bypass): commented, not alerted, the request id not used up.
      const body = await w.mergeAndRefusal(number);
      expect(codesIn(body)).toContain("JIT_ALREADY_HAS_ACCESS");
      expect(w.alerts()).toEqual([]);
      expect(await w.ledger("bob-standing")).toEqual([]);
      // I7: the pre-existing membership is untouched
      expect((await w.su.query("SELECT 1 FROM pg_auth_members WHERE roleid = 'orders_readonly'::regrole AND member = 'bob'::regrole")).rowCount).toBe(1);
    } finally {
      await w.su.query("REVOKE orders_readonly FROM bob");
    }
  });

  it("a login dropped after approval: benign refusal at merge (comment, no jit-alert), nothing granted, id unused", async () => {
    const { number, headSha } = await approved("alice", "alice-dropped");
    expect((await w.check(headSha)).conclusion).toBe("success");
    await w.su.query("ALTER ROLE alice RENAME TO alice_away"); // no login named alice any more
    try {
      await merge(number);
      const refusals = w.comments(number).filter((c) => c.body.startsWith("❌ **jit-access**: nothing was granted"));
      expect(refusals).toHaveLength(1);
      expect(codesIn(refusals[0]!.body)).toContain("JIT_USER_MISSING");
      expect(w.alerts()).toEqual([]);
      expect(await w.ledger("alice-dropped")).toEqual([]);
      expect(await w.appGranted()).toEqual([]);
    } finally {
      await w.su.query("ALTER ROLE alice_away RENAME TO alice");
    }
  });

  it("a role made impure after approval: benign refusal at merge (JIT_ROLE_NOT_PURE, no alert), nothing granted, id unused", async () => {
    const { number, headSha } = await approved("carol", "carol-impure");
    expect((await w.check(headSha)).conclusion).toBe("success");
    await w.su.query("ALTER ROLE orders_readonly CREATEDB");
    try {
      await merge(number);
      const refusals = w.comments(number).filter((c) => c.body.startsWith("❌ **jit-access**: nothing was granted"));
      expect(refusals).toHaveLength(1);
      expect(codesIn(refusals[0]!.body)).toContain("JIT_ROLE_NOT_PURE");
      expect(w.alerts()).toEqual([]);
      expect(await w.ledger("carol-impure")).toEqual([]);
      await w.nothingGranted("carol-impure", "carol");
    } finally {
      await w.su.query("ALTER ROLE orders_readonly NOCREATEDB");
    }
  });

  it("a recreated login (same name, another OID) is still an incident (I16: JIT_TARGET_CHANGED, alerted)", async () => {
    const { number, headSha } = await approved("bob", "bob-recreated");
    expect((await w.check(headSha)).conclusion).toBe("success");
    await w.su.query("DROP ROLE bob");
    await w.su.query("CREATE ROLE bob LOGIN");
    await merge(number);
    const refusals = w.comments(number).filter((c) => c.body.startsWith("❌ **jit-access**: nothing was granted"));
    expect(codesIn(refusals[0]?.body)).toContain("JIT_TARGET_CHANGED");
    expect(w.alerts().some((a) => a.title.includes(`#${number}`))).toBe(true);
    await w.nothingGranted("bob-recreated", "bob");
  });

  it("an incident is still alerted: a merge without valid approval", async () => {
    const { number } = await w.request("bob", "bob-unapproved");
    const body = await w.mergeAndRefusal(number);
    expect(codesIn(body)).toContain("JIT_APPROVALS_MISSING");
    expect(w.alerts().map((a) => a.title).join("\n")).toContain(`#${number}`);
    await w.nothingGranted("bob-unapproved", "bob");
  });
});

describe("overlaps (item 3)", () => {
  const H = 3_600_000;
  const active = async (id: string) => (await w.ledger(id))[0]!;

  it("a second request that would not end later is refused at check time (JIT_ALREADY_GRANTED), not green, and at merge benignly with the id unused", async () => {
    const first = await approved("alice", "alice-first");
    await merge(first.number);
    const row = await active("alice-first");
    expect(row).toMatchObject({ status: "active", role: "orders_readonly", db_user: "alice" });
    const alertsBefore = w.alerts().length;

    const second = await approved("alice", "alice-second", requestYaml({ duration: "1h" }));
    const check = await w.check(second.headSha);
    expect(check.conclusion).toBe("failure");
    expect(check.output.title).toMatch(/^JIT_ALREADY_GRANTED: /);
    const iso = row.expires_at!.toISOString().replace(/\.\d{3}Z$/, "Z");
    expect(check.output.summary).toContain(`orders-prod/alice-first until ${iso}`);
    expect(check.output.summary).toContain("access-requests/orders-prod/alice-first.yaml");

    const body = await w.mergeAndRefusal(second.number);
    expect(codesIn(body)).toContain("JIT_ALREADY_GRANTED");
    expect(w.alerts()).toHaveLength(alertsBefore);
    expect(await w.ledger("alice-second")).toEqual([]);
    // The active grant is untouched: same expiry, membership in place.
    expect(await active("alice-first")).toMatchObject({ status: "active", expires_at: row.expires_at });
    expect(await w.appGranted()).toContainEqual({ role: "orders_readonly", member: "alice", grantor: APP_ROLE });
  });

  it("an overlapping request cannot be used to shorten or revoke someone's active grant (a shorter duration, another requester naming the user)", async () => {
    const row = await active("alice-first");
    const shorter = await approved("alice", "alice-shorter", requestYaml({ duration: "5m" }));
    expect(codesIn((await w.check(shorter.headSha)).output.summary)).toContain("JIT_ALREADY_GRANTED");
    await w.mergeAndRefusal(shorter.number);
    const other = await approved("bob", "bob-names-alice", requestYaml({ user: "alice" }));
    expect((await w.check(other.headSha)).conclusion).toBe("failure");
    await w.repo.merge(other.number, { asAdminBypass: true, method: "merge" });
    await w.idle();
    expect(await active("alice-first")).toMatchObject({ status: "active", expires_at: row.expires_at });
    expect(await w.appGranted()).toContainEqual({ role: "orders_readonly", member: "alice", grantor: APP_ROLE });
    expect(await w.ledger("alice-shorter")).toEqual([]);
    expect(await w.ledger("bob-names-alice")).toEqual([]);
  });

  it("the existing extension path still works for the held grant (edit its duration)", async () => {
    const { number } = await w.repo.openPullRequest("alice", "ext/alice-first", { "access-requests/orders-prod/alice-first.yaml": requestYaml({ duration: "4h" }) }, { title: "extend" });
    await w.idle();
    await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    await merge(number);
    expect(await active("alice-first")).toMatchObject({ status: "active", duration_ms: String(4 * H) });
  });

  it("an overlapping request beyond max_duration counted from the held grant's start is refused", async () => {
    w.e2e.clock.advance(H); // the held grant started an hour ago: 8h from now would make it 9h long
    const row = await active("alice-first");
    const long = await approved("alice", "alice-long", requestYaml({ duration: "8h" }));
    expect((await w.check(long.headSha)).output.title).toMatch(/^JIT_ALREADY_GRANTED: /);
    await w.mergeAndRefusal(long.number);
    expect(await active("alice-first")).toMatchObject({ expires_at: row.expires_at, duration_ms: row.duration_ms });
    expect(await w.ledger("alice-long")).toEqual([]);
  });

  it("an overlapping request the extension rules allow extends the held grant: green, no GRANT, expiry from merged_at, no new ledger row", async () => {
    const row = await active("alice-first");
    const start = row.expires_at!.getTime() - Number(row.duration_ms);
    const more = await approved("alice", "alice-more", requestYaml({ duration: "5h" }));
    const check = await w.check(more.headSha);
    expect(check.conclusion).toBe("success");
    expect(check.output.summary).toContain("merging extends that grant until");
    expect(check.output.summary).not.toContain("```sql");
    await merge(more.number);
    const until = Date.parse(w.repo.mergedAt(more.number)!) + 5 * H;
    expect((await active("alice-first")).expires_at!.getTime()).toBe(until);
    expect(Number((await active("alice-first")).duration_ms)).toBe(until - start);
    expect(await w.ledger("alice-more")).toEqual([]);
    expect(w.comments(more.number).some((c) => c.body.startsWith("⏱️ **jit-access**: extended `orders_readonly` for `alice`"))).toBe(true);
    expect(await w.appGranted()).toContainEqual({ role: "orders_readonly", member: "alice", grantor: APP_ROLE });
    expect(w.alerts().some((a) => a.title.includes(`#${more.number}`))).toBe(false);
  });
});
