// Benchmark (not a test): the GitHub App end to end, on the simulator at zero latency and a real
// PostgreSQL (test/harness/postgres.ts; JIT_TEST_PG_MAJOR picks 15 or 17).
//   check: webhook sent → check run completed (the simulator logs the checks/update answer)
//   merge: `pull_request.closed` sent → GRANT committed (ledger granted_at, set right after the
//          verified GRANT, in the grant's transaction)
//   API calls per evaluation, from the simulator's request log, on a repository of 10 files and
//   one of 2 000 files: the count must not grow with the repository.
// Each measured delivery is a real webhook, signed and POSTed to the app; the simulator's own copy
// is dropped first so the app sees it once, at a moment we time.
// Goals: check p99 < 150 ms, merge → GRANT p99 < 250 ms. Exits 1 when a goal is missed.
import { performance } from "node:perf_hooks";
import type { Delivery } from "../test/sim/webhooks.ts";
import type { RepoScenario } from "../test/sim/index.ts";
import { POLICY_YAML, requestPath, requestYaml, startJitE2E, type JitE2E } from "../test/e2e/app-fixture.ts";

const CHECKS = Number(process.env.BENCH_CHECKS ?? 100);
const MERGES = Number(process.env.BENCH_MERGES ?? 100);
const WARMUP = 5;
const SIZES = [10, 2000] as const;
const GOAL_CHECK_P99 = 150;
const GOAL_MERGE_P99 = 250;
const WRITES = new Set(["checks/create", "checks/update", "issues/create-comment", "issues/update-comment"]);

const users = Array.from({ length: WARMUP + CHECKS + MERGES + 20 }, (_, i) => `u${i}`);
const policy = `${POLICY_YAML}${users.map((u) => `  ${u}: ${u}`).join("\n")}\n`;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}
const fmt = (x: number) => `${x.toFixed(1)} ms`;

async function setup(): Promise<JitE2E> {
  // Hundreds of evaluations in a few seconds: lift the simulator's 5 000/hour rate limit.
  const w = await startJitE2E({ logLevel: "info", files: { "policies/orders.yaml": policy }, sim: { rateLimit: 1_000_000 } });
  for (const u of users) {
    w.e2e.sim.addTeamMember("acme", "engineering", u);
    await w.su.query(`CREATE ROLE ${u} LOGIN`);
  }
  return w;
}

/** Opens a request PR with the app's copy of `pull_request.opened` dropped; returns that payload. */
async function openSilently(w: JitE2E, repo: RepoScenario, user: string, id: string): Promise<{ number: number; payload: Record<string, unknown> }> {
  w.e2e.sim.dropNextDelivery({ event: "pull_request", action: "opened" });
  const { number } = await repo.openPullRequest(user, `bench/${id}`, { [requestPath(id)]: requestYaml({ reason: `Bench ${id}` }) });
  await w.e2e.sim.waitForIdle();
  const d = w.e2e.sim.findDeliveries({ event: "pull_request", action: "opened" }).at(-1)!;
  if (!d.dropped || (d.payload.pull_request as { number: number }).number !== number) throw new Error("bench: expected the dropped opened delivery");
  return { number, payload: d.payload };
}

async function send(w: JitE2E, event: string, payload: Record<string, unknown>): Promise<Delivery> {
  const d = await w.e2e.sim.sendSignedDelivery(event, payload, "valid");
  // The delivery is acknowledged (202) and then run from the queue: wait for its job too.
  await w.idle();
  if (d.status !== 200 && d.status !== 202) throw new Error(`bench: ${event} answered ${d.status}: ${d.responseBody}`);
  return d;
}

/** When the app's last API call of the job was answered (its comment, after the check or GRANT). */
const lastCall = (calls: readonly { at: number }[]) => Math.max(...calls.map((c) => c.at));

interface CheckSample { latency: number; appSide: number; handler: number; reads: number; calls: number; readsByRoute: Record<string, number> }

/**
 * Time inside [from, to] during which the app was waiting on at least one simulator request (the
 * union of their intervals): the simulator's own work (git processes), not the app's.
 */
function simulatorTime(entries: readonly { startedAt: number; at: number }[], from: number, to: number): number {
  const spans = entries.map((e) => [Math.max(e.startedAt, from), Math.min(e.at, to)] as const).filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  let total = 0;
  let end = -Infinity;
  for (const [a, b] of spans) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total;
}

async function measureCheck(w: JitE2E, repo: RepoScenario, user: string, id: string): Promise<CheckSample> {
  const { payload } = await openSilently(w, repo, user, id);
  w.e2e.sim.clearRequestLog();
  const d = await send(w, "pull_request", payload);
  const bot = w.e2e.sim.app.botLogin;
  const mine = w.e2e.sim.requests().filter((r) => r.actor === bot);
  const done = mine.find((r) => r.operationId === "checks/update" && r.status === 200);
  if (!done) throw new Error("bench: no completed check run");
  const reads = mine.filter((r) => !WRITES.has(r.operationId ?? ""));
  const readsByRoute: Record<string, number> = {};
  for (const r of reads) readsByRoute[r.operationId ?? r.route] = (readsByRoute[r.operationId ?? r.route] ?? 0) + 1;
  const latency = done.at - d.sentAt!;
  return { latency, appSide: latency - simulatorTime(mine, d.sentAt!, done.at), handler: lastCall(mine) - d.sentAt!, reads: reads.length, calls: mine.length, readsByRoute };
}

