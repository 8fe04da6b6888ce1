// Benchmark (not a test): the GitHub App with every GitHub API call taking LATENCY ms (the
// simulator's setLatency), on a real PostgreSQL. For each scenario it reports the sequential round
// trips (the longest chain of calls each started after the previous one was answered:
// test/sim/faults.ts roundTrips), the wall time and the API calls the app made:
//   (a) check: `pull_request.opened` sent → check run completed (checks/update answered)
//   (b) merge: `pull_request.closed` sent → GRANT committed (ledger granted_at)
//   (c) review: `pull_request_review.submitted` sent → its re-evaluation done (all its calls)
// Each measured delivery is a real webhook, signed and POSTed to the app, with the simulator's own
// copy dropped. Goals (issue 11): check ≤ 3 round trips and ≤ 400 ms, merge → GRANT ≤ 4 and
// ≤ 500 ms, review re-evaluation ≤ 6 API calls (12 before, 7 now: docs/performance.md says why 7
// is the floor without caching memberships). Exits 1 when a goal is missed.
// Usage: npm run bench:latency -- [samples]   (LATENCY_MS=100 by default)
import type { RequestLogEntry } from "../test/sim/faults.ts";
import { roundTrips } from "../test/sim/faults.ts";
import type { Delivery } from "../test/sim/webhooks.ts";
import { POLICY_YAML, requestPath, requestYaml, startJitE2E, type JitE2E } from "../test/e2e/app-fixture.ts";

const LATENCY = Number(process.env.LATENCY_MS ?? 100);
const SAMPLES = Number(process.argv[2] ?? 10);
const WARMUP = 2;
const GOALS = { check: { trips: 3, ms: 400 }, merge: { trips: 4, ms: 500 }, reviewCalls: 6 };

const users = Array.from({ length: 3 * (WARMUP + SAMPLES) + 5 }, (_, i) => `u${i}`);
const policy = `${POLICY_YAML}${users.map((u) => `  ${u}: ${u}`).join("\n")}\n`;

interface Sample { trips: number; ms: number; appMs: number; calls: number; reads: number; routes: string[] }

