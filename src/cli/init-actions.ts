// The workflows `jit init --mode actions` writes: the whole app without a server (docs/actions-mode.md).
// Three GitHub environments split the secrets, each with a deployment branch rule allowing the
// default branch alone, so no branch a requester pushes (and no pull request's own workflow) can
// start a job that reads them:
//   jit-app       the App's private key only: the check, started by pull_request_target (the base
//                 branch's workflow) and workflow_run (the default branch's workflow);
//   jit-database  the App's key, DATABASE_URL and the targets' connection variables: grant and sweep,
//                 started by push to the default branch, the schedule and workflow_dispatch.
// The review workflow runs the pull request's own workflow file (pull_request_review does), so it
// holds nothing and does nothing but exist: its completion starts the check through workflow_run.
import { jitInstallSteps, type ScaffoldOptions } from "./init-templates.ts";

export const APP_ENVIRONMENT = "jit-app";
export const DATABASE_ENVIRONMENT = "jit-database";
export const REVIEW_WORKFLOW = "jit-review";
/** The App's id and key: the only secrets a job started by a pull request may name. */
export const APP_ID_SECRET = "JIT_APP_ID";
export const APP_KEY_SECRET = "JIT_APP_PRIVATE_KEY";
// A throwaway PostgreSQL beside the check job: its state lives for one job (docs/actions-mode.md).
const CHECK_STATE_PASSWORD = "throwaway-check-state";

export interface ActionsScaffoldOptions extends ScaffoldOptions {
  /** The access repository's default branch (push trigger and the jobs' guard). */
  branch: string;
  /** The connection variable of the example database. */
  connectionEnv: string;
}

/** jit at its pinned commit, Node, production dependencies only. No checkout of the access repository. */
function jitSteps(o: ActionsScaffoldOptions): string {
  return jitInstallSteps(o, "jit at a pinned commit of its own repository; nothing of the access repository is checked out:\n      # everything is read through the API as the App.");
}

const JIT = "node .jit/bin/jit.mjs";
const onDefaultBranch = "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)";

function checkWorkflow(o: ActionsScaffoldOptions): string {
  return `# jit-access check on request pull requests, as the GitHub App (team membership and code owners
# resolve as in the server). pull_request_target runs THIS file as it is on the base branch, never
# the pull request's copy; nothing of the pull request is checked out or run. Reviews reach it
# through workflow_run (started by the ${REVIEW_WORKFLOW} workflow), which runs the default branch's file.
# Secrets: the App's key only, from the ${APP_ENVIRONMENT} environment (default branch only). No database
# secret: the job's state is a throwaway PostgreSQL beside it; the grant job re-verifies everything.
name: jit-check

on:
  pull_request_target:
    types: [opened, synchronize, reopened, ready_for_review, converted_to_draft, edited]
  workflow_run:
    workflows: [${REVIEW_WORKFLOW}]
    types: [completed]
  workflow_dispatch:
    inputs:
      pull_request:
        description: Number of the pull request to check again
        required: true
        type: string

permissions:
  contents: read

concurrency:
  group: jit-check-\${{ github.event.pull_request.number || github.event.workflow_run.head_sha || github.run_id }}
  cancel-in-progress: true

jobs:
  check:
    # Only pull requests into the default branch, and only the default branch's workflow file.
    if: (github.event_name != 'pull_request_target' || github.event.pull_request.base.ref == github.event.repository.default_branch) && (github.event_name == 'pull_request_target' || ${onDefaultBranch})
    runs-on: ubuntu-latest
    timeout-minutes: 10
    environment: ${APP_ENVIRONMENT}
    services:
      state:
        image: postgres:17
        env:
          POSTGRES_PASSWORD: ${CHECK_STATE_PASSWORD}
        ports:
          - 5432:5432
        options: --health-cmd pg_isready --health-interval 2s --health-timeout 5s --health-retries 15
    steps:
${jitSteps(o)}
      - run: ${JIT} actions check
        env:
          APP_ID: \${{ secrets.${APP_ID_SECRET} }}
          PRIVATE_KEY: \${{ secrets.${APP_KEY_SECRET} }}
          DATABASE_URL: postgresql://postgres:${CHECK_STATE_PASSWORD}@127.0.0.1:5432/postgres
`;
}

