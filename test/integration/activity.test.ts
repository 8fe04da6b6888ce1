// What the grantee did, on real PostgreSQL: sessions and pg_stat_statements sampled at grant and at
// revoke, summarized by activityOf and rendered into the revert PR body. Without pg_stat_statements
// the summary says so; with it, statement counts and rows of the window appear; statement text only
// where the app role may see it, normalized and scrubbed, so a literal the grantee typed never
// reaches GitHub. Client addresses and login times are hidden from the app role (no
// pg_read_all_stats, I5) and the summary says that plainly.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { revertBody, type RevertText } from "../../src/core/messages.ts";
import { activityOf, recordActivity, sampleActivity, scrubQuery } from "../../src/db/activity.ts";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";
import { DB_KEY, setupGrantFixture, type GrantFixture } from "../harness/grant-fixture.ts";

const key = (requestId: string) => ({ repository: "acme/access", database: DB_KEY, requestId });

function body(requestId: string, activity: NonNullable<RevertText["activity"]>): string {
  return revertBody({
    database: DB_KEY, requestId, path: `access-requests/${DB_KEY}/${requestId}.yaml`, requester: "alice", prNumber: 12, role: "orders_readonly",
    dbUser: "alice", approvers: [], grantedAt: null, expiresAt: null, revokedAt: null, revokedBy: null, sessionsEnded: 1, verification: null,
    ledgerId: activity.ledgerId, activity,
  }).text;
}

/** alice works during the window: two statements with literals, a utility statement with one, an open session at revoke. */
async function work(f: GrantFixture): Promise<void> {
  const alice = await f.login("alice");
  await alice.query("SET application_name = 'psql-alice'");
  for (let i = 0; i < 3; i++) await alice.query("SELECT * FROM orders WHERE id = 4242");
  await alice.query("SELECT count(*) FROM orders WHERE total > 777.25 AND 'literal-secret' <> ''");
  await alice.query("SET statement_timeout = '4343s'");
}

describe("without pg_stat_statements", () => {
  let cluster: TestCluster;
  let f: GrantFixture;
  beforeAll(async () => {
    cluster = await startPostgres();
    f = await setupGrantFixture(cluster);
  });
  afterAll(async () => {
    await f?.close();
    await cluster?.stop();
  });

  it("sessions seen with their application name, sessions ended, and plainly what was not available", async () => {
    expect((await f.engine.grant(f.input("alice-act-1"))).ok).toBe(true);
    await work(f);
    expect((await f.engine.revoke(key("alice-act-1"), { reason: "expired", actor: "test" })).ok).toBe(true);
    const a = (await activityOf(f.state, key("alice-act-1")))!;
    expect(a.sampled).toEqual({ grant: true, revoke: true, ticks: 0 });
    expect(a.sessions.count).toBe(1);
    expect(a.sessions.applicationNames).toEqual(["psql-alice"]);
    expect(a.sessions.clientAddresses).toEqual([]); // hidden from the app role
    expect(a.sessionsEnded).toBe(1);
    expect(a.statements.available).toBe(false);
    expect(a.notAvailable).toEqual(expect.arrayContaining([
      "pg_stat_statements is not installed in the target database",
      "client addresses are hidden from the app role without pg_read_all_stats",
    ]));
    const b = body("alice-act-1", a);
    expect(b).toContain("### Activity during the window");
    expect(b).toContain("- Sessions seen: 1");
    expect(b).toContain("- Application names: `psql-alice`");
    expect(b).toContain("- Sessions ended by the revoke: 1");
    expect(b).toContain("- Statements: not available");
    expect(b).toContain("- pg_stat_statements is not installed in the target database");
  });

  it("a session that came and went between grant and revoke is seen by the sweep tick's sample; an unchanged or quiet window adds no rows", async () => {
    expect((await f.engine.grant(f.input("carol-act-4", { dbUser: "carol" }))).ok).toBe(true);
    expect(await f.engine.sampleOpenWindows()).toBe(0); // nobody connected: nothing stored
    const carol = await f.login("carol");
    await carol.query("SET application_name = 'between'");
    expect(await f.engine.sampleOpenWindows()).toBe(1);
    expect(await f.engine.sampleOpenWindows()).toBe(0); // the same sessions: not stored again
    await carol.end();
    await expect.poll(async () => (await f.su.query("SELECT 1 FROM pg_stat_activity WHERE usename = 'carol'")).rowCount, { timeout: 5000 }).toBe(0);
    expect((await f.engine.revoke(key("carol-act-4"), { reason: "expired", actor: "test" })).ok).toBe(true);
    const a = (await activityOf(f.state, key("carol-act-4")))!;
    expect(a.sampled).toEqual({ grant: true, revoke: true, ticks: 1 });
    expect(a.sessions.count).toBe(1);
    expect(a.sessions.applicationNames).toEqual(["between"]);
    expect(a.sessionsEnded).toBe(0);
  });

  it("a grant with no activity sampled has none (activityOf of an unknown request is undefined)", async () => {
    expect(await activityOf(f.state, key("never-granted"))).toBeUndefined();
  });
});

