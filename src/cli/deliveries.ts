// `jit deliveries list [--dead|--open|--all] | retry <delivery-id>`: the webhook queue (src/queue/).
// A dead letter is a delivery that failed every attempt; `retry` queues it again with a fresh
// attempt budget (handlers are idempotent, so a retry of work half done finishes it once).
import { listDeliveries, retryDelivery, type DeliveryState } from "../db/deliveries.ts";
import { parseCommand } from "./args.ts";
import type { CliIo } from "./io.ts";
import { openStateForCli } from "./state-access.ts";

const USAGE = `usage: jit deliveries list [--dead | --open | --all] [--limit N] [--format text|json]
       jit deliveries retry <delivery-id>

Webhook deliveries stored by the app (DATABASE_URL, or the embedded database under ./.data).
  list     dead letters by default; --open: queued and running; --all: every state
  retry    queues a dead (or backing-off) delivery again now
Exit status: 0 done, 1 nothing to retry under that id, 2 usage error or the state database cannot be reached.`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parseCommand(argv, io, {
    command: "deliveries", usage: USAGE, positionals: true, formats: ["text", "json"],
    options: { dead: { type: "boolean" }, open: { type: "boolean" }, all: { type: "boolean" }, limit: { type: "string" } },
  });
  if (typeof args === "number") return args;
  const [verb, id, ...extra] = args.positionals;
  const limit = args.values.limit === undefined ? 50 : Number(args.values.limit);
  if ((verb !== "list" && verb !== "retry") || (verb === "retry" && !id) || (verb === "list" && id) || extra.length || !Number.isInteger(limit) || limit < 1 || limit > 1000) {
    io.err(USAGE);
    return 2;
  }
  const state = await openStateForCli(io, "deliveries");
  if (state === 2) return 2;
  try {
    if (verb === "retry") {
      if (!(await retryDelivery(state.pool, id!))) {
        io.err(`jit deliveries: no dead or queued delivery ${JSON.stringify(id)}`);
        return 1;
      }
      io.out(`queued ${id} again`);
      return 0;
    }
    const states: DeliveryState[] = args.values.all ? ["recorded", "queued", "running", "done", "dead"] : args.values.open ? ["queued", "running"] : ["dead"];
    const rows = await listDeliveries(state.pool, { states, limit });
    if (args.format === "json") {
      io.out(JSON.stringify({ deliveries: rows.map((r) => ({ ...r, receivedAt: r.receivedAt.toISOString(), nextAttemptAt: r.nextAttemptAt.toISOString() })) }, null, 2));
    } else if (!rows.length) {
      io.out(args.values.all ? "no deliveries" : args.values.open ? "the queue is empty" : "no dead letters");
    } else {
      for (const r of rows) {
        io.out(`${r.id}  ${r.state.padEnd(7)}  ${`${r.event}${r.action ? `.${r.action}` : ""}`.padEnd(28)}  ${r.repository ?? "-"}  attempts=${r.attempts}  received=${r.receivedAt.toISOString()}${r.lastError ? `  last error: ${r.lastError}` : ""}`);
      }
    }
    return 0;
  } finally {
    await state.close();
  }
}
