// `jit audit` on a real state database for what the e2e story does not reach: a row from before
// migration 021 (facts "not recorded"), alerts found by the keys the app raises them under (and not
// another repository's), and one request id in two repositories (ambiguous until --repo).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
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
