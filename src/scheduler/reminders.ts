// A comment on the request's pull request shortly before its grant expires (JIT_REMIND_BEFORE),
// once per grant: the outbox key decides who posts across replicas and repeated sweeps.
import type pg from "pg";
import { ALL_REPOSITORIES, keyAuthority } from "../core/repositories.ts";
import { reminderComment } from "../core/messages.ts";
import type { GitHubAccess } from "../github/installations.ts";
import { repoRefOf } from "../github/installations.ts";
import { commentOnce } from "../usecases/github-effects.ts";
import { addressedToAuthor } from "../usecases/notify.ts";
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
    const expires = r.expiresAt.getTime();
    const body = reminderComment({ role: r.role, dbUser: r.dbUser, database: r.database, path: r.path, expiresAt: expires, now: expires - r.leftMs });
    try {
      // Through the outbox: posted now, or retried by its drain; once per grant either way.
      const target = { octokit: await deps.github.octokitFor(r.repository), ref: repoRefOf(r.repository) };
      // Item 8: addressed to the request PR's author as GitHub reports it.
      if (await commentOnce(deps.state, target, { pr: r.prNumber, key, body: await addressedToAuthor(target.octokit, target.ref, r.prNumber, body) })) sent++;
    } catch (e) {
      deps.log.warn({ repository: r.repository, pr: r.prNumber, error: (e as Error).message }, "could not queue the expiry reminder; will retry");
    }
  }
  return sent;
}
