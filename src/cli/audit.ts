// `jit audit <database>/<request-id> [--format text|json] [--repo OWNER/NAME]`: one grant's whole
// story from the ledger (docs/audit.md). Works offline: it reads only the state database.
// Exit 0 shown, 1 not found, 2 usage error, ambiguous request or state database unreachable.
import { buildStory, renderStoryText } from "../core/audit-story.ts";
import { DATABASE_KEY_PATTERN, REQUEST_ID_PATTERN } from "../core/request-path.ts";
import { activityForAudit, breakGlassForAudit, findStories, loadStory, scheduleForAudit } from "../db/audit.ts";
import { crossCheck } from "../github/audit-read.ts";
import { repoRefOf } from "../github/installations.ts";
import { parseCommand } from "./args.ts";
import { githubForCli } from "./github-access.ts";
import type { CliIo } from "./io.ts";
import { openStateForCli } from "./state-access.ts";

const USAGE = `usage: jit audit <database>/<request-id> [--format text|json] [--repo OWNER/NAME] [--github]

Shows one grant's story from the ledger: request file and blob, requester, beneficiary (login, OID),
reason and ticket, approvals (reviewer, review id, commit, time), the merge decision, merge SHA and
time, the SQL run and its verification, extensions, sessions ended, the revoke, revert PR, alerts.
  --repo OWNER/NAME   which access repository, when several use the same state database
  --github            also read the pull request, its reviews, the request blob and the revert PR from
                      GitHub today and show whether they match (needs APP_ID and PRIVATE_KEY)
Exit status: 0 shown, 1 not found, 2 usage error, ambiguous or state database unreachable.`;

const TARGET = new RegExp(`^(${DATABASE_KEY_PATTERN.source.slice(1, -1)})/(${REQUEST_ID_PATTERN.source.slice(1, -1)})$`);

export async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parseCommand(argv, io, {
    command: "audit", usage: USAGE, positionals: true, formats: ["text", "json"],
    options: { repo: { type: "string" }, repository: { type: "string" }, github: { type: "boolean" } },
  });
  if (typeof args === "number") return args;
  const target = args.positionals.length === 1 ? TARGET.exec(args.positionals[0]!) : null;
  if (!target) return args.usageError("give exactly one <database>/<request-id>");
  const [, database, requestId] = target as unknown as [string, string, string];
  const repo = (args.values.repo ?? args.values.repository)?.toLowerCase();
  const state = await openStateForCli(io, "audit");
  if (state === 2) return 2;
  try {
    const rows = (await findStories(state.pool, database, requestId)).filter((r) => !repo || r.repository.toLowerCase() === repo);
    if (!rows.length) {
      // A scheduled request not started yet has no ledger row: say when it starts (still exit 1: no grant).
      const scheduled = repo ? await scheduleForAudit(state.pool, { repository: repo, database, requestId }) : null;
      const note = scheduled ? `; scheduled (${scheduled.status}) to start at ${scheduled.startsAt.toISOString()}, see jit status` : "";
      io.err(`jit audit: JIT_GRANT_NOT_FOUND: no grant recorded for ${database}/${requestId}${repo ? ` in ${repo}` : ""}${note}`);
      return 1;
    }
    if (rows.length > 1) {
      io.err(`jit audit: ${database}/${requestId} exists in several repositories (${rows.map((r) => r.repository).join(", ")}); pass --repo OWNER/NAME`);
      return 2;
    }
    const row = rows[0]!;
    const loaded = await loadStory(state.pool, row);
    let github: { check: Record<string, unknown> | null; error: string | null } | null = null;
    if (args.values.github) {
      const gh = githubForCli(io, "audit");
      if (gh === 2) return 2;
      const revert = [...loaded.events].reverse().find((e) => e.kind === "revert_pr_merged" || e.kind === "revert_pr_opened");
      try {
        const check = await crossCheck(await gh.access.octokitFor(row.repository), repoRefOf(row.repository), {
          prNumber: row.prNumber, mergeSha: row.mergeSha, path: row.path, blobSha: loaded.facts.blobSha,
          approvals: loaded.facts.approvals.length ? loaded.facts.approvals : row.approvers.map((login) => ({ login, reviewId: null })),
          revertPr: typeof revert?.details.pr === "number" ? revert.details.pr : null,
        });
        github = { check: { ...check }, error: null };
      } catch (e) {
        github = { check: null, error: (e as Error).message.slice(0, 300) }; // offline: the ledger's story stands alone
      }
    }
    const story = buildStory({ ...loaded, activity: await activityForAudit(state.pool, row), github,
      schedule: await scheduleForAudit(state.pool, row), breakGlass: await breakGlassForAudit(state.pool, row) });
    if (args.format === "json") io.out(JSON.stringify(story, null, 2));
    else for (const l of renderStoryText(story)) io.out(l);
    return 0;
  } finally {
    await state.close();
  }
}
