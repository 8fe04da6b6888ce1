// The leader's GitHub work: drain the outbox (revert PRs and other queued side effects) and post
// expiry reminders. It runs beside the sweeps, never in front of them, one run at a time.
import type pg from "pg";
import { revertFailingAlert } from "../core/messages.ts";
import { REVERT_PR_KIND } from "../db/reverts.ts";
import type { GitHubAccess } from "../github/installations.ts";
import type { Alerter } from "../usecases/alerting.ts";
import type { UseCaseLogger } from "../usecases/context.ts";
import type { LeaderLock } from "./leader.ts";
import { drainOutbox, type DrainReport, type OutboxHandler } from "./outbox.ts";
import { sendReminders } from "./reminders.ts";

export interface GitHubWorkDeps {
  state: pg.Pool;
  github: GitHubAccess;
  log: UseCaseLogger;
  alerter: Alerter;
  leader: LeaderLock;
  handlers: Record<string, OutboxHandler>;
  remindBeforeMs: number;
  backoff?: (attempts: number) => number;
}

export class GitHubWork {
  private running: Promise<DrainReport | null> | null = null;
  private readonly deps: GitHubWorkDeps;

  constructor(deps: GitHubWorkDeps) {
    this.deps = deps;
  }

  /** The run in progress, if any. */
  get current(): Promise<DrainReport | null> | null {
    return this.running;
  }

  /** Starts a run unless one is in progress. */
  kick(withReminders: boolean): void {
    if (this.running) return;
    this.running = this.run(withReminders).finally(() => {
      this.running = null;
    });
  }

  private async run(withReminders: boolean): Promise<DrainReport | null> {
    const { state, log, alerter, leader, github } = this.deps;
    try {
      const drained = await drainOutbox(state, this.deps.handlers, leader, { limit: 50, ...(this.deps.backoff ? { backoff: this.deps.backoff } : {}) });
      for (const d of drained.done) log.info({ outbox: d.id, kind: d.kind, result: d.result }, "outbox item done");
      for (const f of drained.retried) {
        log.warn({ outbox: f.id, kind: f.kind, attempts: f.attempts, error: f.error }, "outbox item failed; retried later");
        const p = f.payload as { repository?: string; database?: string; requestId?: string } | null;
        if (f.kind === REVERT_PR_KIND && f.attempts === 5 && p?.repository) {
          await alerter.alert(p.repository, revertFailingAlert({ database: String(p.database), requestId: String(p.requestId), attempts: f.attempts, error: f.error }));
        }
      }
      if (withReminders && this.deps.remindBeforeMs > 0 && leader.isLeader) await sendReminders({ state, github, log }, this.deps.remindBeforeMs);
      return drained;
    } catch (e) {
      log.warn({ error: (e as Error).message }, "outbox run failed; retried on the next tick");
      return null;
    }
  }
}
