// Grant and revoke against a real server: docs/security.md cases 31, 32, 33, 37 and 39, plus idempotency
// and single-use request ids.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
import { execute, query, SqlRefusedError } from "../../src/db/executor.ts";
import { TERMINATE_SQL } from "../../src/core/sql.ts";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";
import { APP, DB_KEY, eventsFor, ledgerRow, setupGrantFixture, type GrantFixture } from "../harness/grant-fixture.ts";

let cluster: TestCluster;
let f: GrantFixture;

beforeAll(async () => {
  cluster = await startPostgres();
  const many = Array.from({ length: 8 }, (_, i) => `many_${i}`);
  f = await setupGrantFixture(cluster, { logins: ["alice", "bob", "carol", "dave", "erin", "frank", "gina", "hank", "ivan", "judy", ...many] });
});
afterAll(async () => {
  await f?.close();
  await cluster?.stop();
});

/** A query that fails because the server ended the session reports 57P01 or a closed connection. */
async function endedBySever(p: Promise<unknown>): Promise<void> {
  await expect(p).rejects.toSatisfy((e: unknown) => {
    const err = e as { code?: string; message?: string };
    return err.code === "57P01" || /terminat|Connection terminated|not queryable|closed/i.test(err.message ?? "");
  });
}

async function sessionsOf(user: string): Promise<number> {
  const { rows } = await f.su.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1", [user]);
  return rows[0]!.n;
}

describe("grant", () => {
  it("case 31: happy path — membership with grantor = app role, complete ledger row, events", async () => {
    const d = await f.engine.grant(f.input("alice-inc-1"));
    expect(d.ok, JSON.stringify(d.problems)).toBe(true);
    expect(d.code).toBe("JIT_OK");
    expect(d.details.existing).toBe(false);

    expect(await f.appGranted("orders_readonly")).toEqual([{ role: "orders_readonly", member: "alice", admin: false }]);
    if (f.major >= 16) {
      const { rows } = await f.su.query(`SELECT admin_option, inherit_option, set_option FROM pg_auth_members
        WHERE roleid = 'orders_readonly'::regrole AND member = 'alice'::regrole AND grantor = $1::regrole`, [APP]);
      expect(rows).toEqual([{ admin_option: false, inherit_option: true, set_option: false }]);
    }

    const row = (await ledgerRow(f, "alice-inc-1"))!;
    expect(row).toMatchObject({
      repository: "acme/access", path: `access-requests/${DB_KEY}/alice-inc-1.yaml`, request_id: "alice-inc-1", pr_number: 12,
      head_sha: "a".repeat(40), merge_sha: "b".repeat(40), approvers: ["dba-dana"], database: DB_KEY, role: "orders_readonly",
      db_user: "alice", status: "active", actor: "test", revoked_at: null,
    });
    const granted = row.granted_at as Date;
    expect((row.expires_at as Date).getTime() - granted.getTime()).toBe(2 * 3_600_000);
    const expected = f.major >= 16
      ? 'GRANT "orders_readonly" TO "alice" WITH ADMIN FALSE, INHERIT TRUE, SET FALSE'
      : 'GRANT "orders_readonly" TO "alice"';
    expect(row.sql_executed).toEqual([{ text: expected, params: [] }]);
    expect(row.verification).toMatchObject({ membership: { grantor: APP, present: true, admin: false } });
    expect(await eventsFor(f, "alice-inc-1")).toEqual([{ kind: "grant_intent", code: null }, { kind: "granted", code: null }]);

    // The database clock decides expiry: expires_at is computed there.
    const { rows: clock } = await f.stateSu.query<{ ok: boolean }>(
      "SELECT expires_at = granted_at + interval '2 hours' AS ok FROM ledger WHERE request_id = 'alice-inc-1'");
    expect(clock[0]!.ok).toBe(true);

    const alice = await f.login("alice");
    expect((await alice.query("SELECT count(*)::int AS n FROM orders")).rows[0].n).toBe(5000);
    await expect(alice.query("INSERT INTO orders VALUES (999999, 1)")).rejects.toThrow(/permission denied/);
  });

  it("is idempotent per request: repeated and concurrent calls run one GRANT", async () => {
    const input = f.input("bob-inc-2", { dbUser: "bob" });
    const results = await Promise.all([f.engine.grant(input), f.engine.grant(input), f.engine.grant(input)]);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(results.filter((r) => !r.details.existing)).toHaveLength(1);
    const again = await f.engine.grant(input);
    expect(again.ok && again.details.existing).toBe(true);
    const events = await eventsFor(f, "bob-inc-2");
    expect(events.filter((e) => e.kind === "granted")).toHaveLength(1);
    expect((await f.appGranted()).filter((m) => m.member === "bob")).toHaveLength(1);
    const { rows } = await f.stateSu.query("SELECT count(*)::int AS n FROM ledger WHERE request_id = 'bob-inc-2'");
    expect(rows[0].n).toBe(1);
  });

  it("concurrent grants of different requests (more than the target pool holds) all complete", async () => {
    const inputs = Array.from({ length: 8 }, (_, i) => f.input(`many-${i}`, { dbUser: `many_${i}` }));
    const results = await Promise.all(inputs.map((i) => f.engine.grant(i)));
    expect(results.map((r) => r.code)).toEqual(Array(8).fill("JIT_OK"));
    expect((await f.appGranted()).filter((m) => m.member.startsWith("many_"))).toHaveLength(8);
    const revoked = await Promise.all(inputs.map((i) => f.engine.revoke(i, { reason: "test", actor: "test" })));
    expect(revoked.every((r) => r.ok)).toBe(true);
    expect((await f.appGranted()).filter((m) => m.member.startsWith("many_"))).toHaveLength(0);
  });

  it("case 37: the executed GRANT never carries ADMIN; multi-statement text is refused by the executor", async () => {
    const { rows } = await f.stateSu.query<{ text: string }>("SELECT e->>'text' AS text FROM ledger, jsonb_array_elements(sql_executed) e");
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r.text).not.toMatch(/ADMIN\s+(TRUE|OPTION)/i);
    expect((await f.appGranted()).every((m) => !m.admin)).toBe(true);

    const app = await f.targets.connect(DB_KEY);
    try {
      const stacked = { kind: "grant" as const, text: 'GRANT "orders_readonly" TO "carol"; GRANT "orders_admin" TO "carol"', params: [] };
      await expect(execute(app, stacked)).rejects.toBeInstanceOf(SqlRefusedError);
      await expect(execute(app, stacked)).rejects.toMatchObject({ code: "JIT_SQL_REFUSED" });
      await expect(query(app, "SELECT 1 -- ; GRANT x TO y")).rejects.toMatchObject({ code: "JIT_SQL_REFUSED" });
      await expect(execute(app, { kind: "grant", text: "GRANT x TO y", params: [["a", "b"] as unknown as string] })).rejects.toMatchObject({ code: "JIT_SQL_REFUSED" });
      // Even past the executor's check, the extended protocol takes one statement only.
      await expect(app.query({ text: 'SELECT 1; GRANT "orders_admin" TO "carol"', values: [], queryMode: "extended" } as pg.QueryConfig))
        .rejects.toThrow(/multiple commands/);
    } finally {
      app.release();
    }
    expect((await f.appGranted()).filter((m) => m.member === "carol")).toEqual([]);
  });
});

