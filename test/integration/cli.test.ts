// `jit status` and `jit revoke` against a real state database and target.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { captureIo } from "../../src/cli/io.ts";
import { reserveBreakGlass } from "../../src/db/break-glass.ts";
import { insertScheduled } from "../../src/db/scheduled.ts";
import { main } from "../../src/cli/main.ts";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";
import { DB_KEY, ENV_NAME, ledgerRow, setupGrantFixture, STATE_DB, type GrantFixture } from "../harness/grant-fixture.ts";

let cluster: TestCluster;
let f: GrantFixture;
let repo: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  cluster = await startPostgres();
  f = await setupGrantFixture(cluster);
  repo = mkdtempSync(join(tmpdir(), "jit-cli-"));
  mkdirSync(join(repo, "policies"));
  writeFileSync(join(repo, "policies", "orders.yaml"), [
    "databases:", `  ${DB_KEY}:`, `    connection_env: ${ENV_NAME}`, "    roles:",
    "      orders_readonly: { max_duration: 8h, approvals: 1, approvers: [\"@acme/dba\"] }",
    "      orders_admin: { max_duration: 8h, approvals: 1, approvers: [\"@acme/dba\"] }",
    "identities:", "  alice: alice", "",
  ].join("\n"));
  env = { ...f.env, DATABASE_URL: cluster.superuserUrl(STATE_DB), USER: "oncall" };
  expect((await f.engine.grant(f.input("alice-1"))).ok).toBe(true);
  expect((await f.engine.grant(f.input("bob-1", { dbUser: "bob", role: "orders_admin", durationMs: 30 * 60_000 }))).ok).toBe(true);
});
afterAll(async () => {
  if (repo) rmSync(repo, { recursive: true, force: true });
  await f?.close();
  await cluster?.stop();
});

async function jit(...argv: string[]) {
  const io = captureIo(env, repo);
  const code = await main(argv, io);
  return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}

