// Actions mode end to end: the workflow jobs' entry point (`jit actions check|grant|sweep`) run as a
// runner runs them (GITHUB_EVENT_NAME, GITHUB_EVENT_PATH holding the event's JSON, GITHUB_REPOSITORY,
// GITHUB_RUN_ID, GITHUB_SHA, GITHUB_REF, RUNNER_TEMP), against the GitHub simulator and a real
// PostgreSQL. No server handles anything here: the simulator's webhooks go to an app that does
// nothing, and their payloads (installation removed, as Actions writes them) become the event files.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { migrate } from "../../src/db/migrations.ts";
import { createPool } from "../../src/db/state.ts";
import { APP, appRoleSql, grantableRoleSql } from "../harness/grant-fixture.ts";
import type { RepoScenario } from "../sim/index.ts";
import { startE2E, type E2E } from "./harness.ts";

const REPO = "acme/access";
const CONNECTION_ENV = "ORDERS_PROD_DATABASE_URL";
const POLICY = `databases:
  orders-prod:
    connection_env: ${CONNECTION_ENV}
    roles:
      orders_readonly:
        max_duration: 8h
        approvals: 1
        approvers: ["@acme/dba"]
        requesters: ["@acme/engineering"]
        require_ticket: true
identities:
  alice: alice
  bob: bob
`;
const request = (ticket: string) => `role: orders_readonly\nduration: 2h\nreason: Investigate ${ticket} duplicate orders\nticket: ${ticket}\n`;

let e2e: E2E;
let repo: RepoScenario;
let target: pg.Client;
let state: pg.Client;
let runnerTemp: string;
let targetUrl: string;
let checkStateUrl: string;
let runId = 1000;

