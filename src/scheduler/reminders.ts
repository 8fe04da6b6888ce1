// A comment on the request's pull request shortly before its grant expires (JIT_REMIND_BEFORE),
// once per grant: claimOnce decides who posts across replicas and repeated sweeps.
import type pg from "pg";
import { ALL_REPOSITORIES, keyAuthority } from "../core/repositories.ts";
import { reminderComment } from "../core/messages.ts";
import type { GitHubAccess } from "../github/installations.ts";
import { repoRefOf } from "../github/installations.ts";
import { postComment } from "../github/sticky-comment.ts";
import { claimOnce, releaseClaim } from "../db/outbox.ts";
import { addressedToAuthor } from "../usecases/notify.ts";
import type { SchedulerLogger } from "./alerter.ts";

export const reminderKey = (g: { repository: string; database: string; requestId: string }) => `remind:${g.repository}:${g.database}/${g.requestId}`;

export async function sendReminders(deps: { state: pg.Pool; github: GitHubAccess; log: SchedulerLogger }, remindBeforeMs: number): Promise<number> {
  if (remindBeforeMs <= 0) return 0;
  const { rows } = await deps.state.query<{
    repository: string; database: string; request_id: string; path: string; pr_number: number; role: string; db_user: string; expires_at: Date; left_ms: string;
  }>(`SELECT repository, database, request_id, path, pr_number, role, db_user, expires_at, (extract(epoch FROM expires_at - now()) * 1000)::int8 AS left_ms
        FROM ledger l
       WHERE status = 'active' AND expires_at > now() AND expires_at <= now() + $1 * interval '1 millisecond' AND pr_number IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.dedupe_key = 'remind:' || l.repository || ':' || l.database || '/' || l.request_id)
       ORDER BY expires_at LIMIT 50`, [remindBeforeMs]);
  let sent = 0;
  for (const r of rows) {
    const g = { repository: r.repository, database: r.database, requestId: r.request_id };
    if (keyAuthority(deps.github.repositories ?? ALL_REPOSITORIES, g.repository, g.database)) continue; // I10: never written to a foreign repository
    const key = reminderKey(g);
    if (!(await claimOnce(deps.state, "comment", key, { pr: r.pr_number }))) continue;
    const expires = r.expires_at.getTime();
    const body = reminderComment({ role: r.role, dbUser: r.db_user, database: r.database, path: r.path, expiresAt: expires, now: expires - Number(r.left_ms) });
    try {
      const octokit = await deps.github.octokitFor(r.repository);
      await postComment(octokit, repoRefOf(r.repository), r.pr_number, await addressedToAuthor(octokit, repoRefOf(r.repository), r.pr_number, body));
      sent++;
    } catch (e) {
      await releaseClaim(deps.state, key).catch(() => {});
      deps.log.warn({ repository: r.repository, pr: r.pr_number, error: (e as Error).message }, "could not post the expiry reminder; will retry");
    }
  }
  return sent;
}
