// `jit actions sweep`: one tick of the app's own scheduler (src/scheduler/), run by a scheduled
// workflow: revoke what is due (sessions ended, verified), reconcile drift, open and merge the revert
// PRs queued in the outbox with the App's token, send reminders, and recover lost merges. The
// scheduler's leader lock keeps two runs (or a run and a server) from sweeping at once.
import { renderExpire } from "../cli/expire.ts";
import { ConfigError } from "../config.ts";
import { probotGitHub } from "../github/installations.ts";
import { loadSchedulerConfig } from "../scheduler/config.ts";
import { GitHubPolicySource } from "../scheduler/policy-source.ts";
import { startScheduler } from "../scheduler/scheduler.ts";
import { buildDeps } from "../usecases/build-deps.ts";
import { reconcileThisRepository } from "./lost-merges.ts";
import { mirrorForJob, type JobContext } from "./run.ts";

export async function runSweepJob(ctx: JobContext): Promise<number> {
  const { config, problems } = loadSchedulerConfig(ctx.env);
  if (problems.length) throw new ConfigError(problems);
  const deps = buildDeps({ state: ctx.state, env: ctx.env, log: ctx.log, appId: ctx.appId });
  const github = probotGitHub(ctx.probot, ctx.appId, deps.repositories);
  const scheduler = startScheduler({
    state: ctx.state, engines: deps.engines, policies: new GitHubPolicySource({ github, state: ctx.state }), github, log: ctx.log,
    // One tick, no periodic timer: the workflow's schedule is the period.
    config: { ...config, sweepIntervalMs: 0 }, actor: `actions:${ctx.run.repository}:${ctx.run.runId}`,
  });
  let failed = false;
  try {
    const tick = await scheduler.ready;
    if (tick.error) {
      ctx.io.err(`jit actions sweep: ${tick.error}`);
      failed = true;
    } else if (!tick.leader) {
      ctx.io.out("another sweeper holds the leader lock (a concurrent run or the app's server): nothing swept by this run");
    } else if (tick.sweep) {
      for (const l of renderExpire(tick.sweep)) ctx.io.out(l.replace(/^revert PRs are opened by the app.*$/, "revert PRs: opened below from the outbox"));
      failed = tick.sweep.failed.length > 0 || tick.sweep.problems.length > 0;
    }
    const drained = await scheduler.drainNow();
    for (const d of drained?.done ?? []) ctx.io.out(`outbox ${d.kind} #${d.id}: ${d.result}`);
    for (const r of drained?.retried ?? []) ctx.io.err(`outbox ${r.kind} #${r.id}: retried later (${r.error})`);
    const merges = await reconcileThisRepository(ctx, deps);
    for (const r of merges.recovered) ctx.io.out(`JIT_MERGE_RECOVERED ${r.repository}#${r.number}: ${r.kind}${r.code ? ` (${r.code})` : ""}`);
    for (const f of merges.failed) ctx.io.err(`${f.repository}#${f.number}: not handled: ${f.error}`);
    await mirrorForJob(ctx); // level-triggered: closed grants leave the backstop, recovered ones enter it
    return failed || merges.failed.length > 0 ? 1 : 0;
  } finally {
    await scheduler.stop();
    await deps.close();
  }
}