beforeAll(async () => {
  e2e = await startE2E({ app: () => {} }); // no server: webhooks are acknowledged and ignored
  const su = await e2e.pg!.connect();
  await su.query("CREATE DATABASE orders");
  await su.query("CREATE DATABASE jit_check_state"); // the check job's throwaway service database
  await su.end();
  target = await e2e.pg!.connect("postgres", "orders");
  const major = Math.floor(Number((await target.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v) / 10000);
  await target.query("CREATE TABLE public.orders (id int PRIMARY KEY)");
  for (const s of grantableRoleSql("orders_readonly")) await target.query(s);
  for (const s of appRoleSql(major, APP, ["orders_readonly"])) await target.query(s);
  await target.query("CREATE ROLE alice LOGIN");
  await target.query("CREATE ROLE bob LOGIN");
  targetUrl = `postgresql://${APP}@127.0.0.1:${e2e.pg!.port}/orders`;
  checkStateUrl = e2e.pg!.superuserUrl("jit_check_state");
  state = await e2e.pg!.connect("postgres", "jit_state");
  const pool = createPool({ connectionString: e2e.databaseUrl! });
  await migrate(pool); // the operator's state database exists before the first workflow run
  await pool.end();
  runnerTemp = mkdtempSync(join(tmpdir(), "jit-runner-"));

  e2e.sim.createOrg("acme", ["alice", "bob", "dora"]);
  e2e.sim.createTeam("acme", "dba", { members: ["dora"] });
  e2e.sim.createTeam("acme", "engineering", { members: ["alice", "bob"] });
  repo = await e2e.sim.createRepo({
    owner: "acme", name: "access",
    files: { "policies/orders.yaml": POLICY, ".github/CODEOWNERS": "* @acme/dba\n/access-requests/ @acme/dba\n", "README.md": "access\n" },
    collaborators: { alice: "write", bob: "write" }, teams: { dba: "write", engineering: "write" },
  });
}, 120_000);

afterAll(async () => {
  await target?.end();
  await state?.end();
  await e2e?.stop();
  if (runnerTemp) rmSync(runnerTemp, { recursive: true, force: true });
});

type Job = "check" | "grant" | "sweep";

/** The variables a runner sets, plus the job's secrets; the event's JSON in a file under RUNNER_TEMP. */
function runnerEnv(event: string, payload: Record<string, unknown>, secrets: Record<string, string>, o: { runId?: number; ref?: string } = {}): NodeJS.ProcessEnv {
  const id = o.runId ?? ++runId;
  const { installation: _dropped, ...fromActions } = payload; // Actions' event files carry no installation
  const path = join(runnerTemp, `event-${id}-${event}.json`);
  writeFileSync(path, JSON.stringify(fromActions));
  return {
    GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: event, GITHUB_EVENT_PATH: path, GITHUB_REPOSITORY: REPO, GITHUB_RUN_ID: String(id), GITHUB_RUN_ATTEMPT: "1",
    GITHUB_SHA: String((payload.after as string | undefined) ?? "0".repeat(40)), GITHUB_REF: o.ref ?? "refs/heads/main", RUNNER_TEMP: runnerTemp,
    APP_ID: String(e2e.sim.app.id), PRIVATE_KEY: e2e.sim.app.privateKey, GITHUB_API_URL: e2e.sim.baseUrl, LOG_LEVEL: "warn",
    ...secrets,
  };
}

/** The check job's secrets: the App's key only; its state database is a throwaway one, no target. */
const checkSecrets = () => ({ DATABASE_URL: checkStateUrl });
/** The database environment's secrets (grant and sweep). */
const databaseSecrets = () => ({ DATABASE_URL: e2e.databaseUrl!, [CONNECTION_ENV]: targetUrl });

async function job(name: Job, env: NodeJS.ProcessEnv) {
  const io = captureIo(env, runnerTemp);
  const code = await main(["actions", name], io);
  await e2e.sim.waitForIdle();
  return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}

function lastDelivery(event: string, action: string | undefined, pr?: number): Record<string, unknown> {
  const d = e2e.sim.findDeliveries({ event, ...(action ? { action } : {}) })
    .filter((x) => pr === undefined || (x.payload as { pull_request?: { number?: number } }).pull_request?.number === pr).at(-1);
  if (!d) throw new Error(`no ${event}.${action ?? ""} delivery`);
  return structuredClone(d.payload);
}

async function appGranted(): Promise<string[]> {
  const { rows } = await target.query<{ member: string }>(`SELECT m.rolname AS member FROM pg_auth_members am JOIN pg_roles m ON m.oid = am.member
    WHERE am.grantor = $1::regrole ORDER BY 1`, [APP]);
  return rows.map((r) => r.member);
}

async function ledger(requestId: string) {
  return (await state.query<{ status: string; pr_number: number }>("SELECT status, pr_number FROM ledger WHERE request_id = $1", [requestId])).rows;
}

async function jitChecks(headSha: string) {
  return (await repo.checkRuns(headSha)).filter((r) => r.name === "jit-access") as { conclusion: string | null; app: { id: number }; output: { title: string } }[];
}

const pushOf = (mergeSha: string) => {
  const d = e2e.sim.findDeliveries({ event: "push" }).filter((x) => (x.payload as { after?: string }).after === mergeSha).at(-1);
  if (!d) throw new Error(`no push delivery for ${mergeSha}`);
  return structuredClone(d.payload);
};

describe("actions mode: check, grant and sweep jobs", () => {
  let pr: { number: number; headSha: string };
  let mergeSha: string;

  it("check (pull_request_target): the App's jit-access check run, with no database secret in the job", async () => {
    pr = await repo.openPullRequest("alice", "req/alice-inc-1", { "access-requests/orders-prod/alice-inc-1.yaml": request("INC-1") });
    await e2e.sim.waitForIdle();
    const r = await job("check", runnerEnv("pull_request_target", lastDelivery("pull_request", "opened", pr.number), checkSecrets()));
    expect(r, r.err).toMatchObject({ code: 0 });
    const runs = await jitChecks(pr.headSha);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.app.id).toBe(e2e.sim.app.id); // the App's identity, not the workflow token's
    expect(runs[0]!.conclusion, JSON.stringify(runs[0]!.output)).toBe("action_required"); // waiting for an approval
    // Nothing about the target: no connection variable in that job, so no plan and no grant.
    expect(await appGranted()).toEqual([]);
    expect(await ledger("alice-inc-1")).toEqual([]);
    const throwaway = await e2e.pg!.connect("postgres", "jit_check_state");
    try {
      expect((await throwaway.query("SELECT count(*)::int AS n FROM ledger")).rows).toEqual([{ n: 0 }]);
    } finally {
      await throwaway.end();
    }
  });

  it("check (workflow_run after a review): the approval turns the check green", async () => {
    await repo.review("dora", pr.number, "APPROVE");
    await e2e.sim.waitForIdle();
    const workflowRun = { action: "completed", workflow_run: { id: 77, name: "jit-review", event: "pull_request_review", head_sha: pr.headSha, pull_requests: [{ number: pr.number }] } };
    const r = await job("check", runnerEnv("workflow_run", workflowRun, checkSecrets()));
    expect(r, r.err).toMatchObject({ code: 0 });
    expect((await jitChecks(pr.headSha)).at(-1)!.conclusion).toBe("success");
  });

  it("a check job never grants, even for a merged pull request's event, and refuses events it does not handle", async () => {
    const closed = { ...lastDelivery("pull_request", "opened", pr.number), action: "closed" };
    const r = await job("check", runnerEnv("pull_request_target", closed, checkSecrets()));
    expect(r.code).toBe(0);
    expect(r.out).toContain("nothing to check");
    const push = await job("check", runnerEnv("push", { ref: "refs/heads/main", after: "1".repeat(40) }, checkSecrets()));
    expect(push.code).toBe(2);
    expect(push.err).toContain("JIT_ACTIONS_EVENT");
    expect(await appGranted()).toEqual([]);
  });

  it("grant (push to the default branch): re-verifies the merged PR from API reads and grants; a re-run and a second run change nothing", async () => {
    mergeSha = await repo.merge(pr.number, { method: "squash" });
    await e2e.sim.waitForIdle();
    const env = runnerEnv("push", pushOf(mergeSha), databaseSecrets());
    const r = await job("grant", env);
    expect(r, r.err).toMatchObject({ code: 0 });
    expect(await appGranted()).toEqual(["alice"]);
    expect(await ledger("alice-inc-1")).toEqual([{ status: "active", pr_number: pr.number }]);
    // Re-run of the same run (same GITHUB_RUN_ID), then another run of the same push.
    expect((await job("grant", { ...env })).code).toBe(0);
    expect((await job("grant", runnerEnv("push", pushOf(mergeSha), databaseSecrets()))).code).toBe(0);
    expect(await appGranted()).toEqual(["alice"]);
    expect(await ledger("alice-inc-1")).toHaveLength(1);
    const granted = repo.comments(pr.number).filter((c) => String(c.body).includes("granted"));
    expect(granted).toHaveLength(1);
    expect((granted[0]!.user as { login: string }).login).toBe(e2e.sim.app.botLogin);
  });

  it("I1: an admin merge without approval, run through the grant job, grants nothing", async () => {
    const p = await repo.openPullRequest("bob", "req/bob-inc-2", { "access-requests/orders-prod/bob-inc-2.yaml": request("INC-2") });
    await e2e.sim.waitForIdle();
    const sha = await repo.merge(p.number, { method: "squash", asAdminBypass: true });
    await e2e.sim.waitForIdle();
    const r = await job("grant", runnerEnv("push", pushOf(sha), databaseSecrets()));
    expect(r.code).toBe(0);
    expect(await appGranted()).toEqual(["alice"]);
    expect((await ledger("bob-inc-2")).filter((l) => l.status === "active" || l.status === "intent")).toEqual([]);
    expect(repo.comments(p.number).some((c) => String(c.body).startsWith("❌ **jit-access**: nothing was granted"))).toBe(true);
  });

  it("fails closed: an unreachable state database exits 1 and grants nothing", async () => {
    const p = await repo.openPullRequest("bob", "req/bob-inc-3", { "access-requests/orders-prod/bob-inc-3.yaml": request("INC-3") });
    await e2e.sim.waitForIdle();
    await repo.review("dora", p.number, "APPROVE");
    const sha = await repo.merge(p.number, { method: "squash" });
    await e2e.sim.waitForIdle();
    const r = await job("grant", runnerEnv("push", pushOf(sha), { ...databaseSecrets(), DATABASE_URL: "postgresql://nobody@127.0.0.1:1/none" }));
    expect(r.code).toBe(1);
    expect(r.err).toContain("JIT_DB_UNREACHABLE");
    expect(await appGranted()).toEqual(["alice"]);
    expect(await ledger("bob-inc-3")).toEqual([]);
    // The target's connection variable missing from the environment: refused as transient, exit 1, nothing granted.
    const { [CONNECTION_ENV]: _target, ...noTarget } = databaseSecrets();
    const r2 = await job("grant", runnerEnv("push", pushOf(sha), noTarget));
    expect(r2.code).toBe(1);
    expect(r2.out).toMatch(/JIT_MERGE_RECOVERED acme\/access#\d+: refused \(JIT_CONFIG_MISSING_ENV\)/);
    expect(await appGranted()).toEqual(["alice"]);
    expect((await ledger("bob-inc-3")).filter((l) => l.status === "active" || l.status === "intent")).toEqual([]);
  });

  it("sweep (schedule): recovers the merge whose grant run failed (I17), revokes what is due and opens the revert PR", async () => {
    await state.query("UPDATE ledger SET expires_at = now() - interval '1 second' WHERE request_id = 'alice-inc-1'");
    const r = await job("sweep", runnerEnv("schedule", { schedule: "7,22,37,52 * * * *" }, databaseSecrets()));
    expect(r, r.err).toMatchObject({ code: 0 });
    expect(r.out).toMatch(/revoked orders-prod\/alice-inc-1/);
    expect(r.out).toMatch(/JIT_MERGE_RECOVERED acme\/access#\d+: granted/);
    expect(await appGranted()).toEqual(["bob"]);
    expect(await ledger("alice-inc-1")).toEqual([expect.objectContaining({ status: "revoked" })]);
    expect(await ledger("bob-inc-3")).toEqual([expect.objectContaining({ status: "active" })]);
    const reverts = repo.pulls().filter((p) => p.headRef.startsWith("jit/expire/orders-prod/alice-inc-1-"));
    expect(reverts).toEqual([expect.objectContaining({ merged: true, user: e2e.sim.app.botLogin })]);
    expect(await repo.fileAt(repo.defaultBranch, "access-requests/orders-prod/alice-inc-1.yaml")).toBeNull();
  });

  it("configuration errors exit 2: no event file, no App key, a sweep started by a push", async () => {
    const noEvent = await job("sweep", { ...runnerEnv("schedule", {}, databaseSecrets()), GITHUB_EVENT_PATH: join(runnerTemp, "missing.json") });
    expect(noEvent.code).toBe(2);
    const { PRIVATE_KEY: _k, ...noKey } = runnerEnv("schedule", {}, databaseSecrets());
    expect((await job("sweep", noKey)).code).toBe(2);
    const wrong = await job("sweep", runnerEnv("push", { ref: "refs/heads/main" }, databaseSecrets()));
    expect(wrong.code).toBe(2);
    expect(wrong.err).toContain("JIT_ACTIONS_EVENT");
    // I10: an event file naming another repository than the run's is refused before anything runs.
    const other = { ...lastDelivery("pull_request", "opened"), repository: { full_name: "acme/elsewhere" } };
    const mismatch = await job("check", runnerEnv("pull_request_target", other, checkSecrets()));
    expect(mismatch.code).toBe(2);
    expect(mismatch.err).toContain("another repository");
  });
});
