// Delivery → job → handlers: the receiver stores verified deliveries, the worker feeds each stored
// event into Probot's app.receive(), which runs the handlers of src/app.ts with a fresh
// installation Octokit. A dead letter raises one `jit-alert` issue in its repository.
import { deliveryDeadAlert } from "../core/messages.ts";
import type pg from "pg";
import type { Probot } from "probot";
import { enqueueDelivery, queueStats, type QueueStats } from "../db/deliveries.ts";
import type { GitHubAccess } from "../github/installations.ts";
import { createAlerter } from "../scheduler/alerter.ts";
import type { UseCaseLogger } from "../usecases/context.ts";
import type { QueueConfig } from "./config.ts";
import { webhookReceiver } from "./receiver.ts";
import { DeliveryWorker } from "./worker.ts";

export interface Pipeline {
  /** The HTTP handler for the webhook path. */
  webhooks: ReturnType<typeof webhookReceiver>;
  worker: DeliveryWorker;
  stats(): Promise<QueueStats>;
  /** Resolves when the shared queue is empty (tests and benchmarks). */
  drain(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startPipeline(o: {
  probot: Probot; state: pg.Pool; secret: string; log: UseCaseLogger; config: QueueConfig; github?: GitHubAccess;
}): Promise<Pipeline> {
  const alerter = createAlerter({ state: o.state, log: o.log, ...(o.github ? { github: o.github } : {}) });
  const worker = new DeliveryWorker({
    state: o.state, config: o.config, log: o.log,
    run: (job) => o.probot.receive({ id: job.id, name: job.event, payload: job.payload } as Parameters<Probot["receive"]>[0]),
    onDead: (job, error) => alerter.alert(job.repository, deliveryDeadAlert({ id: job.id, event: job.event, attempts: job.attempts, error: String(error) })),
  });
  await worker.start();
  return {
    webhooks: webhookReceiver({ secret: o.secret, log: o.log, enqueue: (d) => enqueueDelivery(o.state, d) }),
    worker,
    stats: () => queueStats(o.state),
    drain: (timeoutMs) => worker.drain(timeoutMs),
    stop: () => worker.stop(),
  };
}