describe("jit status", () => {
  it("lists active grants with their expiry, soonest first", async () => {
    const r = await jit("status");
    expect(r.code).toBe(0);
    const lines = r.out.split("\n");
    expect(lines[0]).toMatch(/^REQUEST\s+ROLE\s+USER\s+EXPIRES \(UTC\)\s+LEFT$/);
    expect(lines[1]).toMatch(/^orders-prod\/bob-1\s+orders_admin\s+bob\s+\d{4}-\d\d-\d\dT\S+Z\s+30m$/);
    expect(lines[2]).toMatch(/^orders-prod\/alice-1\s+orders_readonly\s+alice\s+\S+\s+2h00m$/);
  });

  it("--format json is machine-readable", async () => {
    const r = await jit("status", "--format", "json");
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out) as { grants: { requestId: string; expiresAt: string; remainingMs: number }[] };
    expect(json.grants.map((g) => g.requestId)).toEqual(["bob-1", "alice-1"]);
    expect(Date.parse(json.grants[1]!.expiresAt)).toBeGreaterThan(Date.now());
    expect((await jit("status", "--format", "yaml")).code).toBe(2);
  });

  it("lists scheduled grants and open break-glass grants after the active ones", async () => {
    const state = new pg.Pool({ connectionString: cluster.superuserUrl(STATE_DB) });
    try {
      const start = new Date(Date.now() + 3 * 3_600_000);
      start.setUTCMilliseconds(0);
      await insertScheduled(state, {
        repository: "acme/access", path: "access-requests/orders-prod/carol-later.yaml", database: DB_KEY, requestId: "carol-later", prNumber: 7,
        headSha: "a".repeat(40), mergeSha: "b".repeat(40), mergedAt: new Date().toISOString(), requester: "carol", approvers: ["dora"],
        role: "orders_readonly", dbUser: "carol", durationMs: 3_600_000, duration: "1h", reason: "later", ticket: null, start: start.toISOString(), actor: "test",
      });
      await reserveBreakGlass(state, { repository: "acme/access", database: DB_KEY, requestId: "erin-bg", prNumber: 8, requester: "erin", dbUser: "erin", headSha: "c".repeat(40), retroMs: 4 * 3_600_000 });
      const text = (await jit("status")).out.split("\n");
      expect(text).toContainEqual(expect.stringMatching(new RegExp(`^orders-prod/carol-later\\s+orders_readonly\\s+carol\\s+${start.toISOString().replace(".000Z", ".000Z")}\\s+\\S+\\s+in (2h59m|3h00m)$`)));
      expect(text).toContainEqual(expect.stringMatching(/^orders-prod\/erin-bg\s+#8\s+erin\s+erin\s+\S+Z$/));
      const json = JSON.parse((await jit("status", "--format", "json")).out) as { scheduled: { requestId: string; startsAt: string }[]; breakGlass: { requestId: string }[] };
      expect(json.scheduled.map((g) => [g.requestId, g.startsAt])).toEqual([["carol-later", start.toISOString()]]);
      expect(json.breakGlass.map((g) => g.requestId)).toEqual(["erin-bg"]);
    } finally {
      await state.end();
    }
  });
});

describe("jit revoke", () => {
  it("revokes now, records reason and caller, prints the SQL it ran", async () => {
    const alice = await f.login("alice");
    const r = await jit("revoke", `${DB_KEY}/alice-1`, "--reason", "incident INC-9 closed");
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/orders-prod\/alice-1: revoked; 1 session\(s\) ended/);
    expect(r.out).toContain('REVOKE "orders_readonly" FROM "alice"');
    await expect(alice.query("SELECT 1")).rejects.toThrow();
    expect(await f.appGranted("orders_readonly")).toEqual([]);
    expect(await ledgerRow(f, "alice-1")).toMatchObject({ status: "revoked", revoke_reason: "incident INC-9 closed", revoked_by: "cli:oncall" });
    expect((await jit("status")).out).not.toContain("alice-1");
    // Git true after every revoke: the revert PR is queued in the outbox, once per request.
    const queued = await f.state.query("SELECT kind, payload FROM outbox WHERE dedupe_key LIKE 'revert_pr:%' AND payload->>'requestId' = 'alice-1'");
    expect(queued.rows).toEqual([{ kind: "revert_pr", payload: expect.objectContaining({ database: DB_KEY, requestId: "alice-1", path: expect.stringContaining("alice-1") }) }]);
  });

  it("is idempotent, and reports unknown requests and usage errors with distinct exit codes", async () => {
    const again = await jit("revoke", `${DB_KEY}/alice-1`, "--reason", "again");
    expect(again.code).toBe(0);
    expect(again.out).toContain("already revoked (incident INC-9 closed)");
    expect((await f.state.query("SELECT 1 FROM outbox WHERE payload->>'requestId' = 'alice-1'")).rowCount).toBe(1);
    const unknown = await jit("revoke", `${DB_KEY}/nobody-1`, "--reason", "x");
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain("JIT_GRANT_NOT_FOUND");
    expect((await jit("revoke", `${DB_KEY}/bob-1`)).code).toBe(2);
    expect((await jit("revoke", "not a target", "--reason", "x")).code).toBe(2);
    expect((await jit("revoke", `${DB_KEY}/bob-1`, `${DB_KEY}/alice-1`, "--reason", "x")).code).toBe(2);
    expect(await ledgerRow(f, "bob-1")).toMatchObject({ status: "active" });
  });

  it("a target it cannot reach keeps the grant active for the next sweep and exits non-zero", async () => {
    const saved = env;
    env = { ...env, [ENV_NAME]: "postgresql://jit_app@127.0.0.1:1/orders" };
    try {
      const r = await jit("revoke", `${DB_KEY}/bob-1`, "--reason", "x");
      expect(r.code).toBe(1);
      expect(r.err).toContain("JIT_DB_UNREACHABLE");
    } finally {
      env = saved;
    }
    expect(await ledgerRow(f, "bob-1")).toMatchObject({ status: "active" });
    const { rows } = await f.stateSu.query("SELECT kind, code FROM events WHERE request_id = 'bob-1' ORDER BY id DESC LIMIT 1");
    expect(rows[0]).toEqual({ kind: "revoke_failed", code: "JIT_DB_UNREACHABLE" });
  });
});