function reviewWorkflow(): string {
  return `# A review of a pull request. pull_request_review runs the pull request's own copy of this file,
# so this workflow holds no secret and runs nothing: its completion starts jit-check through
# workflow_run, which runs the default branch's jit-check with the App's key.
name: ${REVIEW_WORKFLOW}

on:
  pull_request_review:
    types: [submitted, edited, dismissed]

permissions:
  contents: read

jobs:
  relay:
    runs-on: ubuntu-latest
    timeout-minutes: 2
    steps:
      - run: echo "review recorded; jit-check evaluates the pull request from the API"
`;
}

function databaseJob(o: ActionsScaffoldOptions, command: string): string {
  // A schedule runs only the default branch's file, and its event names no repository.
  return `    # Belt and braces beside the environment's branch rule: only ever from the default branch.
    if: ${command === "sweep" ? "github.event_name == 'schedule' || " : ""}${onDefaultBranch}
    runs-on: ubuntu-latest
    timeout-minutes: 15
    environment: ${DATABASE_ENVIRONMENT}
    steps:
${jitSteps(o)}
      - run: ${JIT} actions ${command}
        env:
          APP_ID: \${{ secrets.${APP_ID_SECRET} }}
          PRIVATE_KEY: \${{ secrets.${APP_KEY_SECRET} }}
          DATABASE_URL: \${{ secrets.DATABASE_URL }}
          ${o.connectionEnv}: \${{ secrets.${o.connectionEnv} }}
`;
}

function grantWorkflow(o: ActionsScaffoldOptions): string {
  return `# Grants on merge: a push to the default branch re-verifies each merged request pull request from
# API reads (approvals, policies and CODEOWNERS at the merge's first parent, the exact merged head)
# and grants, once per merge (a re-run changes nothing). Every run also recovers merges whose run
# never happened. Secrets in the ${DATABASE_ENVIRONMENT} environment (default branch only). Never add a
# pull_request, pull_request_target, pull_request_review, issue_comment or workflow_run trigger here.
name: jit-grant

on:
  push:
    branches: [${o.branch}]
    paths: ["access-requests/**"]
  workflow_dispatch:

permissions:
  contents: read

concurrency:
  group: jit-grant
  cancel-in-progress: false

jobs:
  grant:
${databaseJob(o, "grant")}`;
}

function sweepWorkflow(o: ActionsScaffoldOptions): string {
  return `# Expiry and reconciliation, off the hour: revokes what is due (sessions ended, verified), revokes
# app-made memberships without a ledger row, opens and merges revert PRs as the App, reminds, and
# recovers lost merges. GitHub may start scheduled runs late or skip them: the revoke lag is bounded
# by this schedule, or by a minute where the in-database backstop runs (jit backstop install).
name: jit-sweep

on:
  schedule:
    - cron: "7,22,37,52 * * * *"
  workflow_dispatch:

permissions:
  contents: read

concurrency:
  group: jit-sweep
  cancel-in-progress: false

jobs:
  sweep:
${databaseJob(o, "sweep")}`;
}

/** Repository-relative path -> content of the actions-mode workflows. */
export function actionsWorkflows(o: ActionsScaffoldOptions): Map<string, string> {
  return new Map([
    [".github/workflows/jit-check.yml", checkWorkflow(o)],
    [`.github/workflows/${REVIEW_WORKFLOW}.yml`, reviewWorkflow()],
    [".github/workflows/jit-grant.yml", grantWorkflow(o)],
    [".github/workflows/jit-sweep.yml", sweepWorkflow(o)],
  ]);
}
