// `jit rebuild --repo OWNER/NAME [--since DATE] [--format text|json]`: after the state database
// was lost, rebuild the ledger's history of one access repository from GitHub (docs/operations.md).
// Reads merged request PRs, their approvals, the app's own comments and revert PRs; writes rows that
// are never active, each marked rebuilt with what GitHub cannot prove; restores the merge records so
// replays are refused. Never connects to a target database and never grants.
// Exit 0 rebuilt, 1 the state database already holds rows for the repository or GitHub failed,
// 2 usage or configuration error.
import { planRebuild } from "../core/rebuild-plan.ts";
import { parseReportDate } from "../core/report-period.ts";
import { ledgerRowsFor, stateNow, writeRebuilt } from "../db/rebuild.ts";
import { repoRefOf } from "../github/installations.ts";
import type { Octokit } from "../github/octokit.ts";
import { readMergedRequests } from "../github/rebuild-read.ts";
import { localUser } from "./actor.ts";
import { parseCommand } from "./args.ts";
import { githubForCli } from "./github-access.ts";
import type { CliIo } from "./io.ts";
import { openStateForCli } from "./state-access.ts";

const USAGE = `usage: jit rebuild --repo OWNER/NAME [--since DATE] [--format text|json]

Rebuilds the ledger's history of one access repository from GitHub into a state database that holds
none of it (after the state was lost; docs/operations.md): merged request PRs, their approvals, the
app's own comments and revert PRs. Nothing is granted and no target database is contacted; rebuilt
rows are never active and say what GitHub cannot prove. Request ids stay single-use.
  --repo OWNER/NAME  the access repository
  --since DATE       only PRs merged from DATE (YYYY-MM-DD or RFC 3339); default: all
Needs APP_ID and PRIVATE_KEY or PRIVATE_KEY_PATH (GITHUB_API_URL for another API root) and DATABASE_URL.
Exit status: 0 rebuilt, 1 rows already present (JIT_REBUILD_NOT_EMPTY) or GitHub failed, 2 usage or configuration error.`;

const REPO = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;

export async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parseCommand(argv, io, {
    command: "rebuild", usage: USAGE, formats: ["text", "json"], options: { repo: { type: "string" }, since: { type: "string" } },
  });
  if (typeof args === "number") return args;
  const { repo, since } = args.values;
  if (!repo || !REPO.test(repo)) return args.usageError("--repo OWNER/NAME is required");
  const sinceMs = since === undefined ? null : parseReportDate(since);
  if (since !== undefined && sinceMs === null) return args.usageError(`--since: not a date or RFC 3339 time: ${JSON.stringify(since.slice(0, 40))}`);
  const repository = repo.toLowerCase();

  const gh = githubForCli(io, "rebuild");
  if (gh === 2) return 2;
  const { probot, appId } = gh;
  const state = await openStateForCli(io, "rebuild");
  if (state === 2) return 2;
  try {
    const present = await ledgerRowsFor(state.pool, repository);
    if (present > 0) {
      io.err(`jit rebuild: JIT_REBUILD_NOT_EMPTY: the state database already holds ${present} ledger rows for ${repository}; nothing written`);
      return 1;
    }
    let read;
    try {
      const app = (await probot.auth()) as unknown as Octokit;
      const slug = (await app.rest.apps.getAuthenticated()).data?.slug;
      const botLogin = `${slug}[bot]`;
      const octokit = await gh.access.octokitFor(repository);
      const bot = (await octokit.rest.users.getByUsername({ username: botLogin })).data;
      let shown = -1;
      read = await readMergedRequests(octokit, repoRefOf(repository), {
        appId, bot: { login: botLogin, id: bot.id }, sinceMs,
        progress: (done, total) => {
          if (done === total || done - shown >= 25) {
            shown = done;
            io.err(`jit rebuild: read ${done} of ${total} merged pull requests`);
          }
        },
      });
    } catch (e) {
      io.err(`jit rebuild: GitHub: ${(e as Error).message}`);
      return 1;
    }
    const plan = planRebuild(repository, read.prs, await stateNow(state.pool));
    let written: number;
    try {
      written = await writeRebuilt(state.pool, repository, plan.rows, `cli:rebuild:${localUser(io)}`);
    } catch (e) {
      if ((e as { code?: string }).code !== "JIT_REBUILD_NOT_EMPTY") throw e;
      io.err(`jit rebuild: JIT_REBUILD_NOT_EMPTY: ${(e as Error).message}; nothing written`);
      return 1;
    }
    const summary = {
      repository, rows: written,
      byStatus: plan.rows.reduce<Record<string, number>>((m, r) => ({ ...m, [r.status]: (m[r.status] ?? 0) + 1 }), {}),
      requests: plan.rows.map((r) => ({ database: r.database, requestId: r.requestId, prNumber: r.prNumber, status: r.status, unproven: r.unproven })),
      unknown: plan.unknown, skipped: read.skipped,
    };
    if (args.format === "json") io.out(JSON.stringify(summary, null, 2));
    else {
      io.out(`rebuilt ${written} ledger rows for ${repository} (${Object.entries(summary.byStatus).map(([s, n]) => `${n} ${s}`).join(", ") || "none"}); none is active`);
      for (const r of summary.requests) io.out(`  ${r.database}/${r.requestId}  #${r.prNumber}  ${r.status}  not provable: ${r.unproven.join(", ")}`);
      for (const u of plan.unknown) io.out(`  not rebuilt: #${u.prNumber} ${u.path}: ${u.why} (the merge path handles it if it is replayed)`);
      for (const s of read.skipped) io.out(`  skipped: #${s.prNumber}: ${s.why}`);
      io.out("next: start the app (or run `jit reconcile`): memberships the app made that no active row accounts for are revoked as drift.");
    }
    return 0;
  } finally {
    await state.close();
  }
}
