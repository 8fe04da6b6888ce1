// The delivery pipeline (I17): the webhook request only verifies, stores and answers 202; workers
// on every replica run the stored deliveries with retries; dead letters are visible and retryable;
// merges whose delivery was lost are granted by the reconciler. GitHub is the simulator, the state
// and target databases are real PostgreSQL.
import { connect } from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureIo } from "../../src/cli/io.ts";
import { main as jit } from "../../src/cli/main.ts";
import { claimDelivery } from "../../src/db/deliveries.ts";
import { createPool } from "../../src/db/state.ts";
import { installedRepositories } from "../../src/github/installations.ts";
import { reconcileMerges } from "../../src/jobs/lost-merges.ts";
import { startPipeline } from "../../src/queue/pipeline.ts";
import { readHealth } from "../../src/scheduler/health.ts";
import { BASE_FILES, OWNER, POLICY_YAML, requestYaml, startJitE2E, TEST_QUEUE_CONFIG, type JitE2E } from "./app-fixture.ts";

/** One requester per test: a membership granted in one test would make the next one's grant JIT_ALREADY_HAS_ACCESS. */
const USERS = ["erin", "frank", "gina", "hank", "ivan", "judy", "kate", "liam"] as const;

let w: JitE2E;
const pools: pg.Pool[] = [];

beforeAll(async () => {
  w = await startJitE2E({
    replicas: 2,
    files: { ...BASE_FILES, "policies/orders.yaml": POLICY_YAML.replace("identities:\n", `identities:\n${USERS.map((u) => `  ${u}: ${u}\n`).join("")}`) },
  });
  for (const u of USERS) {
    await w.su.query(`CREATE ROLE ${u} LOGIN`);
    w.e2e.sim.addTeamMember(OWNER, "engineering", u);
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end().catch(() => {})));
  await w?.stop();
});

/** An approved request PR, ready to merge. */
async function approved(user: string, id: string): Promise<number> {
  const { number } = await w.request(user, id, requestYaml());
  await w.repo.review("dora", number, "APPROVE");
  await w.idle();
  return number;
}

async function grantEvents(id: string): Promise<string[]> {
  const { rows } = await w.stateSu.query<{ kind: string }>("SELECT kind FROM events WHERE request_id = $1 AND kind IN ('grant_intent', 'granted') ORDER BY id", [id]);
  return rows.map((r) => r.kind);
}

const grantComments = (pr: number) => w.comments(pr).filter((c) => c.body.startsWith("✅ **jit-access**: granted"));

async function grantedOnce(id: string, member: string, pr: number): Promise<void> {
  expect((await w.ledger(id)).map((r) => r.status)).toEqual(["active"]);
  expect(await grantEvents(id)).toEqual(["grant_intent", "granted"]);
  expect((await w.appGranted()).filter((m) => m.member === member).map((m) => m.role)).toEqual(["orders_readonly"]);
  expect(grantComments(pr)).toHaveLength(1);
}

async function deliveryRow(guid: string) {
  const { rows } = await w.stateSu.query<{ state: string; attempts: number; last_error: string | null }>(
    "SELECT state, attempts, last_error FROM deliveries WHERE delivery_id = $1", [guid]);
  return rows[0];
}

/** Sends raw bytes over a socket; resolves with the status line once the server answers (or closes). */
function rawPost(port: number, head: string, body: (write: (b: Buffer) => boolean, answered: () => boolean) => Promise<void>) {
  return new Promise<{ status: number | null; bodyBytesSent: number; answeredBeforeBody: boolean }>((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let response = "";
    let sent = 0;
    let answered = false;
    let answeredAt = -1;
    socket.on("data", (d) => {
      response += d.toString("latin1");
      if (!answered) {
        answered = true;
        answeredAt = sent;
        setImmediate(() => socket.destroy()); // read the status line, then give up like GitHub would
      }
    });
    const finish = () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(response);
      resolve({ status: m ? Number(m[1]) : null, bodyBytesSent: answeredAt === -1 ? sent : answeredAt, answeredBeforeBody: answeredAt === 0 });
    };
    socket.on("close", finish);
    socket.on("error", () => {}); // a reset after the answer is the server refusing to read on
    socket.on("connect", () => {
      socket.write(head);
      body((b) => {
        if (socket.destroyed) return false;
        sent += b.length;
        return socket.write(b);
      }, () => answered || socket.destroyed).then(() => {
        if (!answered) socket.end();
      }, reject);
    });
  });
}

