// `jit actions check|grant|sweep`: the app without a server. Each job builds the same Probot app
// function the server runs (src/app.ts over src/usecases/), authenticated as the GitHub App with its
// private key (an installation token, never the workflow's GITHUB_TOKEN), and hands it the event the
// runner wrote to GITHUB_EVENT_PATH. The payload only routes; the use cases re-read everything.
// Exit 0: done; 1: the job failed (GitHub or a database unreachable, a revoke failed): nothing is
// granted by a failed job; 2: configuration (missing variable, wrong event).
import { Writable } from "node:stream";
import { Probot, ProbotOctokit } from "probot";
import type pg from "pg";
import { createApp } from "../app.ts";
import { loadConfig } from "../config.ts";
import { migrate } from "../db/migrations.ts";
import { createPool } from "../db/state.ts";
import type { Octokit } from "../github/octokit.ts";
import { createLogger } from "../log.ts";
import { deliveryOutcome } from "../db/actions-runs.ts";
import { mirrorBackstops } from "../db/backstop-mirror.ts";
import { buildDeps } from "../usecases/build-deps.ts";
import type { CliIo } from "../cli/io.ts";
import { readActionsRun, type ActionsJob, type ActionsRun } from "./environment.ts";
import { runSweepJob } from "./sweep.ts";
import { reconcileThisRepository } from "./lost-merges.ts";

export interface ActionsOptions {
  /** Tests: Octokit without retries, as the e2e harness uses. */
  Octokit?: typeof ProbotOctokit;
}

/** pull_request_target actions the check handles; `closed` never reaches a job without database secrets. */
const CHECK_ACTIONS: ReadonlySet<string> = new Set(["opened", "reopened", "synchronize", "ready_for_review", "converted_to_draft", "edited"]);

export interface JobContext {
  run: ActionsRun;
  probot: Probot;
  installationId: number;
  /** Installation-authenticated client for the run's repository. */
  octokit: Octokit;
  state: pg.Pool;
  env: NodeJS.ProcessEnv;
  appId: number;
  io: CliIo;
  log: ReturnType<typeof createLogger>;
}

export async function runActionsJob(job: ActionsJob, io: CliIo, o: ActionsOptions = {}): Promise<number> {
  const fail2 = (m: string) => {
    io.err(`jit actions ${job}: ${m}`);
    return 2;
  };
  const run = await readActionsRun(job, io.env);
  if ("code" in run) return fail2(`${run.code}: ${run.message}`);
  // I10: a workflow acts for its own repository unless the operator names the access repositories.
  const env: NodeJS.ProcessEnv = { ...io.env, JIT_REPOSITORIES: io.env.JIT_REPOSITORIES || run.repository };
  let config;
  try {
    config = loadConfig({ ...env, NODE_ENV: undefined }); // no webhook in this mode: the server's production rules do not apply
  } catch (e) {
    return fail2((e as Error).message);
  }
  if (!config.appId || !config.privateKey) return fail2("JIT_CONFIG_MISSING_ENV: APP_ID and PRIVATE_KEY (the GitHub App's key) are required");
  if (!env.DATABASE_URL) return fail2("JIT_CONFIG_MISSING_ENV: DATABASE_URL is not set (the state database; the check job uses its own throwaway one)");

  const log = createLogger({ level: env.LOG_LEVEL || "info", destination: lines(io) });
  const probot = new Probot({
    appId: config.appId, privateKey: config.privateKey, log, baseUrl: env.GITHUB_API_URL || config.github.apiUrl,
    ...(o.Octokit ? { Octokit: o.Octokit } : {}),
  });
  const state = createPool({ connectionString: env.DATABASE_URL, max: 5, application_name: `jit-actions-${job}` });
  try {
    try {
      await migrate(state);
    } catch (e) {
      // Fail closed: without the state database nothing is granted, revoked or recorded.
      io.err(`jit actions ${job}: JIT_DB_UNREACHABLE: the state database: ${(e as Error).message}`);
      return 1;
    }
    const app = (await probot.auth()) as unknown as Octokit;
    const installationId = (await app.rest.apps.getRepoInstallation({ owner: run.owner, repo: run.repo })).data.id;
    const octokit = (await probot.auth(installationId)) as unknown as Octokit;
    const ctx: JobContext = { run, probot, installationId, octokit, state, env, appId: Number(config.appId), io, log };
    if (job === "sweep") return await runSweepJob(ctx);
    return job === "check" ? await checkJob(ctx) : await grantJob(ctx);
  } catch (e) {
    io.err(`jit actions ${job}: failed: ${(e as Error).message}`);
    return 1;
  } finally {
    await state.end().catch(() => {});
  }
}

/** The app function, loaded into this job's Probot over the state database. */
async function loadApp(ctx: JobContext, o: { targetsAtMerge?: boolean } = {}) {
  const deps = { ...buildDeps({ state: ctx.state, env: ctx.env, log: ctx.log, appId: ctx.appId }), ...o };
  await ctx.probot.load(createApp(deps), { cwd: ctx.io.cwd, addHandler: () => {} });
  return deps;
}