describe("with pg_stat_statements preloaded and installed", () => {
  let cluster: TestCluster;
  let f: GrantFixture;
  beforeAll(async () => {
    cluster = await startPostgres({ settings: { shared_preload_libraries: "pg_stat_statements" } });
    f = await setupGrantFixture(cluster);
    await f.su.query("CREATE EXTENSION pg_stat_statements");
  });
  afterAll(async () => {
    await f?.close();
    await cluster?.stop();
  });

  it("statements and rows of the window as totals; their text is hidden from the app role and never shown", async () => {
    expect((await f.engine.grant(f.input("alice-act-2"))).ok).toBe(true);
    await work(f);
    expect((await f.engine.revoke(key("alice-act-2"), { reason: "expired", actor: "test" })).ok).toBe(true);
    const a = (await activityOf(f.state, key("alice-act-2")))!;
    expect(a.statements.available).toBe(true);
    expect(a.statements.calls).toBeGreaterThanOrEqual(6); // 3 + 1 + 2 SET
    expect(a.statements.rows).toBeGreaterThanOrEqual(4); // 3 rows + 1 count
    expect(a.statements.byStatement).toEqual([]);
    expect(a.notAvailable.join("\n")).toContain("statement text is hidden from the app role without pg_read_all_stats");
    const b = body("alice-act-2", a);
    expect(b).toMatch(/- Statements: \d+ call\(s\), \d+ row\(s\)/);
    for (const literal of ["4242", "777.25", "literal-secret", "4343"]) expect(b).not.toContain(literal);
  });

  it("where the text is visible (a superuser's sampling connection here), statements are normalized, scrubbed and cut: no literal reaches the PR body", async () => {
    // The app role never sees other users' statement text (I5: no pg_read_all_stats); this drives the
    // text path through a superuser connection, the way an operator's monitoring role would see it.
    expect((await f.engine.grant(f.input("bob-act-3", { dbUser: "bob" }))).ok).toBe(true);
    const row = await f.stateSu.query<{ id: string }>("SELECT id::text FROM ledger WHERE request_id = 'bob-act-3'");
    const id = Number(row.rows[0]!.id);
    await f.stateSu.query("DELETE FROM activity_samples WHERE ledger_id = $1", [id]);
    await recordActivity(f.state, id, "grant", await sampleActivity(f.su, { dbUser: "bob", memberOid: null }));
    const bob = await f.login("bob");
    for (let i = 0; i < 2; i++) await bob.query("SELECT id, total FROM orders WHERE id = 4242");
    await bob.query("SET statement_timeout = '4343s'");
    await recordActivity(f.state, id, "revoke", await sampleActivity(f.su, { dbUser: "bob", memberOid: null }));
    const a = (await activityOf(f.state, key("bob-act-3")))!;
    const select = a.statements.byStatement.find((s) => s.query.startsWith("SELECT id, total FROM orders"));
    expect(select).toEqual({ query: "SELECT id, total FROM orders WHERE id = $1", calls: 2, rows: 2 });
    expect(a.statements.byStatement.some((s) => /statement_timeout/i.test(s.query))).toBe(false); // utility: counted, never shown
    expect(a.sessions.clientAddresses).toEqual(["127.0.0.1/32"]);
    expect(a.sessions.firstLogin).not.toBeNull();
    const b = body("bob-act-3", a);
    expect(b).toContain("| 2 | 2 | SELECT id, total FROM orders WHERE id = \\$1 |");
    expect(b).toContain("- Client addresses: `127.0.0.1/32`");
    for (const literal of ["4242", "4343"]) expect(b).not.toContain(literal);
  });
});

describe("scrubQuery", () => {
  it("leaves placeholders, removes strings, dollar quotes and numbers that normalization left", () => {
    expect(scrubQuery("SELECT * FROM t WHERE a = $1 AND b = 'x''y' AND c = 12.5e3 AND d = $$z$$ AND e = $tag$q$tag$ AND f = E'\\n'"))
      .toBe("SELECT * FROM t WHERE a = $1 AND b = ? AND c = ? AND d = ? AND e = ? AND f = ?");
    expect(scrubQuery("SELECT col1, t2.x3 FROM t2 LIMIT $2")).toBe("SELECT col1, t2.x3 FROM t2 LIMIT $2");
  });
});
