// A comment on the request's pull request shortly before its grant expires (JIT_REMIND_BEFORE),
// once per grant: claimOnce decides who posts across replicas and repeated sweeps.
import type pg from "pg";
import { ALL_REPOSITORIES, keyAuthority } from "../core/repositories.ts";
import { reminderComment } from "../core/messages.ts";
import type { GitHubAccess } from "../github/installations.ts";
import { repoRefOf } from "../github/installations.ts";
import { postComment } from "../github/sticky-comment.ts";
import { claimOnce, releaseClaim } from "../db/outbox.ts";
import { reminderKey, remindersDue } from "../db/reminders.ts";
import type { SchedulerLogger } from "./alerter.ts";

export { reminderKey };

export async function sendReminders(deps: { state: pg.Pool; github: GitHubAccess; log: SchedulerLogger }, remindBeforeMs: number): Promise<number> {
  if (remindBeforeMs <= 0) return 0;
  const rows = await remindersDue(deps.state, remindBeforeMs);
  let sent = 0;
  for (const r of rows) {
    const g = { repository: r.repository, database: r.database, requestId: r.requestId };
    if (keyAuthority(deps.github.repositories ?? ALL_REPOSITORIES, g.repository, g.database)) continue; // I10: never written to a foreign repository
    const key = reminderKey(g);
    if (!(await claimOnce(deps.state, "comment", key, { pr: r.prNumber }))) continue;
    const expires = r.expiresAt.getTime();
    const body = reminderComment({ role: r.role, dbUser: r.dbUser, database: r.database, expiresAt: expires, now: expires - r.leftMs });
    try {
      await postComment(await deps.github.octokitFor(r.repository), repoRefOf(r.repository), r.prNumber, body);
      sent++;
    } catch (e) {
      await releaseClaim(deps.state, key).catch(() => {});
      deps.log.warn({ repository: r.repository, pr: r.prNumber, error: (e as Error).message }, "could not post the expiry reminder; will retry");
    }
  }
  return sent;
}
