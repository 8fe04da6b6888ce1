// Work that no HTTP request runs: the delivery queue's worker (src/queue/), the lost-merge
// reconciler (src/jobs/lost-merges.ts, leader-only), the expiry scheduler (sweeps, revert PRs,
// reminders, drift) and the health endpoint. With the GitHub App configured, policies come from
// each repository's default branch through the API (no checkout needed) and revert PRs are opened;
// without it, a local policies/ (development) serves, no webhook is accepted and GitHub work waits
// in the outbox.
import type { Probot } from "probot";
import type { Logger as PinoLogger } from "pino";
import { ConfigError } from "./config.ts";
import { backstopMirrorer } from "./db/backstop-mirror.ts";
import { installedRepositories, probotGitHub } from "./github/installations.ts";
import { DASHBOARD_KIND } from "./db/dashboard.ts";
import { dashboardHandler, dashboardTicker } from "./jobs/dashboard.ts";
import { REFUSAL_PR_KIND, refusalPrHandler } from "./jobs/refusal-pr.ts";
import { reconcileMerges, type LostMergeReport } from "./jobs/lost-merges.ts";
import { closeStalePending } from "./jobs/pending-ttl.ts";
import type { Services } from "./main.ts";
import { loadQueueConfig } from "./queue/config.ts";
import { startPipeline, type Pipeline } from "./queue/pipeline.ts";
import { loadSchedulerConfig } from "./scheduler/config.ts";
import { LeaderLock } from "./scheduler/leader.ts";
import type { Health } from "./scheduler/health.ts";
import { GitHubPolicySource, StaticPolicySource, type PolicySource } from "./scheduler/policy-source.ts";
import { startScheduler } from "./scheduler/scheduler.ts";
import type { HealthHandler, WebhookHandler } from "./server.ts";
import type { AppDeps } from "./usecases/context.ts";
import type { EngineRegistry } from "./usecases/engines.ts";

/** Leader lock object of the merge reconciler (the sweeper holds LEADER_OBJECT 1). */
export const MERGE_RECONCILER_OBJECT = 3;

export interface Background {
  health: HealthHandler;
  /** The health figures themselves (the server's /health adds targets and gates the details). */
  readHealth: () => Promise<Health>;
  /** Where policies come from (the default branches through the API, or the local policies/). */
  policies: PolicySource;
  /** The webhook route; null when the GitHub App is not configured. */
  webhooks: WebhookHandler | null;
  pipeline: Pipeline | null;
  /** One lost-merge pass now (null when this replica is not the reconciler's leader or the App is not configured). */
  reconcileMerges(): Promise<LostMergeReport | null>;
  stop(): Promise<void>;
}

export async function startBackground(opts: {
  services: Services; deps: AppDeps & { engines: EngineRegistry }; probot: Probot | null; webhookSecret?: string; log: PinoLogger;
}): Promise<Background> {
  const { config, problems } = loadSchedulerConfig(process.env);
  const queueConfig = loadQueueConfig(process.env);
  if (problems.length || queueConfig.problems.length) throw new ConfigError([...problems, ...queueConfig.problems]);
  const state = opts.services.state.pool;
  const github = opts.probot ? probotGitHub(opts.probot, opts.deps.appId, opts.deps.repositories) : undefined;
  const policies = github
    ? new GitHubPolicySource({ github, state, fallback: opts.services.policy })
    : new StaticPolicySource(opts.services.policy, null);
  const scheduler = startScheduler({
    state, engines: opts.deps.engines, policies, log: opts.log, config, now: opts.deps.now,
    // The dashboard issue and the removal PR of a refused merge leave through the same outbox (src/jobs/).
    ...(github ? {
      github, activation: { engines: opts.deps.engines }, outboxHandlers: {
        [DASHBOARD_KIND]: dashboardHandler({ state, github, log: opts.log }),
        [REFUSAL_PR_KIND]: refusalPrHandler({ state, github, options: { merge: config.mergeRevertPrs, mergeMethod: config.revertMergeMethod, label: config.revertLabel } }),
      },
    } : {}),
  });
  // The dashboards follow the sweep's cadence too (expiries, drift, alerts); unchanged ones cost no GitHub call.
  const dashboards = github ? dashboardTicker(state, opts.deps.repositories, config.sweepIntervalMs, opts.log) : null;
  // The app pokes the timer after every grant and extension, so a short grant ends on the second,
  // and mirrors the expiry into the in-database backstop where one is installed (src/db/backstop*.ts).
  const backstop = backstopMirrorer(state, process.env, opts.log);
  opts.deps.onGrant = () => {
    scheduler.poke();
    backstop.poke();
  };

  const pipeline = opts.probot && opts.webhookSecret
    ? await startPipeline({ probot: opts.probot, state, secret: opts.webhookSecret, log: opts.log, config: queueConfig.config, ...(github ? { github } : {}) })
    : null;

  const probot = opts.probot;
  const leader = LeaderLock.forPool(state, MERGE_RECONCILER_OBJECT);
  let running: Promise<LostMergeReport | null> | null = null;
  const reconcile = (): Promise<LostMergeReport | null> => {
    if (!probot) return Promise.resolve(null);
    running ??= (async () => {
      try {
        if (!(await leader.acquire())) return null;
        const report = await reconcileMerges({
          deps: opts.deps, repositories: installedRepositories(probot), lookbackMs: queueConfig.config.mergeLookbackMs,
          stillLeader: () => leader.stillLeader(),
        });
        if (report.recovered.length || report.failed.length) opts.log.info({ ...report }, "merge reconciler pass");
        // pending_ttl: the same leader, the same periodic pass (src/jobs/pending-ttl.ts).
        const pending = await closeStalePending({ deps: opts.deps, repositories: installedRepositories(probot), stillLeader: () => leader.stillLeader() });
        if (pending.closed.length || pending.failed.length) opts.log.info({ ...pending }, "pending_ttl pass");
        return report;
      } catch (e) {
        opts.log.warn({ error: (e as Error).message }, "merge reconciler pass failed; retried next interval");
        return null;
      } finally {
        running = null;
      }
    })();
    return running;
  };
  const every = queueConfig.config.mergeReconcileMs;
  const timer = probot && every > 0 ? setInterval(() => void reconcile(), every) : null;
  timer?.unref();

  return {
    health: scheduler.healthHandler,
    readHealth: scheduler.health,
    policies,
    webhooks: pipeline?.webhooks ?? null,
    pipeline,
    reconcileMerges: reconcile,
    async stop() {
      if (timer) clearInterval(timer);
      dashboards?.stop();
      await running?.catch(() => {});
      await pipeline?.stop();
      await backstop.settled();
      await scheduler.stop();
      await leader.release();
    },
  };
}
