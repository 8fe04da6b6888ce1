// What `jit init` writes into a new access repository. The workflows run jit from its own
// repository at a pinned commit (`source`), never from the access repository's pull requests.
import { actionsWorkflows } from "./init-actions.ts";
import { CHECKOUT, NODE_VERSION, SETUP_NODE } from "./workflow-pins.ts";

export interface ScaffoldOptions {
  /** GitHub organization whose teams approve and request in the examples. */
  org: string;
  /** Where the workflows get jit: its GitHub repository and a commit SHA or tag. */
  source: { repository: string; ref: string };
  /** "server" (default): the app runs as a server, the backstop workflow sweeps; "actions": no server (docs/actions-mode.md). */
  mode?: "server" | "actions";
  /** The default branch the actions-mode workflows run on (default main). */
  branch?: string;
}

const DATABASE = "orders-prod";
const CONNECTION_ENV = "ORDERS_PROD_DATABASE_URL";

function policy(o: ScaffoldOptions): string {
  return `# yaml-language-server: $schema=../schemas/policy.schema.json
# Who may get which role on which database, and who approves. The app evaluates the default
# branch's version of this file; changes to it are owned by @${o.org}/security (.github/CODEOWNERS).
databases:
  ${DATABASE}:
    # The variable that holds the connection string in the app's environment (never the secret).
    connection_env: ${CONNECTION_ENV}
    roles:
      orders_readonly:
        max_duration: 8h
        approvals: 1
        approvers: ["@${o.org}/dba"]
        requesters: ["@${o.org}/engineering", "@${o.org}/dba"]
        require_ticket: true

# GitHub login -> database login, one database login per person, e.g.
#   alice: alice
identities: {}
`;
}

function codeowners(o: ScaffoldOptions): string {
  return `# Who must approve which paths. GitHub semantics: the LAST matching line wins.
# jit-access also requires an approving owner to match the role's \`approvers\` in policies/,
# so this file and the policies must agree (\`jit validate\` checks that they can).

# Everything not listed below.
*                    @${o.org}/security

# Access requests: the DBAs review who gets what.
/access-requests/    @${o.org}/dba

# What decides access: policies, schemas, CODEOWNERS and workflows.
/policies/           @${o.org}/security
/schemas/            @${o.org}/security
/.github/            @${o.org}/security
`;
}

/** Steps shared by both workflows: the access repository, jit at its pinned commit, Node. */
function setupSteps(o: ScaffoldOptions): string {
  return `      - uses: ${CHECKOUT}
        with:
          persist-credentials: false
${jitInstallSteps(o, "jit at a pinned commit of its own repository.")}`;
}

/** jit at its pinned commit under .jit, Node, production dependencies only (both modes' workflows). */
export function jitInstallSteps(o: ScaffoldOptions, comment: string): string {
  return `      # ${comment}
      - uses: ${CHECKOUT}
        with:
          repository: ${o.source.repository}
          ref: ${o.source.ref}
          path: .jit
          persist-credentials: false
      - uses: ${SETUP_NODE}
        with:
          node-version: ${NODE_VERSION}
          package-manager-cache: false
      # Only what jit needs at run time: no dev tools, no embedded PostgreSQL binaries (about 15 s from an empty npm cache).
      - run: npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund
        working-directory: .jit`;
}

// Node 24 runs jit's TypeScript itself (type stripping): no compiler, no dev dependency.
const JIT = "node .jit/bin/jit.mjs";

function validateWorkflow(o: ScaffoldOptions): string {
  return `# Validates policies and access requests on every pull request and annotates offending lines.
# Read-only token and no secrets: a workflow that a pull request starts must never reach database
# credentials (I9). The app re-checks everything itself; this is early feedback for the author.
name: validate

on:
  pull_request:

permissions:
  contents: read

jobs:
  validate:
    runs-on: ubuntu-latest
    timeout-minutes: 10
    steps:
${setupSteps(o)}
      - run: ${JIT} validate --repo . --format github
`;
}