function webhookHead(extra: string): string {
  const path = new URL(w.e2e.apps[0]!.webhookUrl).pathname;
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\nx-github-event: pull_request\r\n` +
    `x-github-delivery: 00000000-0000-0000-0000-00000000big1\r\nx-hub-signature-256: sha256=${"0".repeat(64)}\r\n${extra}\r\n`;
}

describe("I17: the webhook request verifies, stores and acknowledges; nothing else", () => {
  it("I17: a body declared over 25 MB is refused with 413 before one byte of it is sent", async () => {
    const port = Number(new URL(w.e2e.apps[0]!.url).port);
    const r = await rawPost(port, webhookHead("content-length: 30000000\r\n"), async (_write, answered) => {
      // Send nothing until the server has answered (bounded): the answer must come from the headers alone.
      for (let i = 0; i < 500 && !answered(); i++) await new Promise((res) => setTimeout(res, 10));
    });
    expect(r.status).toBe(413);
    expect(r.answeredBeforeBody).toBe(true);
    expect(await deliveryRow("00000000-0000-0000-0000-00000000big1")).toBeUndefined();
  });

  it("I17: a chunked body is cut off with 413 once it passes 25 MB, and the server stops reading", async () => {
    const port = Number(new URL(w.e2e.apps[1]!.url).port);
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    const framed = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]);
    const r = await rawPost(port, webhookHead("transfer-encoding: chunked\r\n"), async (write, answered) => {
      // Keep streaming (up to 200 MB) until the server answers; back-pressure waits are bounded.
      for (let i = 0; i < 200 && !answered(); i++) {
        if (!write(framed)) await new Promise((res) => setTimeout(res, 5));
      }
    });
    expect(r.status).toBe(413);
    expect(r.bodyBytesSent).toBeGreaterThan(25 * 1024 * 1024);
    // Refused within the cap plus what socket buffers hold, not after reading the 200 MB on offer.
    expect(r.bodyBytesSent).toBeLessThan(60 * 1024 * 1024);
    expect(await deliveryRow("00000000-0000-0000-0000-00000000big1")).toBeUndefined();
  });

  it("I17: the merge delivery is acknowledged while the GRANT waits on a lock; the grant happens after, once", async () => {
    const number = await approved("erin", "erin-blocked");
    const locker = await w.e2e.pg!.connect("postgres", "orders");
    try {
      // EXCLUSIVE lets the app read memberships but blocks the GRANT's write to pg_auth_members.
      await locker.query("BEGIN");
      await locker.query("LOCK TABLE pg_catalog.pg_auth_members IN EXCLUSIVE MODE");
      await w.repo.merge(number, { method: "squash" });
      let waiting = 0;
      for (let i = 0; i < 600 && waiting === 0; i++) {
        const { rows } = await w.su.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = 'orders' AND usename = 'jit_app' AND wait_event_type = 'Lock'");
        waiting = rows[0]!.n;
        if (!waiting) await new Promise((res) => setTimeout(res, 50));
      }
      expect(waiting).toBeGreaterThan(0); // a worker is inside the GRANT, blocked
      await w.e2e.sim.waitForIdle(); // every delivery so far has been answered…
      const closed = w.e2e.sim.findDeliveries({ event: "pull_request", action: "closed" }).at(-1)!;
      expect(closed.status).toBe(202);
      // …while nothing is granted yet: the answer did not wait for the GRANT.
      expect((await w.appGranted()).filter((m) => m.member === "erin")).toEqual([]);
      expect((await w.ledger("erin-blocked")).map((r) => r.status)).not.toContain("active");
      // and another delivery is acknowledged too while the worker still waits
      const again = await w.e2e.sim.sendSignedDelivery("pull_request", closed.payload, "valid");
      expect(again.status).toBe(202);
      await locker.query("COMMIT");
    } finally {
      await locker.query("ROLLBACK").catch(() => {});
      await locker.end();
    }
    await w.idle();
    await grantedOnce("erin-blocked", "erin", number);
  });
});

describe("I17: lost merges are recovered by the reconciler", () => {
  const pass = () => reconcileMerges({ deps: w.deps[0]!, repositories: installedRepositories(w.e2e.apps[0]!.probot), lookbackMs: 3_600_000 });

  it("I17: a merge whose closed and push deliveries were both lost is granted by the reconciler, once", async () => {
    const number = await approved("frank", "frank-lost");
    w.e2e.sim.dropNextDelivery({ event: "pull_request", action: "closed" });
    w.e2e.sim.dropNextDelivery({ event: "push" });
    await w.repo.merge(number, { method: "squash" });
    await w.idle();
    await w.nothingGranted("frank-lost", "frank");
    const first = await pass();
    expect(first.recovered).toEqual([{ repository: "acme/access", number, kind: "granted" }]);
    expect(first.failed).toEqual([]);
    await grantedOnce("frank-lost", "frank", number);
    const second = await pass();
    expect(second.recovered).toEqual([]);
    expect(second.examined).toBe(0);
    await grantedOnce("frank-lost", "frank", number);
  });

  it("I17: the reconciler re-verifies like the webhook path: an unapproved request merged past protection with its deliveries lost grants nothing", async () => {
    const { number } = await w.request("gina", "gina-lost-unapproved", requestYaml());
    w.e2e.sim.dropNextDelivery({ event: "pull_request", action: "closed" });
    w.e2e.sim.dropNextDelivery({ event: "push" });
    await w.repo.merge(number, { asAdminBypass: true, method: "merge" });
    await w.idle();
    const report = await pass();
    expect(report.recovered).toEqual([{ repository: "acme/access", number, kind: "refused", code: "JIT_APPROVALS_MISSING" }]);
    await w.nothingGranted("gina-lost-unapproved", "gina");
    expect(w.comments(number).filter((c) => c.body.startsWith("❌ **jit-access**: nothing was granted"))).toHaveLength(1);
    expect((await pass()).recovered).toEqual([]);
  });
});

describe("I17: `jit reconcile --merges`", () => {
  it("I17: the command runs the same pass: a lost merge is granted once, a second run finds nothing", async () => {
    const number = await approved("liam", "liam-cli");
    w.e2e.sim.dropNextDelivery({ event: "pull_request", action: "closed" });
    w.e2e.sim.dropNextDelivery({ event: "push" });
    await w.repo.merge(number, { method: "squash" });
    await w.idle();
    await w.nothingGranted("liam-cli", "liam");
    const env = { ...w.appEnv };
    const first = captureIo(env);
    expect(await jit(["reconcile", "--merges"], first)).toBe(0);
    expect(first.stdout).toEqual([`JIT_MERGE_RECOVERED acme/access#${number}: granted`]);
    await grantedOnce("liam-cli", "liam", number);
    const second = captureIo(env);
    expect(await jit(["reconcile", "--merges"], second)).toBe(0);
    expect(second.stdout).toEqual(["no lost merges in 1 repositories"]);
    const noApp = captureIo({ DATABASE_URL: w.e2e.databaseUrl! });
    expect(await jit(["reconcile", "--merges"], noApp)).toBe(2);
    expect(noApp.stderr.join("\n")).toContain("JIT_CONFIG_MISSING_ENV");
  });
});

