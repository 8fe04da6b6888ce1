// Webhook acknowledgement latency of the queue's receiver (src/queue/receiver.ts) on a real
// PostgreSQL: signed deliveries are POSTed one after another and, separately, 16 at a time; each
// answer is the 202 after the delivery is stored. No worker runs, so this is the ack path alone.
// Usage: npm run bench:ack -- [count]
import { createHmac, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { enqueueDelivery } from "../src/db/deliveries.ts";
import { migrate } from "../src/db/migrations.ts";
import { createPool } from "../src/db/state.ts";
import { webhookReceiver } from "../src/queue/receiver.ts";
import { startPostgres } from "../test/harness/postgres.ts";

const count = Number(process.argv[2] ?? 500);
const secret = randomUUID();
const cluster = await startPostgres();
const su = await cluster.connect();
await su.query("CREATE DATABASE state");
await su.end();
const pool = createPool({ connectionString: cluster.superuserUrl("state"), max: 10 });
await migrate(pool);
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const server = createServer(webhookReceiver({ secret, log: quiet, enqueue: (d) => enqueueDelivery(pool, d) }));
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
const body = JSON.stringify({ action: "closed", number: 1, repository: { full_name: "acme/access" }, pull_request: { number: 1, merged: true }, padding: "x".repeat(20_000) });
const sig = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

async function post(): Promise<number> {
  const t = performance.now();
  const res = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json", "x-github-event": "pull_request", "x-github-delivery": randomUUID(), "x-hub-signature-256": sig } });
  await res.text();
  if (res.status !== 202) throw new Error(`status ${res.status}`);
  return performance.now() - t;
}
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
try {
  for (let i = 0; i < 20; i++) await post(); // warm-up
  const serial: number[] = [];
  for (let i = 0; i < count; i++) serial.push(await post());
  const concurrent: number[] = [];
  for (let i = 0; i < count / 16; i++) concurrent.push(...(await Promise.all(Array.from({ length: 16 }, post))));
  const line = (name: string, xs: number[]) => `${name.padEnd(22)} n=${xs.length}  p50=${pct(xs, 50).toFixed(1)} ms  p99=${pct(xs, 99).toFixed(1)} ms  max=${Math.max(...xs).toFixed(1)} ms`;
  console.log(line("ack, one at a time", serial));
  console.log(line("ack, 16 concurrent", concurrent));
} finally {
  server.close();
  await pool.end();
  await cluster.stop();
}