/** Mirrors the ledger into the targets' in-database backstops (where installed) and says what they did. */
export async function mirrorForJob(ctx: JobContext): Promise<void> {
  for (const m of await mirrorBackstops(ctx.state, ctx.env, ctx.log)) {
    ctx.io.out(`backstop (${m.connectionEnv}): ${m.mirrored} grant(s) mirrored${m.revokedByBackstop.length ? `, ${m.revokedByBackstop.length} revoked by the backstop before this run` : ""}`);
  }
}

/** Feeds one event to the app function, as the server's worker does with a stored delivery. */
async function deliver(ctx: JobContext, id: string, name: string, payload: Record<string, unknown>): Promise<void> {
  // Workflow events carry no installation: it is the one this App has on the run's repository.
  await ctx.probot.receive({ id, name, payload: { ...payload, installation: { id: ctx.installationId } } } as never);
}

async function checkJob(ctx: JobContext): Promise<number> {
  const { run } = ctx;
  const deps = await loadApp(ctx, { targetsAtMerge: true });
  try {
    if (run.event === "pull_request_target") {
      const action = String(run.payload.action ?? "");
      if (!CHECK_ACTIONS.has(action)) {
        ctx.io.out(`pull_request_target.${action}: nothing to check (merges are handled by the grant job)`);
        return 0;
      }
      await deliver(ctx, `actions-${run.runId}`, "pull_request", run.payload);
      ctx.io.out(`checked pull request #${String((run.payload.pull_request as { number?: unknown } | undefined)?.number)}`);
      return 0;
    }
    // A review (through the review workflow's workflow_run) or a manual re-check: the PRs are found
    // through the API, and each is evaluated as a review of it would be.
    const numbers = await pullRequestsToCheck(ctx);
    for (const n of numbers) {
      const { data: pr } = await ctx.octokit.rest.pulls.get({ owner: run.owner, repo: run.repo, pull_number: n });
      const { data: repository } = await ctx.octokit.rest.repos.get({ owner: run.owner, repo: run.repo });
      await deliver(ctx, `actions-${run.runId}-pr${n}`, "pull_request_review", { action: "submitted", pull_request: pr, repository, review: {} });
    }
    ctx.io.out(numbers.length ? `checked pull request(s) ${numbers.map((n) => `#${n}`).join(", ")}` : "no open pull request to check");
    return 0;
  } finally {
    await deps.close();
  }
}

async function pullRequestsToCheck(ctx: JobContext): Promise<number[]> {
  const { run } = ctx;
  if (run.event === "workflow_dispatch") {
    const n = Number((run.payload.inputs as Record<string, unknown> | undefined)?.pull_request);
    return Number.isSafeInteger(n) && n > 0 ? [n] : [];
  }
  const wr = (run.payload.workflow_run ?? {}) as { head_sha?: string; pull_requests?: { number: number }[] };
  const listed = (wr.pull_requests ?? []).map((p) => p.number).filter((n) => Number.isSafeInteger(n) && n > 0);
  if (listed.length) return [...new Set(listed)];
  if (!wr.head_sha || !/^[0-9a-f]{40}$/.test(wr.head_sha)) return [];
  // A fork's PR is not listed in workflow_run: the open PRs whose head is that commit.
  const { data } = await ctx.octokit.rest.repos.listPullRequestsAssociatedWithCommit({ owner: run.owner, repo: run.repo, commit_sha: wr.head_sha });
  return data.filter((p) => p.state === "open" && p.head.sha === wr.head_sha).map((p) => p.number);
}

async function grantJob(ctx: JobContext): Promise<number> {
  const { run } = ctx;
  const deps = await loadApp(ctx);
  try {
    if (run.event === "push") {
      await deliver(ctx, `actions-${run.runId}`, "push", run.payload);
      ctx.io.out(`push ${String(run.payload.after ?? "").slice(0, 12)}: ${(await deliveryOutcome(ctx.state, `actions-${run.runId}`)) ?? "not handled"}`);
    }
    // Every grant run (and a manual one) also recovers merges whose push run never ran (I17).
    const report = await reconcileThisRepository(ctx, deps);
    await mirrorForJob(ctx);
    for (const r of report.recovered) ctx.io.out(`JIT_MERGE_RECOVERED ${r.repository}#${r.number}: ${r.kind}${r.code ? ` (${r.code})` : ""}`);
    for (const f of report.failed) ctx.io.err(`${f.repository}#${f.number}: not handled: ${f.error}`);
    // A merge refused for a passing reason (a target or its variable missing) is retried by the next
    // run; this one shows red so that someone looks.
    const transient = report.recovered.filter((r) => r.kind === "refused" && (r.code === "JIT_DB_UNREACHABLE" || r.code === "JIT_CONFIG_MISSING_ENV"));
    return report.failed.length || transient.length ? 1 : 0;
  } finally {
    await deps.close();
  }
}

/** A destination for the app's JSON log lines: the job's stderr (the Actions log). */
function lines(io: CliIo): Writable {
  let rest = "";
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      const parts = (rest + chunk.toString("utf8")).split("\n");
      rest = parts.pop() ?? "";
      for (const l of parts) if (l) io.err(l);
      done();
    },
  });
}
