// `jit actions check|grant|sweep`: the entry points of the workflows `jit init --mode actions`
// writes (docs/actions-mode.md). Exit 0 done, 1 the job failed (nothing granted by it), 2 usage or
// configuration.
import { parseCommand } from "../cli/args.ts";
import type { CliIo } from "../cli/io.ts";
import { JOB_EVENTS, type ActionsJob } from "./environment.ts";

const JOBS = Object.keys(JOB_EVENTS) as ActionsJob[];

const USAGE = `usage: jit actions check|grant|sweep

Runs the app for one GitHub Actions job, from the event the runner provides (GITHUB_EVENT_NAME,
GITHUB_EVENT_PATH, GITHUB_REPOSITORY, GITHUB_RUN_ID), as the GitHub App (APP_ID, PRIVATE_KEY).
  check   pull_request_target, workflow_run (reviews), workflow_dispatch: the jit-access check run;
          no database secret (DATABASE_URL is the job's throwaway state database)
  grant   push to the default branch, workflow_dispatch: re-verifies merged request PRs and grants;
          recovers lost merges (DATABASE_URL and the targets' connection variables)
  sweep   schedule, workflow_dispatch: revokes what is due, opens revert PRs, recovers lost merges
JIT_REPOSITORIES defaults to GITHUB_REPOSITORY; GITHUB_API_URL points at GitHub Enterprise Server.
Exit status: 0 done, 1 the job failed (nothing granted by it), 2 usage or configuration error.`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parseCommand(argv, io, { command: "actions", usage: USAGE, positionals: true, options: {} });
  if (typeof args === "number") return args;
  const [job, ...rest] = args.positionals;
  if (!job || rest.length || !(JOBS as string[]).includes(job)) return args.usageError(`give one job: ${JOBS.join(", ")}`);
  const { runActionsJob } = await import("./run.ts");
  return runActionsJob(job as ActionsJob, io);
}
