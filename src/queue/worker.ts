// Runs stored deliveries: wakes on NOTIFY (and polls, so a lost notification or a due retry costs
// only the poll interval), claims one job at a time per free slot, renews its lease while the job
// runs, and records the outcome: done, queued again with backoff, or dead after maxAttempts.
// Several replicas share the queue through the claims (src/db/deliveries.ts), never through memory.
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type pg from "pg";
import {
  claimDelivery, failDelivery, finishDelivery, listenForDeliveries, queueStats, renewLease, type ClaimedDelivery,
} from "../db/deliveries.ts";
import { dedicatedClient } from "../db/state.ts";
import type { UseCaseLogger } from "../usecases/context.ts";
import { retryDelay, type QueueConfig } from "./config.ts";

export interface WorkerOptions {
  state: pg.Pool;
  config: QueueConfig;
  log: UseCaseLogger;
  /** The work: throws to fail the attempt. */
  run(job: ClaimedDelivery): Promise<void>;
  /** Called once when a job becomes a dead letter. */
  onDead?(job: ClaimedDelivery, error: string): Promise<void>;
}

export class DeliveryWorker {
  readonly id = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  #active = new Set<Promise<void>>();
  #claiming: Promise<void> | null = null;
  #again = false;
  #stopped = false;
  #listener: pg.Client | null = null;
  #poll: ReturnType<typeof setInterval> | null = null;
  #idleWaiters: (() => void)[] = [];

  private readonly o: WorkerOptions;

  constructor(o: WorkerOptions) {
    this.o = o;
  }

  async start(): Promise<void> {
    await this.#listen().catch((e: unknown) => this.o.log.warn({ error: (e as Error).message }, "queue: LISTEN failed; polling only until it works"));
    this.#poll = setInterval(() => {
      if (!this.#listener) void this.#listen().catch(() => {});
      this.wake();
    }, this.o.config.pollMs);
    this.#poll.unref();
    this.wake();
  }

  async #listen(): Promise<void> {
    if (this.#stopped || this.#listener) return;
    const client = dedicatedClient(this.o.state, "jit-access queue listener");
    await client.connect();
    client.on("notification", () => this.wake());
    client.on("error", () => {
      if (this.#listener === client) this.#listener = null;
      void client.end().catch(() => {});
    });
    client.on("end", () => {
      if (this.#listener === client) this.#listener = null;
    });
    await listenForDeliveries(client);
    if (this.#stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.#listener = client;
  }

  /** Claims jobs until every slot is busy or nothing is due. Safe to call any time. */
  wake(): void {
    if (this.#stopped) return;
    if (this.#claiming) {
      this.#again = true;
      return;
    }
    this.#claiming = this.#fill().finally(() => {
      this.#claiming = null;
      if (this.#again) {
        this.#again = false;
        this.wake();
      } else if (this.#active.size === 0) {
        for (const w of this.#idleWaiters.splice(0)) w();
      }
    });
  }

  async #fill(): Promise<void> {
    while (!this.#stopped && this.#active.size < this.o.config.concurrency) {
      let job: ClaimedDelivery | null;
      try {
        job = await claimDelivery(this.o.state, this.id, this.o.config.leaseMs);
      } catch (e) {
        this.o.log.warn({ error: (e as Error).message }, "queue: claim failed; retried on the next poll");
        return;
      }
      if (!job) return;
      const run = this.#run(job).finally(() => {
        this.#active.delete(run);
        this.wake();
      });
      this.#active.add(run);
    }
  }

  async #run(job: ClaimedDelivery): Promise<void> {
    const { config, log } = this.o;
    const renew = setInterval(() => {
      void renewLease(this.o.state, job.id, this.id, config.leaseMs).then(
        (mine) => { if (!mine) log.warn({ delivery: job.id }, "queue: lease lost; another worker may run this job too (handlers are idempotent)"); },
        () => {});
    }, Math.max(50, Math.floor(config.leaseMs / 3)));
    renew.unref();
    const fields = deliveryFields(job);
    try {
      await this.o.run(job);
      clearInterval(renew);
      await finishDelivery(this.o.state, job.id, this.id);
      log.info({ ...fields, outcome: "done" }, "delivery handled");
    } catch (e) {
      clearInterval(renew);
      const error = errorText(e);
      const state = await failDelivery(this.o.state, job.id, this.id, { error, retryInMs: retryDelay(config, job.attempts), maxAttempts: config.maxAttempts }).catch(() => null);
      if (state === "dead") {
        log.error({ code: "JIT_DELIVERY_DEAD", ...fields, outcome: "dead", attempts: job.attempts, error }, "delivery failed every attempt: dead letter");
        await this.o.onDead?.(job, error).catch((err: unknown) => log.warn({ delivery: job.id, error: (err as Error).message }, "queue: dead-letter alert failed"));
      } else {
        log.warn({ ...fields, outcome: "retry", attempts: job.attempts, error }, "delivery failed; retried with backoff");
      }
    }
  }

  /** Resolves when no job of any replica is queued or running (tests; bounded by timeoutMs). */
  async drain(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.wake();
      while (this.#claiming) await this.#claiming;
      if (this.#active.size === 0 && (await queueStats(this.o.state)).depth === 0) return;
      if (Date.now() > deadline) throw new Error(`queue not drained within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 20);
        this.#idleWaiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  /** Stops claiming and waits for running jobs; unfinished ones are claimed again elsewhere when their lease ends. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#poll) clearInterval(this.#poll);
    while (this.#active.size) await Promise.allSettled([...this.#active]);
    const l = this.#listener;
    this.#listener = null;
    await l?.end().catch(() => {});
  }
}

/** The error's message only (an AggregateError from Probot lists its causes); never a payload. */
/** What a log line says about a delivery: ids and names only, never the payload. */
function deliveryFields(job: ClaimedDelivery): Record<string, unknown> {
  const p = job.payload as { number?: unknown; pull_request?: { number?: unknown } };
  const pr = p.pull_request?.number ?? p.number;
  return { delivery: job.id, event: job.event, repository: job.repository, ...(typeof pr === "number" ? { pr } : {}) };
}

function errorText(e: unknown): string {
  const err = e as Error & { errors?: unknown[] };
  const parts = Array.isArray(err.errors) && err.errors.length ? err.errors.map((x) => (x as Error).message) : [err.message];
  return parts.join("; ").slice(0, 500);
}