describe("revoke", () => {
  it("case 32: a SET ROLE session, an open cursor and a long query of the grantee are all ended", async () => {
    expect((await f.engine.grant(f.input("dave-inc-3", { dbUser: "dave" }))).ok).toBe(true);

    const setRole = await f.login("dave");
    if (f.major >= 16) {
      // SET FALSE: the grantee cannot SET ROLE to the bundle at all; she uses it by inheritance.
      await expect(setRole.query("SET ROLE orders_readonly")).rejects.toThrow(/permission denied to set role/);
    } else {
      await setRole.query("SET ROLE orders_readonly");
    }
    expect((await setRole.query("SELECT count(*)::int AS n FROM orders")).rows[0].n).toBe(5000);

    const cursor = await f.login("dave");
    await cursor.query("BEGIN");
    await cursor.query("DECLARE c CURSOR FOR SELECT * FROM orders");
    expect((await cursor.query("FETCH 10 FROM c")).rowCount).toBe(10);

    const sleeper = await f.login("dave");
    const longQuery = sleeper.query("SELECT pg_sleep(120), count(*) FROM orders");
    longQuery.catch(() => {});
    await expect.poll(async () => {
      const { rows } = await f.su.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = 'dave' AND query LIKE 'SELECT pg_sleep%' AND state = 'active'");
      return rows[0].n;
    }).toBe(1);
    expect(await sessionsOf("dave")).toBe(3);

    const d = await f.engine.revoke({ repository: "acme/access", database: DB_KEY, requestId: "dave-inc-3" }, { reason: "expired", actor: "sweeper" });
    expect(d.ok, d.message).toBe(true);
    expect(d.details.applied?.outcome).toBe("revoked");
    expect(d.details.applied?.sessionsEnded).toBe(3);

    await endedBySever(longQuery);
    await endedBySever(cursor.query("FETCH 10 FROM c"));
    await endedBySever(setRole.query("SELECT count(*) FROM orders"));
    expect(await sessionsOf("dave")).toBe(0);
    expect(await f.appGranted("orders_readonly").then((m) => m.filter((x) => x.member === "dave"))).toEqual([]);

    const row = (await ledgerRow(f, "dave-inc-3"))!;
    expect(row).toMatchObject({ status: "revoked", revoke_reason: "expired", revoked_by: "sweeper", sessions_ended: 3 });
    expect(row.verification).toMatchObject({ revoke: { outcome: "revoked", membershipGone: true, sessionsLeft: 0 } });
    const texts = (row.sql_executed as { text: string }[]).map((s) => s.text);
    expect(texts).toContain(f.major >= 16 ? `REVOKE "orders_readonly" FROM "dave" GRANTED BY "${APP}"` : 'REVOKE "orders_readonly" FROM "dave"');
    expect(texts).toContain(TERMINATE_SQL);
    if (f.major < 16) expect(texts).toEqual(expect.arrayContaining(["SET ROLE pg_signal_backend", "RESET ROLE"]));

    // A new login after the revoke has no access.
    const later = await f.login("dave");
    await expect(later.query("SELECT count(*) FROM orders")).rejects.toThrow(/permission denied/);
  });

  it("case 32 (companion): a SET ROLE session survives a bare REVOKE — why sessions must be ended", async () => {
    await f.su.query("GRANT orders_readonly TO erin" + (f.major >= 16 ? " WITH INHERIT TRUE, SET TRUE" : ""));
    const erin = await f.login("erin");
    await erin.query("SET ROLE orders_readonly");
    await erin.query("BEGIN");
    await erin.query("DECLARE c CURSOR FOR SELECT * FROM orders");
    await erin.query("FETCH 1 FROM c");
    await f.su.query("REVOKE orders_readonly FROM erin");
    const { rows } = await f.su.query("SELECT pg_has_role('erin', 'orders_readonly', 'MEMBER') AS m");
    expect(rows[0].m).toBe(false);
    // Still reading after the REVOKE: through the open cursor and with new statements.
    expect((await erin.query("FETCH 5 FROM c")).rowCount).toBe(5);
    expect((await erin.query("SELECT count(*)::int AS n FROM orders")).rows[0].n).toBe(5000);
    await erin.query("COMMIT");
  });

  it("case 33: bystanders survive (another user, a superuser session, the app's own connection); no pg_read_all_stats needed", async () => {
    const { rows: stats } = await f.su.query("SELECT pg_has_role($1, 'pg_read_all_stats', 'MEMBER') AS m", [APP]);
    expect(stats[0].m).toBe(false);

    const bystander = await f.login("frank"); // connected before the grantee
    const superuser = await cluster.connect("postgres", "orders");
    const appOwn = await f.targets.connect(DB_KEY);
    try {
      expect((await f.engine.grant(f.input("gina-inc-4", { dbUser: "gina" }))).ok).toBe(true);
      const gina = await f.login("gina");
      await gina.query("SELECT 1");
      const d = await f.engine.revoke({ repository: "acme/access", database: DB_KEY, requestId: "gina-inc-4" }, { reason: "early", actor: "test" });
      expect(d.ok, d.message).toBe(true);
      expect(d.details.applied?.sessionsEnded).toBe(1);
      await endedBySever(gina.query("SELECT 1"));
      for (const c of [bystander, superuser, appOwn]) expect((await c.query("SELECT 1 AS one")).rows[0].one).toBe(1);
    } finally {
      appOwn.release();
      await superuser.end();
    }
  });

  it("case 39: revoking twice is a no-op the second time", async () => {
    expect((await f.engine.grant(f.input("hank-inc-5", { dbUser: "hank" }))).ok).toBe(true);
    const key = { repository: "acme/access", database: DB_KEY, requestId: "hank-inc-5" };
    const first = await f.engine.revoke(key, { reason: "expired", actor: "sweeper" });
    const second = await f.engine.revoke(key, { reason: "manual", actor: "cli" });
    expect(first.ok && !first.details.alreadyClosed).toBe(true);
    expect(second.ok && second.details.alreadyClosed).toBe(true);
    expect((await ledgerRow(f, "hank-inc-5"))!).toMatchObject({ status: "revoked", revoke_reason: "expired" });
  });

  it("case 39: after a DBA already revoked the app's grant, the revoke closes the ledger without error", async () => {
    expect((await f.engine.grant(f.input("ivan-inc-6", { dbUser: "ivan" }))).ok).toBe(true);
    if (f.major >= 16) {
      // A plain REVOKE by someone else leaves the app's row (one row per grantor on PG16+) ...
      await f.su.query("REVOKE orders_readonly FROM ivan");
      expect((await f.appGranted()).filter((m) => m.member === "ivan")).toHaveLength(1);
      // ... the DBA has to name the app's grant.
      await f.su.query(`REVOKE orders_readonly FROM ivan GRANTED BY ${APP}`);
    } else {
      await f.su.query("REVOKE orders_readonly FROM ivan");
    }
    expect((await f.appGranted()).filter((m) => m.member === "ivan")).toEqual([]);
    const d = await f.engine.revoke({ repository: "acme/access", database: DB_KEY, requestId: "ivan-inc-6" }, { reason: "expired", actor: "sweeper" });
    expect(d.ok, d.message).toBe(true);
    expect(d.details.applied?.outcome).toBe("already_absent");
    const row = (await ledgerRow(f, "ivan-inc-6"))!;
    expect(row).toMatchObject({ status: "revoked", revoke_reason: "expired" });
    expect(row.verification).toMatchObject({ revoke: { outcome: "already_absent", membershipGone: true } });
    expect((row.sql_executed as { text: string }[]).map((s) => s.text).some((t) => t.startsWith("REVOKE"))).toBe(false);
  });

  it("case 39: after the user was dropped, the revoke closes the ledger without error", async () => {
    expect((await f.engine.grant(f.input("judy-inc-7", { dbUser: "judy" }))).ok).toBe(true);
    await f.su.query("DROP ROLE judy");
    const d = await f.engine.revoke({ repository: "acme/access", database: DB_KEY, requestId: "judy-inc-7" }, { reason: "expired", actor: "sweeper" });
    expect(d.ok, d.message).toBe(true);
    expect(d.details.applied?.outcome).toBe("user_missing");
    expect((await ledgerRow(f, "judy-inc-7"))!).toMatchObject({ status: "revoked", revoke_reason: "expired" });
    expect((await eventsFor(f, "judy-inc-7")).at(-1)).toEqual({ kind: "revoke_noop", code: null });
  });

  it("request ids are single-use: a revoked request is never granted again", async () => {
    const d = await f.engine.grant(f.input("hank-inc-5", { dbUser: "hank" }));
    expect(d.ok).toBe(false);
    expect(d.code).toBe("JIT_REQUEST_ID_USED");
    expect((await f.appGranted()).filter((m) => m.member === "hank")).toEqual([]);
  });

  it("an unknown request reports JIT_GRANT_NOT_FOUND", async () => {
    const d = await f.engine.revoke({ repository: "acme/access", database: DB_KEY, requestId: "nope" }, { reason: "manual", actor: "cli" });
    expect(d.code).toBe("JIT_GRANT_NOT_FOUND");
  });
});

describe("due grants and status", () => {
  it("findDue returns active grants past expiry by the database clock; status lists active grants", async () => {
    expect((await f.engine.grant(f.input("carol-inc-8", { dbUser: "carol", durationMs: 60_000 }))).ok).toBe(true);
    expect((await f.engine.findDue(100)).map((r) => r.requestId)).not.toContain("carol-inc-8");
    await f.stateSu.query("UPDATE ledger SET expires_at = now() - interval '1 second' WHERE request_id = 'carol-inc-8'");
    expect((await f.engine.findDue(100)).map((r) => r.requestId)).toContain("carol-inc-8");
    const status = await f.engine.status();
    const carol = status.find((s) => s.requestId === "carol-inc-8")!;
    expect(carol.remainingMs).toBe(0);
    const alice = status.find((s) => s.requestId === "alice-inc-1")!;
    expect(alice.remainingMs).toBeGreaterThan(3_600_000);
    expect(status.every((s) => s.status === "active")).toBe(true);
  });
});
