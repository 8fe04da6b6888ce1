// `jit audit` on a real state database for what the e2e story does not reach: a row from before
// migration 021 (facts "not recorded"), alerts found by the keys the app raises them under (and not
// another repository's), and one request id in two repositories (ambiguous until --repo).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import auditSchema from "../../schemas/audit.schema.json" with { type: "json" };
import { main } from "../../src/cli/main.ts";
import { captureIo } from "../../src/cli/io.ts";
import { migrate } from "../../src/db/migrations.ts";
import { createPool } from "../../src/db/state.ts";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";

let cluster: TestCluster;
let pool: pg.Pool;
let url: string;
let legacyId: number;

async function insert(repository: string, requestId: string, pr: number): Promise<number> {
  const { rows } = await pool.query(
    `INSERT INTO ledger (repository, path, request_id, pr_number, head_sha, merge_sha, approvers, database, cluster_id, role, db_user, duration_ms, status,
                         granted_at, expires_at, revoked_at, revoke_reason, revoked_by, actor, sql_executed, sessions_ended, verification)
     VALUES ($1, $2, $3, $4, 'h', 'm', '{dora}', 'orders-prod', 'c1', 'orders_readonly', 'alice', 3600000, 'revoked',
             '2026-10-01T10:00:00Z', '2026-10-01T11:00:00Z', '2026-10-01T11:07:00Z', 'expired', 'sweeper', 'github:merge', $5, 2, $6)
     RETURNING id::int8 AS id`,
    [repository, `access-requests/orders-prod/${requestId}.yaml`, requestId, pr,
      JSON.stringify([{ text: 'GRANT "orders_readonly" TO "alice"', params: [], at: "2026-10-01T10:00:00.100Z" }, { text: "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", params: ["alice"] }]),
      JSON.stringify({ membership: true, revoke: { membershipGone: true, sessionsLeft: 0 } })]);
  return Number(rows[0].id);
}

beforeAll(async () => {
  cluster = await startPostgres();
  const su = await cluster.connect();
  await su.query("CREATE DATABASE state");
  await su.end();
  url = cluster.superuserUrl("state");
  pool = createPool({ connectionString: url });
  await migrate(pool);
  legacyId = await insert("acme/access", "legacy-1", 12);
  await insert("acme/access", "twice", 13);
  await insert("acme/other", "twice", 3);
  const alert = (repo: string, code: string, key: string) => pool.query("INSERT INTO outbox (kind, dedupe_key, payload, done) VALUES ('alert', $1, $2, true)",
    [`alert:${repo}:${code}:${key}`, JSON.stringify({ code, key })]);
  await alert("acme/access", "JIT_REVOKE_OVERDUE", `overdue:${legacyId}`);
  await alert("acme/access", "JIT_MERGE_REFUSED", "merge:99"); // another PR's
  await alert("acme/other", "JIT_REVOKE_OVERDUE", `overdue:${legacyId}`); // another repository's
  await alert("acme/access", "JIT_REVERT_PR_FAILED", "revert:orders-prod/legacy-1");
});
afterAll(async () => {
  await pool?.end();
  await cluster?.stop();
});

async function audit(...args: string[]) {
  const io = captureIo({ DATABASE_URL: url });
  const code = await main(["audit", ...args], io);
  return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}