describe("I17: a job that keeps failing becomes a dead letter", () => {
  it("I17: dead letter → /health degraded with counts, one jit-alert issue, `jit deliveries list` shows it and `retry` grants once", async () => {
    const number = await approved("hank", "hank-dead");
    w.e2e.sim.dropNextDelivery({ event: "push" });
    const fault = w.e2e.sim.injectFault({ route: "pulls/get", status: 502, count: Infinity });
    await w.repo.merge(number, { method: "squash" });
    await w.idle({ allowRetries: true });
    const closed = w.e2e.sim.findDeliveries({ event: "pull_request", action: "closed" }).at(-1)!;
    expect(await deliveryRow(closed.guid)).toMatchObject({ state: "dead", attempts: TEST_QUEUE_CONFIG.maxAttempts });
    await w.nothingGranted("hank-dead", "hank");

    const health = await readHealth(w.stateSu, { staleAfterMs: 3_600_000, overdueAfterMs: 60_000 });
    expect(health.status).toBe("degraded");
    expect(health.problems.map((p) => p.code)).toContain("JIT_DELIVERY_DEAD");
    expect(health.queue.dead).toBeGreaterThanOrEqual(1);
    expect(health.queue.depth).toBe(0);
    const alerts = w.alerts().filter((a) => a.title.includes(closed.guid));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.body).toContain(`jit deliveries retry ${closed.guid}`);

    const env = { DATABASE_URL: w.e2e.databaseUrl! };
    const list = captureIo(env);
    expect(await jit(["deliveries", "list"], list)).toBe(0);
    expect(list.stdout.some((l) => l.startsWith(closed.guid) && l.includes("dead") && l.includes("pull_request.closed"))).toBe(true);

    fault.clear();
    const retry = captureIo(env);
    expect(await jit(["deliveries", "retry", closed.guid], retry)).toBe(0);
    await w.idle();
    expect(await deliveryRow(closed.guid)).toMatchObject({ state: "done", attempts: 1 });
    await grantedOnce("hank-dead", "hank", number);
    expect(await jit(["deliveries", "retry", closed.guid], captureIo(env))).toBe(1); // done: nothing to retry
    // the alert was filed once, however many attempts failed
    expect(w.alerts().filter((a) => a.title.includes(closed.guid))).toHaveLength(1);
  });
});

