// The in-app scheduler: a full tick every 30 s on slots of the epoch (cadence.ts: no cron library,
// no local time, so no DST change can skip ticks) plus a timer armed for the next expiry, so a grant
// ends within a second or two of expires_at. Every replica runs one; only the holder of the leader
// lock sweeps, drains the outbox and posts reminders. Sweeps are level-triggered, so a missed slot
// or a restart costs nothing but time: the first sweep after start catches up. The timer's delay is computed by the state database (expires_at - now()), so
// the app's clock is never consulted: it only shows up in /health as a skew.
//
// The parts: expiry-timer.ts (the next-expiry timer), sweep.ts (the sweep), sweep-report.ts (logs
// and alerts about a sweep), github-work.ts (outbox drain and reminders), health.ts; this file
// only serialises ticks and wires them together.
import { hostname } from "node:os";
import { performance } from "node:perf_hooks";
import type pg from "pg";
import type { Policy } from "../core/types.ts";
import type { GitHubAccess } from "../github/installations.ts";
import { createAlerter, type Alerter, type SchedulerLogger } from "./alerter.ts";
import { startCadence, type CadenceClock } from "./cadence.ts";
import { DEFAULT_SCHEDULER_CONFIG, type SchedulerConfig } from "./config.ts";
import { ExpiryTimer } from "./expiry-timer.ts";
import { GitHubWork } from "./github-work.ts";
import { alertOnHealth, healthHandler, readHealth, type Health } from "./health.ts";
import { LeaderLock } from "./leader.ts";
import type { DrainReport, OutboxHandler } from "./outbox.ts";
import type { PolicySource } from "./policy-source.ts";
import { activateDue, expireBreakGlass, type ActivationDeps, type ActivationReport } from "./activation.ts";
import { msUntilNextStart } from "../db/scheduled.ts";
import { revertPrHandler } from "./revert-job.ts";
import { ENDED_COMMENT_KIND, endedCommentHandler } from "./ended-job.ts";
import { recordSweep, REVERT_PR_KIND, sweep, type SweepEngine, type SweepReport } from "./sweep.ts";
import { NO_POLICY } from "../core/action.ts";
import { SweepReporter } from "./sweep-report.ts";
import { effectHandlers } from "../usecases/github-effects.ts";

export interface SchedulerDeps {
  state: pg.Pool;
  /** EngineRegistry in the app. */
  engines: { engine(policy: Policy): SweepEngine };
  policies: PolicySource;
  /** Without it revert PRs stay queued in the outbox, reminders are off and alerts go to the log only. */
  github?: GitHubAccess;
  log: SchedulerLogger;
  config?: Partial<SchedulerConfig>;
  /** Recorded as the revoking actor (default scheduler:<host>:<pid>). */
  actor?: string;
  /** The app clock; used only to report its skew in /health. */
  now?: () => number;
  leader?: LeaderLock;
  /** Outbox retry delay after n failed attempts (tests shorten it). */
  outboxBackoff?: (attempts: number) => number;
  /** Extra outbox handlers by kind. */
  outboxHandlers?: Record<string, OutboxHandler>;
  /** Timers and wall clock of the periodic tick (tests: a fake clock). */
  cadenceClock?: CadenceClock;
  /** Grants scheduled grants at their start (src/scheduler/activation.ts); needs `github`. */
  activation?: Pick<ActivationDeps, "engines"> & { engines: NonNullable<ActivationDeps["revokeEngines"]> };
}

/** "interval": the periodic full tick; "timer": the next-expiry sweep only. */
export type TickKind = "start" | "interval" | "timer" | "manual";

export interface TickReport {
  kind: TickKind;
  leader: boolean;
  sweep?: SweepReport;
  activation?: ActivationReport;
  error?: string;
}