describe("jit audit (state database only)", () => {
  it("a scheduled request shows its schedule (recorded, start, activation outcome); a break-glass request its deadline and outcome", async () => {
    await insert("acme/access", "sched-1", 20);
    await pool.query(
      `INSERT INTO scheduled_grants (repository, path, database, request_id, pr_number, head_sha, merged_at, requester, role, db_user, duration_ms, duration, reason,
                                     starts_at, status, closed_at, close_reason, actor, created_at)
       VALUES ('acme/access', 'access-requests/orders-prod/sched-1.yaml', 'orders-prod', 'sched-1', 20, 'h', '2026-09-30T09:00:00Z', 'alice', 'orders_readonly', 'alice',
               3600000, '1h', 'night migration', '2026-10-01T10:00:00Z', 'activated', '2026-10-01T10:00:01Z', 'granted until 2026-10-01T11:00:00.000Z', 'jit-scheduler',
               '2026-09-30T09:00:02Z')`);
    await insert("acme/access", "bg-1", 21);
    await pool.query(
      `INSERT INTO break_glass_grants (repository, database, request_id, pr_number, requester, db_user, head_sha, deadline, status, closed_at, created_at)
       VALUES ('acme/access', 'orders-prod', 'bg-1', 21, 'bob', 'alice', 'h', '2026-10-01T14:00:00Z', 'expired', '2026-10-01T14:00:05Z', '2026-10-01T10:00:00Z')`);
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats.default(ajv);

    const sched = JSON.parse((await audit("orders-prod/sched-1", "--format", "json")).out);
    expect(ajv.validate(auditSchema, sched), JSON.stringify(ajv.errors)).toBe(true);
    expect(sched.schedule).toEqual({ recordedAt: "2026-09-30T09:00:02.000Z", startsAt: "2026-10-01T10:00:00.000Z", status: "activated", closedAt: "2026-10-01T10:00:01.000Z",
      code: null, reason: "granted until 2026-10-01T11:00:00.000Z", actor: "jit-scheduler" });
    expect(sched.breakGlass).toBeNull();
    const schedText = (await audit("orders-prod/sched-1")).out;
    expect(schedText).toContain("  start          2026-10-01T10:00:00.000Z");
    expect(schedText).toContain("  activation     activated at 2026-10-01T10:00:01.000Z: granted until 2026-10-01T11:00:00.000Z");

    const bg = JSON.parse((await audit("orders-prod/bg-1", "--format", "json")).out);
    expect(ajv.validate(auditSchema, bg), JSON.stringify(ajv.errors)).toBe(true);
    expect(bg.breakGlass).toEqual({ grantedAt: "2026-10-01T10:00:00.000Z", deadline: "2026-10-01T14:00:00.000Z", status: "expired", closedAt: "2026-10-01T14:00:05.000Z", prNumber: 21, requester: "bob" });
    expect(bg.schedule).toBeNull();
    const bgText = (await audit("orders-prod/bg-1")).out;
    expect(bgText).toContain("  deadline       2026-10-01T14:00:00.000Z");
    expect(bgText).toContain("  outcome        expired at 2026-10-01T14:00:05.000Z");

    // A grant with neither: both null, and the text has no such sections.
    const plain = JSON.parse((await audit("orders-prod/legacy-1", "--format", "json")).out);
    expect(ajv.validate(auditSchema, plain), JSON.stringify(ajv.errors)).toBe(true);
    expect([plain.schedule, plain.breakGlass]).toEqual([null, null]);
    expect((await audit("orders-prod/legacy-1")).out).not.toMatch(/^(schedule|break-glass)$/m);
  });

  it("a scheduled request not started yet has no grant (1) and says when it starts", async () => {
    await pool.query(
      `INSERT INTO scheduled_grants (repository, path, database, request_id, pr_number, head_sha, merged_at, requester, role, db_user, duration_ms, duration, reason, starts_at, actor)
       VALUES ('acme/access', 'access-requests/orders-prod/later-1.yaml', 'orders-prod', 'later-1', 22, 'h', now(), 'alice', 'orders_readonly', 'alice',
               3600000, '1h', 'later', '2030-01-01T00:00:00Z', 'github:merge')`);
    const r = await audit("orders-prod/later-1", "--repo", "acme/access");
    expect(r.code).toBe(1);
    expect(r.err).toContain("JIT_GRANT_NOT_FOUND");
    expect(r.err).toContain("scheduled (scheduled) to start at 2030-01-01T00:00:00.000Z");
  });

  it("a row from before migration 021: approvers without review ids, every missing fact named", async () => {
    const { code, out } = await audit("orders-prod/legacy-1", "--format", "json");
    expect(code).toBe(0);
    const s = JSON.parse(out);
    expect(s.approvals).toEqual([{ login: "dora", reviewId: null, commitId: null, submittedAt: null }]);
    expect(s.sources.notRecorded).toEqual(["request.blobSha", "request.reason", "requester", "pullRequest.mergedAt", "approvals", "decision", "beneficiary.oid"]);
    expect(s.activity).not.toBeNull(); // src/db/activity.ts summarises the window (here: nothing sampled)
    expect(s.revoke).toMatchObject({ at: "2026-10-01T11:07:00.000Z", reason: "expired", actor: "sweeper", early: false, verification: { membershipGone: true, sessionsLeft: 0 } });
    expect(s.sessionsEnded).toBe(2);
    expect(s.grant.verification).toEqual({ membership: true });
    expect(s.sql.map((q: { text: string }) => q.text)).toEqual(['GRANT "orders_readonly" TO "alice"', "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1"]);
  });

  it("alerts: the grant's own keys in its repository, nothing else", async () => {
    const s = JSON.parse((await audit("orders-prod/legacy-1", "--format", "json")).out);
    expect(s.alerts.map((a: { code: string; key: string }) => [a.code, a.key])).toEqual([
      ["JIT_REVOKE_OVERDUE", `overdue:${legacyId}`], ["JIT_REVERT_PR_FAILED", "revert:orders-prod/legacy-1"],
    ]);
  });

  it("text output marks what is not recorded and shows the SQL with parameters", async () => {
    const { code, out } = await audit("orders-prod/legacy-1");
    expect(code).toBe(0);
    expect(out).toContain("reason         (not recorded)");
    expect(out).toContain("@dora  review (id not recorded)");
    expect(out).toContain("WHERE usename = $1  -- $1 = alice");
    expect(out).toContain("not recorded: request.blobSha, request.reason");
  });

  it("one request id in two repositories is ambiguous (2) until --repo picks one", async () => {
    const both = await audit("orders-prod/twice");
    expect(both.code).toBe(2);
    expect(both.err).toContain("pass --repo OWNER/NAME");
    const one = await audit("orders-prod/twice", "--repo", "ACME/other", "--format", "json");
    expect(one.code).toBe(0);
    expect(JSON.parse(one.out)).toMatchObject({ repository: "acme/other", pullRequest: { number: 3 } });
  });
});