describe("I17: jobs are retried, shared and survive restarts", () => {
  it("I17: a merge job that meets a GitHub 5xx is retried and grants once", async () => {
    const number = await approved("ivan", "ivan-5xx");
    w.e2e.sim.dropNextDelivery({ event: "push" }); // only the closed delivery handles this merge
    const fault = w.e2e.sim.injectFault({ route: "pulls/get", status: 502, count: 1 });
    await w.repo.merge(number, { method: "squash" });
    await w.idle({ allowRetries: true });
    expect(fault.hits).toBe(1);
    const closed = w.e2e.sim.findDeliveries({ event: "pull_request", action: "closed" }).at(-1)!;
    expect(await deliveryRow(closed.guid)).toMatchObject({ state: "done", attempts: 2, last_error: null });
    await grantedOnce("ivan-5xx", "ivan", number);
  });

  it("I17: two replicas share one queue: the closed delivery sent to both at once grants once", async () => {
    const number = await approved("judy", "judy-replicas");
    w.e2e.sim.dropNextDelivery({ event: "pull_request", action: "closed" });
    w.e2e.sim.dropNextDelivery({ event: "push" });
    await w.repo.merge(number, { method: "squash" });
    await w.idle();
    expect(await w.ledger("judy-replicas")).toEqual([]);
    const closed = w.e2e.sim.findDeliveries({ event: "pull_request", action: "closed" }).at(-1)!;
    // the same delivery id to both replicas at once, and a second copy under a new id to each
    const sent = await Promise.all([
      ...w.e2e.apps.map((a) => w.e2e.sim.sendSignedDelivery("pull_request", closed.payload, "valid", a.webhookUrl)),
      ...w.e2e.apps.map((a) => w.e2e.sim.sendSignedDelivery("pull_request", closed.payload, "valid", a.webhookUrl)),
    ]);
    expect(sent.map((d) => d.status)).toEqual([202, 202, 202, 202]);
    await w.idle();
    await grantedOnce("judy-replicas", "judy", number);
    const { rows } = await w.stateSu.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM deliveries WHERE delivery_id = ANY($1) AND state = 'done' AND attempts = 1", [sent.map((d) => d.guid)]);
    expect(rows[0]!.n).toBe(4);
  });

  it("I17: a worker that dies between claim and finish: after restart the job runs again and grants once", async () => {
    const number = await approved("kate", "kate-restart");
    // Replica 0 and 1 stop working (their HTTP servers still acknowledge): nothing runs the jobs.
    await Promise.all(w.e2e.apps.map((a) => a.stopWorker()));
    w.e2e.sim.dropNextDelivery({ event: "push" });
    await w.repo.merge(number, { method: "squash" });
    await w.e2e.sim.waitForIdle();
    const closed = w.e2e.sim.findDeliveries({ event: "pull_request", action: "closed" }).at(-1)!;
    expect(closed.status).toBe(202);
    // A worker claims it and dies: the claim is committed, the job never finishes.
    const crashed = await claimDelivery(w.stateSu, "crashed-worker", 1500);
    expect(crashed?.id).toBe(closed.guid);
    expect(await deliveryRow(closed.guid)).toMatchObject({ state: "running", attempts: 1 });
    // "Restart": a fresh worker on the same state database, with the app's handlers.
    const state = createPool({ connectionString: w.e2e.databaseUrl!, max: 5 });
    pools.push(state);
    const restarted = await startPipeline({ probot: w.e2e.apps[0]!.probot, state, secret: w.appEnv.WEBHOOK_SECRET!, log: w.deps[0]!.log, config: TEST_QUEUE_CONFIG });
    try {
      await restarted.drain(30_000);
    } finally {
      await restarted.stop();
    }
    expect(await deliveryRow(closed.guid)).toMatchObject({ state: "done", attempts: 2 });
    expect((await w.appGranted()).filter((m) => m.member === "kate").map((m) => m.role)).toEqual(["orders_readonly"]);
    expect(await grantEvents("kate-restart")).toEqual(["grant_intent", "granted"]);
    expect(grantComments(number)).toHaveLength(1);
  });
});