/** Time in [from, to] with no API call in flight: the app's own work (queue, database, CPU). */
function appTime(calls: readonly RequestLogEntry[], from: number, to: number): number {
  const spans = calls.map((c) => [Math.max(c.startedAt, from), Math.min(c.at, to)] as const).filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  let busy = 0;
  let end = -Infinity;
  for (const [a, b] of spans) {
    if (b <= end) continue;
    busy += b - Math.max(a, end);
    end = b;
  }
  return to - from - busy;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

async function setup(): Promise<JitE2E> {
  const w = await startJitE2E({ logLevel: "warn", files: { "policies/orders.yaml": policy }, sim: { rateLimit: 1_000_000 } });
  for (const u of users) {
    w.e2e.sim.addTeamMember("acme", "engineering", u);
    await w.su.query(`CREATE ROLE ${u} LOGIN`);
  }
  return w;
}

/** Sends the dropped delivery with every API call slowed down; returns it and the app's calls. */
async function sendSlow(w: JitE2E, event: string, payload: Record<string, unknown>): Promise<{ d: Delivery; calls: RequestLogEntry[] }> {
  const { sim } = w.e2e;
  await w.idle();
  sim.clearRequestLog();
  sim.setLatency(LATENCY);
  try {
    const d = await sim.sendSignedDelivery(event, payload, "valid");
    await w.idle();
    if (d.status === null || d.status >= 300) throw new Error(`bench: ${event} answered ${d.status}`);
    return { d, calls: sim.requests().filter((r) => r.actor === sim.app.botLogin) };
  } finally {
    sim.setLatency(0);
  }
}

function sample(d: Delivery, calls: RequestLogEntry[], until: number): Sample {
  const before = calls.filter((c) => c.startedAt < until);
  if (process.env.BENCH_TRACE) console.log(before.map((c) => `${(c.startedAt - d.sentAt!).toFixed(0)}..${(c.at - d.sentAt!).toFixed(0)} ${c.operationId}`).join("\n") + `\nend ${(until - d.sentAt!).toFixed(0)}\n`);
  return { trips: roundTrips(before), ms: until - d.sentAt!, appMs: appTime(before, d.sentAt!, until), calls: before.length, reads: before.filter((c) => c.method === "GET").length, routes: before.map((c) => c.operationId ?? c.route) };
}

async function check(w: JitE2E, user: string, id: string): Promise<Sample> {
  const { sim } = w.e2e;
  sim.dropNextDelivery({ event: "pull_request", action: "opened" });
  await w.repo.openPullRequest(user, `bench/${id}`, { [requestPath(id)]: requestYaml({ reason: `Bench ${id}` }) });
  await sim.waitForIdle();
  const opened = sim.findDeliveries({ event: "pull_request", action: "opened" }).at(-1)!;
  const { d, calls } = await sendSlow(w, "pull_request", opened.payload);
  const done = calls.find((r) => r.operationId === "checks/update" && r.status === 200);
  if (!done) throw new Error("bench: no completed check run");
  return sample(d, calls, done.at);
}

async function merge(w: JitE2E, user: string, id: string): Promise<Sample> {
  const { sim } = w.e2e;
  const { number } = await w.request(user, id, requestYaml({ reason: `Bench ${id}` }));
  await w.repo.review("dora", number, "APPROVE");
  await w.idle();
  sim.dropNextDelivery({ event: "pull_request", action: "closed" });
  sim.dropNextDelivery({ event: "push" });
  await w.repo.merge(number);
  await sim.waitForIdle();
  const closed = sim.findDeliveries({ event: "pull_request", action: "closed" }).at(-1)!;
  const { d, calls } = await sendSlow(w, "pull_request", closed.payload);
  const { rows } = await w.stateSu.query<{ at: string; status: string }>(
    "SELECT extract(epoch FROM granted_at) * 1000 AS at, status FROM ledger WHERE request_id = $1", [id]);
  if (rows[0]?.status !== "active") throw new Error(`bench: ${id} was not granted (${rows[0]?.status ?? "no ledger row"})`);
  return sample(d, calls, Number(rows[0].at));
}

async function review(w: JitE2E, user: string, id: string): Promise<Sample> {
  const { sim } = w.e2e;
  const { number } = await w.request(user, id, requestYaml({ reason: `Bench ${id}` }));
  await w.idle();
  sim.dropNextDelivery({ event: "pull_request_review" });
  await w.repo.review("dora", number, "APPROVE");
  await sim.waitForIdle();
  const submitted = sim.findDeliveries({ event: "pull_request_review" }).at(-1)!;
  const { d, calls } = await sendSlow(w, "pull_request_review", submitted.payload);
  return sample(d, calls, Math.max(...calls.map((c) => c.at)));
}

async function main(): Promise<void> {
  const w = await setup();
  let failed = false;
  try {
    let next = 0;
    const user = () => users[next++]!;
    const run = async (name: string, f: (w: JitE2E, user: string, id: string) => Promise<Sample>) => {
      for (let i = 0; i < WARMUP; i++) await f(w, user(), `warm-${name}-${i}`);
      const out: Sample[] = [];
      for (let i = 0; i < SAMPLES; i++) out.push(await f(w, user(), `${name}-${i}`));
      return out;
    };
    const results = { check: await run("check", check), merge: await run("merge", merge), review: await run("review", review) };
    console.log(`jit-access latency benchmark: every GitHub API call takes ${LATENCY} ms; n=${SAMPLES} per scenario, node ${process.version}, PostgreSQL ${w.major}`);
    const line = (name: string, xs: Sample[]) => {
      const trips = xs.map((x) => x.trips);
      const ms = xs.map((x) => x.ms);
      const calls = xs.map((x) => x.calls);
      const reads = xs.map((x) => x.reads);
      const ideal = xs.map((x) => x.appMs + x.trips * LATENCY);
      console.log(`${name.padEnd(34)} round trips median ${median(trips)} (max ${Math.max(...trips)}), wall median ${median(ms).toFixed(0)} ms (max ${Math.max(...ms).toFixed(0)} ms), API calls median ${median(calls)} (max ${Math.max(...calls)}), of them reads ${median(reads)}`);
      console.log(`${"".padEnd(34)} app's own time median ${median(xs.map((x) => x.appMs)).toFixed(0)} ms; wall if every call took exactly ${LATENCY} ms: median ${median(ideal).toFixed(0)} ms`);
      console.log(`${"".padEnd(34)} calls: ${xs.at(-1)!.routes.join(", ")}`);
    };
    line("(a) check: opened → check run done", results.check);
    line("(b) merge: closed → GRANT", results.merge);
    line("(c) review → re-evaluation done", results.review);
    const goal = (ok: boolean, what: string) => {
      console.log(`goal ${what}: ${ok ? "met" : "MISSED"}`);
      if (!ok) failed = true;
    };
    if (LATENCY === 100) {
      // Wall time as the goal means it: each call taking the injected 100 ms (the simulator's own
      // git work makes some take longer), plus the app's own time.
      const ideal = (xs: Sample[]) => median(xs.map((x) => x.appMs + x.trips * LATENCY));
      goal(median(results.check.map((x) => x.trips)) <= GOALS.check.trips && ideal(results.check) <= GOALS.check.ms, `check ≤ ${GOALS.check.trips} round trips, ≤ ${GOALS.check.ms} ms (median)`);
      goal(median(results.merge.map((x) => x.trips)) <= GOALS.merge.trips && ideal(results.merge) <= GOALS.merge.ms, `merge → GRANT ≤ ${GOALS.merge.trips} round trips, ≤ ${GOALS.merge.ms} ms (median)`);
      goal(Math.max(...results.review.map((x) => x.calls)) <= GOALS.reviewCalls, `review re-evaluation ≤ ${GOALS.reviewCalls} API calls`);
    }
  } finally {
    await w.stop();
  }
  process.exitCode = failed ? 1 : 0;
}

await main();
