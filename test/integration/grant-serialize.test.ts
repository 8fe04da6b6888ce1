// I16: grants of one (cluster, role, member) are serialized, and a failed grant's compensation
// never removes a membership another ledger row holds (PG15 keeps ONE row per role and member, so
// a second GRANT is a no-op there and its REVOKE would end the first person's grant). Real
// PostgreSQL; each test asserts the catalog and the ledger afterwards.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Decision } from "../../src/core/problem.ts";
import type { GrantDetails } from "../../src/db/grantor.ts";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";
import { DB_KEY, eventsFor, ledgerRow, setupGrantFixture, type GrantFixture } from "../harness/grant-fixture.ts";

const USERS = ["s_ann", "s_ben", "s_cat", "s_dan"];
let cluster: TestCluster;
let f: GrantFixture;

beforeAll(async () => {
  cluster = await startPostgres();
  f = await setupGrantFixture(cluster, { logins: USERS });
});
afterAll(async () => {
  await f?.close();
  await cluster?.stop();
});

async function memberships(user: string): Promise<{ role: string }[]> {
  const { rows } = await f.su.query<{ role: string }>(
    "SELECT r.rolname AS role FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid WHERE am.member = (SELECT oid FROM pg_roles WHERE rolname = $1)", [user]);
  return rows;
}

async function activeRows(user: string): Promise<string[]> {
  const { rows } = await f.stateSu.query<{ request_id: string }>("SELECT request_id FROM ledger WHERE db_user = $1 AND status = 'active' ORDER BY id", [user]);
  return rows.map((r) => r.request_id);
}

const key = (requestId: string) => ({ repository: "acme/access", database: DB_KEY, requestId });

describe("I16: one membership, one grant at a time", () => {
  it("I16: two concurrent grants of one membership under different request ids, the first failing between GRANT and ledger write: the second is granted and keeps its membership", async () => {
    const user = USERS[0]!;
    let second: Promise<Decision<GrantDetails>> | undefined;
    const { engine } = f.newEngine({
      hooks: {
        // Request A, holding the membership lock, lets B start and waits until B queues behind it
        // (or, were grants not serialized, until B is done).
        async beforeGrant(row) {
          if (row.requestId !== "ser-a") return;
          let settled = false;
          second = engine.grant(f.input("ser-b", { dbUser: user }));
          void second.finally(() => { settled = true; });
          const deadline = performance.now() + 10_000;
          while (!settled && performance.now() < deadline) {
            const { rows } = await f.stateSu.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted");
            if (rows[0]!.n > 0) return;
            await new Promise((r) => setTimeout(r, 10));
          }
        },
        afterGrant(row) {
          if (row.requestId === "ser-a") throw new Error("injected failure between GRANT and ledger write");
        },
      },
    });
    const a = await engine.grant(f.input("ser-a", { dbUser: user }));
    const b = await second!;
    expect(a.ok).toBe(false);
    expect(a.code).toBe("JIT_GRANT_FAILED");
    expect(b.ok, JSON.stringify(b.problems)).toBe(true);
    // The invariant: every active grant's membership is in the catalog, and only one grant is active.
    expect(await activeRows(user)).toEqual(["ser-b"]);
    expect(await f.appGranted("orders_readonly")).toEqual(expect.arrayContaining([expect.objectContaining({ member: user })]));
    expect((await ledgerRow(f, "ser-a"))!.status).toBe("failed");
    await f.engine.revoke(key("ser-b"), { reason: "test", actor: "test" });
    expect(await memberships(user)).toEqual([]);
  });

  it("I16: two concurrent grants of one membership without failures: one GRANT, the other refused JIT_ALREADY_HAS_ACCESS, one active row", async () => {
    const user = USERS[1]!;
    const ds = await Promise.all(["par-1", "par-2", "par-3"].map((id) => f.engine.grant(f.input(id, { dbUser: user }))));
    expect(ds.filter((d) => d.ok)).toHaveLength(1);
    expect(ds.filter((d) => !d.ok).map((d) => d.code)).toEqual(["JIT_ALREADY_HAS_ACCESS", "JIT_ALREADY_HAS_ACCESS"]);
    const active = await activeRows(user);
    expect(active).toHaveLength(1);
    expect(await memberships(user)).toEqual([{ role: "orders_readonly" }]);
    await f.engine.revoke(key(active[0]!), { reason: "test", actor: "test" });
    expect(await memberships(user)).toEqual([]);
  });

  it("I16: an interrupted intent retried while another active grant holds the same membership does not revoke it", async () => {
    const user = USERS[2]!;
    expect((await f.engine.grant(f.input("held-x", { dbUser: user }))).ok).toBe(true);
    // A crash left request Y as an intent for the same membership (nobody holds its row).
    await f.stateSu.query(`INSERT INTO ledger (repository, path, request_id, database, cluster_id, role, db_user, duration_ms, status, actor)
      SELECT repository, replace(path, 'held-x', 'held-y'), 'held-y', database, cluster_id, role, db_user, duration_ms, 'intent', 'crashed' FROM ledger WHERE request_id = 'held-x'`);
    const y = await f.engine.grant(f.input("held-y", { dbUser: user }));
    expect(y.ok).toBe(false);
    expect(y.code).toBe("JIT_ALREADY_HAS_ACCESS");
    expect(await memberships(user)).toEqual([{ role: "orders_readonly" }]);
    expect(await activeRows(user)).toEqual(["held-x"]);
    expect((await eventsFor(f, "held-y")).map((e) => e.kind)).not.toContain("drift_orphan_revoked");
    await f.engine.revoke(key("held-x"), { reason: "test", actor: "test" });
    expect(await memberships(user)).toEqual([]);
  });

  it("I16: compensation after a failure between GRANT and ledger write leaves a membership another active ledger row holds", async () => {
    const user = USERS[3]!;
    const { engine } = f.newEngine({
      hooks: {
        async afterGrant(row) {
          // Another grant of the same membership became active meanwhile (e.g. written by another replica).
          await f.stateSu.query(`INSERT INTO ledger (repository, path, request_id, database, cluster_id, role, db_user, duration_ms, status, granted_at, expires_at, actor)
            VALUES ($1, $2, 'comp-w', $3, $4, $5, $6, 3600000, 'active', now(), now() + interval '1 hour', 'other')`,
          [row.repository, row.path.replace("comp-z", "comp-w"), row.database, row.clusterId, row.role, row.dbUser]);
          throw new Error("injected failure between GRANT and ledger write");
        },
      },
    });
    const z = await engine.grant(f.input("comp-z", { dbUser: user }));
    expect(z.ok).toBe(false);
    expect(z.code).toBe("JIT_GRANT_FAILED");
    expect(await memberships(user)).toEqual([{ role: "orders_readonly" }]);
    const row = (await ledgerRow(f, "comp-z"))!;
    expect(row.status).toBe("failed");
    expect(JSON.stringify(row.verification)).toContain("held by active ledger row");
    const recon = await f.engine.reconcile("test");
    expect(recon.orphans.filter((o) => o.member === user)).toEqual([]);
    await f.engine.revoke(key("comp-w"), { reason: "test", actor: "test" });
    expect(await memberships(user)).toEqual([]);
  });
});