export interface Scheduler {
  /** The first tick, run at start: it catches up on everything that expired while the app was down. */
  readonly ready: Promise<TickReport>;
  /** Re-arms the next-expiry timer now (call it after a grant or an extension). */
  poke(): void;
  /** Runs a full tick now and resolves with its report (startup, tests, operators). */
  runOnce(kind?: TickKind): Promise<TickReport>;
  /** Drains the outbox now (tests; the scheduler does it after sweeps and on every periodic tick). */
  drainNow(): Promise<DrainReport | null>;
  health(): Promise<Health>;
  /** GET /health for the app's HTTP server. */
  healthHandler: ReturnType<typeof healthHandler>;
  readonly isLeader: boolean;
  readonly lastSweep: SweepReport | null;
  /** Milliseconds the next-expiry timer is armed for (null: not armed). */
  readonly timerArmedFor: number | null;
  stop(): Promise<void>;
}

export function startScheduler(deps: SchedulerDeps): Scheduler {
  const config: SchedulerConfig = { ...DEFAULT_SCHEDULER_CONFIG, ...deps.config };
  const actor = deps.actor ?? `scheduler:${hostname()}:${process.pid}`;
  const leader = deps.leader ?? LeaderLock.forPool(deps.state);
  const log = deps.log;
  const alerter: Alerter = createAlerter({ state: deps.state, log, ...(deps.github ? { github: deps.github } : {}) });
  const started = performance.now();
  const healthOpts = {
    staleAfterMs: config.staleAfterMs, overdueAfterMs: config.overdueAfterMs, leader: () => leader.isLeader,
    uptimeMs: () => performance.now() - started, ...(deps.now ? { appNow: deps.now } : {}),
  };
  // Comments and alerts a first try could not post, then revert PRs, then any extra kinds.
  const handlers: Record<string, OutboxHandler> = { ...(deps.github ? effectHandlers(deps.github) : {}), ...deps.outboxHandlers };
  if (deps.github) {
    handlers[REVERT_PR_KIND] = revertPrHandler({
      state: deps.state, github: deps.github, options: { merge: config.mergeRevertPrs, mergeMethod: config.revertMergeMethod, label: config.revertLabel },
    });
    handlers[ENDED_COMMENT_KIND] = endedCommentHandler({ state: deps.state, github: deps.github }); // `jit revoke` → request PR comment
  }

  let stopped = false;
  let running: Promise<TickReport> | null = null;
  let pending: TickKind | null = null;
  let rearm = false;
  let lastSweep: SweepReport | null = null;
  let wasLeader = false;
  const reporter = new SweepReporter(log, alerter);
  const timer = new ExpiryTimer(deps.state, config.maxTimerMs, () => void tick("timer"));
  // The next scheduled start and break-glass deadline arm the same timer (src/scheduler/activation.ts).
  const nextStart = deps.activation && deps.github ? () => msUntilNextStart(deps.state) : undefined;
  const armTimer = () => timer.arm({ stopped: () => stopped, leader: () => leader.isLeader, ...(nextStart ? { also: nextStart } : {}) });
  const githubWork = deps.github
    ? new GitHubWork({
      state: deps.state, github: deps.github, log, alerter, leader, handlers, remindBeforeMs: config.remindBeforeMs,
      ...(deps.outboxBackoff ? { backoff: deps.outboxBackoff } : {}),
    })
    : null;
  /** Revert PRs and reminders: GitHub work runs beside the sweeps, never in front of them. */
  const kickGitHubWork = (withReminders: boolean) => {
    if (!stopped) githubWork?.kick(withReminders);
  };

  async function doTick(kind: TickKind): Promise<TickReport> {
    const out: TickReport = { kind, leader: false };
    try {
      out.leader = await leader.acquire();
    } catch (e) {
      out.error = `cannot take the leader lock: ${(e as Error).message}`;
      log.warn({ code: "JIT_DB_UNREACHABLE" }, out.error);
    }
    if (out.leader !== wasLeader) log.info({ actor, leader: out.leader, pid: leader.backendPid }, out.leader ? "became the sweeper leader" : "no longer the sweeper leader");
    const becameLeader = out.leader && !wasLeader;
    wasLeader = out.leader;

    if (out.leader && deps.activation && deps.github) {
      try {
        const act: ActivationDeps = {
          state: deps.state, engines: deps.activation.engines, github: deps.github, log, actor, ...(deps.now ? { now: deps.now } : {}),
          policies: deps.policies, alerter, revokeEngines: deps.activation.engines,
        };
        out.activation = await activateDue(act);
        await expireBreakGlass(act);
      } catch (e) {
        log.error({ error: (e as Error).message }, "activation of scheduled grants failed; the next tick retries");
      }
    }
    if (out.leader) {
      try {
        const report = await sweep(
          { state: deps.state, engines: deps.engines, policies: deps.policies, actor, leadership: leader },
          { batchSize: config.batchSize, parallel: config.parallel, reconcile: kind !== "timer", recoverReverts: becameLeader || kind === "start" });
        out.sweep = report;
        lastSweep = report;
        await recordSweep(deps.state, "app", { report });
        await reporter.report(report);
        if (report.leaderLost) {
          wasLeader = false;
          log.warn({ code: "JIT_LEADER_LOST", reason: leader.lostReason }, "lost the sweeper lock mid-sweep; stopped before the next side effect");
        }
      } catch (e) {
        out.error = (e as Error).message;
        log.error({ error: out.error }, "sweep failed; the next one retries");
        await recordSweep(deps.state, "app", { error: out.error }).catch(() => {});
      }
      if (kind !== "timer" || (out.sweep?.revertsQueued ?? 0) > 0) kickGitHubWork(kind !== "timer");
      // What grantees do during their windows: sessions sampled each periodic tick (the connections recorded at grant, I15).
      if (kind === "interval" && !out.sweep?.leaderLost) await deps.engines.engine(NO_POLICY).sampleOpenWindows?.().catch(() => 0);
    }
    if (kind === "interval" || kind === "start") {
      try {
        await alertOnHealth(await readHealth(deps.state, healthOpts), deps.state, alerter);
      } catch (e) {
        log.warn({ error: (e as Error).message }, "health check failed");
      }
    }
    try {
      await armTimer();
    } catch (e) {
      log.warn({ error: (e as Error).message }, "could not arm the next-expiry timer; the periodic tick covers it");
    }
    return out;
  }

  function tick(kind: TickKind): Promise<TickReport> {
    if (stopped) return Promise.resolve({ kind, leader: false, error: "stopped" });
    if (running) {
      // One sweep at a time in this process; run once more afterwards (a periodic tick outranks a timer).
      pending = pending === "timer" || pending === null ? kind : pending === "start" ? "interval" : pending;
      return running;
    }
    running = doTick(kind).finally(() => {
      running = null;
      const next = pending;
      pending = null;
      if (next && !stopped) void tick(next);
      else if (rearm && !stopped) poke();
      rearm = false;
    });
    return running;
  }

  function poke(): void {
    if (running) {
      rearm = true; // the tick in progress may have read the next expiry before this grant
      return;
    }
    void armTimer().catch((e: unknown) => log.warn({ error: (e as Error).message }, "could not arm the next-expiry timer"));
  }

  // 0 turns the periodic tick off (tests that drive every tick through runOnce).
  const cadence = config.sweepIntervalMs > 0 ? startCadence(config.sweepIntervalMs, () => { void tick("interval"); }, deps.cadenceClock) : null;
  const ready = tick("start");

  return {
    ready,
    poke,
    async runOnce(kind = "manual") {
      if (running) await running.catch(() => {});
      return tick(kind);
    },
    async drainNow() {
      if (githubWork?.current) await githubWork.current;
      if (!githubWork) return null;
      kickGitHubWork(false);
      return githubWork.current;
    },
    health: () => readHealth(deps.state, healthOpts),
    healthHandler: healthHandler(deps.state, healthOpts),
    get isLeader() {
      return leader.isLeader;
    },
    get lastSweep() {
      return lastSweep;
    },
    get timerArmedFor() {
      return timer.armedFor;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      cadence?.stop();
      timer.clear();
      await running?.catch(() => {});
      await githubWork?.current?.catch(() => {});
      await leader.release();
    },
  };
}
