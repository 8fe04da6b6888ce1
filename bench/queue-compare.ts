// Benchmark (not a test; not in `npm run bench`, it needs graphile-worker installed beside): the app's own delivery queue (src/db/deliveries.ts + src/queue/worker.ts)
// against graphile-worker on the same PostgreSQL (test/harness/postgres.ts), each in its own database.
//   enqueue: one INSERT + NOTIFY per job, one after another (what the webhook ack waits for)
//   pickup: enqueue → the handler starts, one job at a time on an idle worker (LISTEN/NOTIFY)
//   throughput: N no-op jobs queued first, then run with concurrency 4
// graphile-worker is not a dependency of the project: install it beside, e.g.
//   npm i --prefix /tmp/gw graphile-worker@0.18.0
//   GRAPHILE_WORKER=/tmp/gw/node_modules/graphile-worker/dist/index.js npm run bench:queue -- [jobs]
import { randomUUID } from "node:crypto";
import { enqueueDelivery } from "../src/db/deliveries.ts";
import { migrate } from "../src/db/migrations.ts";
import { createPool } from "../src/db/state.ts";
import { DEFAULT_QUEUE_CONFIG } from "../src/queue/config.ts";
import { DeliveryWorker } from "../src/queue/worker.ts";
import { startPostgres } from "../test/harness/postgres.ts";

const JOBS = Number(process.argv[2] ?? 1000);
const PICKUPS = 100;
const GW = process.env.GRAPHILE_WORKER;
if (!GW) throw new Error("set GRAPHILE_WORKER to graphile-worker's dist/index.js (see the header)");
interface GraphileRunner { addJob(task: string, payload: object): Promise<unknown>; stop(): Promise<void> }
const graphile = await import(GW) as { run(o: object): Promise<GraphileRunner>; runMigrations(o: object): Promise<void> };

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
const line = (name: string, xs: number[]) => `${name.padEnd(34)} p50 ${pct(xs, 50).toFixed(2)} ms  p99 ${pct(xs, 99).toFixed(2)} ms`;
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const payload = { action: "opened", number: 1, padding: "x".repeat(20_000) };

const cluster = await startPostgres();
const su = await cluster.connect();
await su.query("CREATE DATABASE ours");
await su.query("CREATE DATABASE graphile");
await su.end();
const ours = createPool({ connectionString: cluster.superuserUrl("ours"), max: 10 });
const gwUrl = cluster.superuserUrl("graphile");
await migrate(ours);
await graphile.runMigrations({ connectionString: gwUrl });
const gwPool = createPool({ connectionString: gwUrl, max: 10 });
const addGraphile = (n: number) => gwPool.query("SELECT graphile_worker.add_job('noop', $1::json)", [JSON.stringify({ ...payload, n })]);
const addOurs = (n: number) => enqueueDelivery(ours, { id: randomUUID(), event: "pull_request", action: "opened", payload: { ...payload, n }, repository: "acme/access", orderingKey: `acme/access#${n}` });

try {
  // enqueue alone: no worker running
  const enqueue = async (add: (n: number) => Promise<unknown>) => {
    const xs: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t = performance.now();
      await add(i);
      xs.push(performance.now() - t);
    }
    return xs;
  };
  const enqOurs = await enqueue(addOurs);
  const enqGw = await enqueue(addGraphile);
  await ours.query("DELETE FROM deliveries");
  await gwPool.query("DELETE FROM graphile_worker._private_jobs");

  // pickup latency and throughput with each worker
  let started: (() => void) | null = null;
  let done = 0;
  const handler = async () => { started?.(); done += 1; };
  const measure = async (add: (n: number) => Promise<unknown>) => {
    const pickups: number[] = [];
    for (let i = 0; i < PICKUPS; i++) {
      const t = performance.now();
      const seen = new Promise<void>((r) => { started = r; });
      await add(i);
      await seen;
      pickups.push(performance.now() - t);
    }
    started = null;
    return pickups;
  };
  const ourWorker = new DeliveryWorker({ state: ours, config: { ...DEFAULT_QUEUE_CONFIG, concurrency: 4 }, log: quiet, run: handler });
  await ourWorker.start();
  const pickOurs = await measure(addOurs);
  await ourWorker.stop();
  done = 0;
  for (let i = 0; i < JOBS; i++) await addOurs(i);
  let t = performance.now();
  const w2 = new DeliveryWorker({ state: ours, config: { ...DEFAULT_QUEUE_CONFIG, concurrency: 4 }, log: quiet, run: handler });
  await w2.start();
  while (done < JOBS) await new Promise((r) => setTimeout(r, 5));
  const oursRate = JOBS / ((performance.now() - t) / 1000);
  await w2.stop();

  const runner = await graphile.run({ connectionString: gwUrl, concurrency: 4, noHandleSignals: true, pollInterval: 2000, taskList: { noop: handler }, logger: undefined });
  const pickGw = await measure(addGraphile);
  await runner.stop();
  done = 0;
  for (let i = 0; i < JOBS; i++) await addGraphile(i);
  t = performance.now();
  const runner2 = await graphile.run({ connectionString: gwUrl, concurrency: 4, noHandleSignals: true, pollInterval: 2000, taskList: { noop: handler } });
  while (done < JOBS) await new Promise((r) => setTimeout(r, 5));
  const gwRate = JOBS / ((performance.now() - t) / 1000);
  await runner2.stop();

  console.log(`delivery queue comparison on PostgreSQL (harness), node ${process.version}; payload 20 kB`);
  console.log(line("enqueue, ours (INSERT + NOTIFY)", enqOurs));
  console.log(line("enqueue, graphile-worker add_job", enqGw));
  console.log(line("pickup, ours", pickOurs));
  console.log(line("pickup, graphile-worker", pickGw));
  console.log(`throughput of ${JOBS} no-op jobs, concurrency 4: ours ${oursRate.toFixed(0)} jobs/s, graphile-worker ${gwRate.toFixed(0)} jobs/s`);
} finally {
  await ours.end();
  await gwPool.end();
  await cluster.stop();
}