function backstopWorkflow(o: ScaffoldOptions): string {
  return `# Backstop for expiry: one \`jit expire\` sweep every 15 minutes, off the hour. The app's own
# sweeper is the primary path; GitHub may run scheduled workflows late or skip them, so this only
# bounds how long access can outlive its window while the app is down.
#
# Secrets: DATABASE_URL (the app's state database) and one connection variable per database in
# policies/ live ONLY in the \`jit-expiry\` environment, whose deployment branch policy allows the
# default branch alone. Never add a pull_request (or pull_request_target, workflow_run) trigger
# here: a workflow started by a pull request must never reach database credentials (I9).
name: revoke-expired

on:
  schedule:
    - cron: "7,22,37,52 * * * *"
  workflow_dispatch:

permissions:
  contents: read

concurrency:
  group: revoke-expired
  cancel-in-progress: false

jobs:
  expire:
    # Belt and braces beside the environment's branch policy: only ever from the default branch.
    if: github.ref == format('refs/heads/{0}', github.event.repository.default_branch)
    runs-on: ubuntu-latest
    timeout-minutes: 10
    environment: jit-expiry
    steps:
${setupSteps(o)}
      # Revert PRs are queued in the app's outbox; this job's token is read-only and opens none.
      - run: ${JIT} expire --repo . --format text
        env:
          DATABASE_URL: \${{ secrets.DATABASE_URL }}
          ${CONNECTION_ENV}: \${{ secrets.${CONNECTION_ENV} }}
`;
}

function readme(o: ScaffoldOptions): string {
  return `# Database access requests

Access to production databases is granted for a limited time through pull requests, by the
jit-access GitHub App. Nobody keeps standing privileges; git history is the audit trail.

## Asking for access

Open a pull request that adds exactly one file, \`access-requests/<database>/<request-id>.yaml\`:

\`\`\`yaml
# yaml-language-server: $schema=../../schemas/access-request.schema.json
role: orders_readonly          # a grantable role of the database, per policies/
duration: 2h                   # <1-9999><m|h|d>, at most the role's max_duration
reason: Investigate INC-1234 duplicate orders
ticket: INC-1234               # required where the policy says so
\`\`\`

- The directory is the database (\`${DATABASE}\`), the file name is the request id (lowercase letters,
  digits and hyphens; used once).
- You are the requester, and the access goes to your own database login from \`identities\` in
  \`policies/\`. Ask @${o.org}/security to add you there once.
- The **jit-access** check on the pull request says what is wrong, who must approve and the exact
  SQL that will run. An approving review from a code owner who is also an approver in the policy
  (not you, not a commit author) is needed on the latest commit.
- Merge: the app re-checks everything and grants the role. At expiry it takes the role away, ends
  your sessions and opens a pull request that deletes the file.

## Checking locally

\`\`\`sh
jit validate                   # from anywhere in this repository
jit owners access-requests/${DATABASE}/<request-id>.yaml   # who must approve
\`\`\`

## Layout

- \`policies/\`: databases, grantable roles, who may request and who approves.
- \`.github/CODEOWNERS\`: who must approve which paths; it must agree with the policies' approvers.
- \`schemas/\`: JSON Schemas of requests and policies, for editor completion.
- \`.github/workflows/validate.yml\`: checks every pull request (no secrets).
${workflowsLayout(o)}
`;
}

function workflowsLayout(o: ScaffoldOptions): string {
  if (o.mode === "actions") {
    return `- \`.github/workflows/jit-*.yml\`: the app itself, run by GitHub Actions (actions mode): the check
  (the App's key in the \`jit-app\` environment), grant on merge and the expiry sweep (database
  secrets in the \`jit-database\` environment); both environments allow the default branch only.`;
  }
  return `- \`.github/workflows/revoke-expired.yml\`: the scheduled expiry backstop (secrets in the
  \`jit-expiry\` environment, default branch only).`;
}

/** Repository-relative path -> content, in the order they are written and printed. */
export function scaffoldFiles(o: ScaffoldOptions, schemas: ReadonlyMap<string, string>): Map<string, string> {
  const files = new Map<string, string>([
    ["README.md", readme(o)],
    [".github/CODEOWNERS", codeowners(o)],
    [".github/workflows/validate.yml", validateWorkflow(o)],
    ...(o.mode === "actions"
      ? actionsWorkflows({ ...o, branch: o.branch ?? "main", connectionEnv: CONNECTION_ENV })
      : new Map([[".github/workflows/revoke-expired.yml", backstopWorkflow(o)]])),
    ["policies/example.yaml", policy(o)],
  ]);
  for (const [name, text] of schemas) files.set(`schemas/${name}`, text);
  return files;
}