async function measureMerge(w: JitE2E, user: string, id: string): Promise<{ latency: number; appSide: number; handler: number }> {
  const { sim } = w.e2e;
  const { number } = await w.request(user, id, requestYaml({ reason: `Bench ${id}` }));
  await w.repo.review("dora", number, "APPROVE");
  await sim.waitForIdle();
  sim.dropNextDelivery({ event: "pull_request", action: "closed" });
  sim.dropNextDelivery({ event: "push" });
  await w.repo.merge(number);
  await sim.waitForIdle();
  const closed = sim.findDeliveries({ event: "pull_request", action: "closed" }).at(-1)!;
  if (!closed.dropped) throw new Error("bench: expected the dropped closed delivery");
  sim.clearRequestLog();
  const d = await send(w, "pull_request", closed.payload);
  const { rows } = await w.stateSu.query<{ at: string; status: string }>(
    "SELECT extract(epoch FROM granted_at) * 1000 AS at, status FROM ledger WHERE request_id = $1", [id]);
  if (rows[0]?.status !== "active") throw new Error(`bench: ${id} was not granted (${rows[0]?.status ?? "no ledger row"})`);
  const grantedAt = Number(rows[0].at);
  const mine = sim.requests().filter((r) => r.actor === sim.app.botLogin);
  const latency = grantedAt - d.sentAt!;
  return { latency, appSide: latency - simulatorTime(mine, d.sentAt!, grantedAt), handler: lastCall(mine) - d.sentAt! };
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const w = await setup();
  let failed = false;
  try {
    let next = 0;
    const user = () => users[next++]!;

    // check latency on the default repository
    for (let i = 0; i < WARMUP; i++) await measureCheck(w, w.repo, user(), `warm-check-${i}`);
    const checks: CheckSample[] = [];
    for (let i = 0; i < CHECKS; i++) checks.push(await measureCheck(w, w.repo, user(), `check-${i}`));

    // merge → GRANT
    for (let i = 0; i < WARMUP; i++) await measureMerge(w, user(), `warm-merge-${i}`);
    const merges: { latency: number; appSide: number; handler: number }[] = [];
    for (let i = 0; i < MERGES; i++) merges.push(await measureMerge(w, user(), `merge-${i}`));

    // API calls per evaluation against repository size
    const perSize: { size: number; files: number; reads: number[]; calls: number[]; byRoute: Record<string, number> }[] = [];
    for (const size of SIZES) {
      const extra: Record<string, string> = {};
      const half = Math.floor(size / 2);
      for (let i = 0; i < half; i++) extra[`docs/page-${i}.md`] = `# page ${i}\n`;
      for (let i = 0; i < size - half; i++) extra[`access-requests/orders-prod/old-${i}.yaml`] = requestYaml({ reason: `old ${i}` });
      const repo = await w.newRepo(`bench-${size}`, { files: { ...extra, "policies/orders.yaml": policy } });
      const files = (await repo.git.lsTree("main", { recursive: true })).filter((e) => e.type === "blob").length;
      const samples: CheckSample[] = [];
      for (let i = 0; i < 5; i++) samples.push(await measureCheck(w, repo, user(), `size-${size}-${i}`));
      perSize.push({ size, files, reads: samples.map((s) => s.reads), calls: samples.map((s) => s.calls), byRoute: samples.at(-1)!.readsByRoute });
    }

    const checkLat = checks.map((c) => c.appSide);
    const mergeLat = merges.map((m) => m.appSide);
    const line = (xs: number[]) => `p50 ${fmt(pct(xs, 50))}, p99 ${fmt(pct(xs, 99))}, max ${fmt(Math.max(...xs))}`;
    console.log(`jit-access app benchmark: simulator at zero latency, PostgreSQL ${w.major}, node ${process.version}`);
    console.log(`check: webhook sent → check run completed, n=${CHECKS}`);
    console.log(`  app-side (wall minus time waiting on the simulator): ${line(checkLat)}  (goal p99 < ${GOAL_CHECK_P99} ms)`);
    console.log(`  wall clock, simulator's git work included:          ${line(checks.map((c) => c.latency))}`);
    console.log(`  whole delivery incl. sticky comment (wall):          ${line(checks.map((c) => c.handler))}`);
    console.log(`merge: pull_request.closed sent → GRANT committed, n=${MERGES}`);
    console.log(`  app-side (wall minus time waiting on the simulator): ${line(mergeLat)}  (goal p99 < ${GOAL_MERGE_P99} ms)`);
    console.log(`  wall clock, simulator's git work included:          ${line(merges.map((m) => m.latency))}`);
    console.log(`  whole delivery incl. comment (wall):                 ${line(merges.map((m) => m.handler))}`);
    console.log(`API calls per check evaluation (reads; all calls incl. check run and comment writes):`);
    for (const s of perSize) console.log(`  repository of ${s.files} files: reads per evaluation ${s.reads.join("/")}, calls ${s.calls.join("/")}  last: ${JSON.stringify(s.byRoute)}`);
    // The first evaluation on a new repository reads with a cold cache of immutable reads (more
    // reads), the next ones warm: per sample position, the count must be the same at every size.
    const constant = perSize.every((s) => JSON.stringify(s.reads) === JSON.stringify(perSize[0]!.reads));
    console.log(`  constant in repository size: ${constant ? "yes" : "NO"}`);
    console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    if (pct(checkLat, 99) >= GOAL_CHECK_P99) { console.log("GOAL MISSED: check p99"); failed = true; }
    if (pct(mergeLat, 99) >= GOAL_MERGE_P99) { console.log("GOAL MISSED: merge → GRANT p99"); failed = true; }
    if (!constant) { console.log("GOAL MISSED: API calls per evaluation grow with the repository"); failed = true; }
  } finally {
    await w.stop();
  }
  process.exitCode = failed ? 1 : 0;
}

await main();
