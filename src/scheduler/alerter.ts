// Where the scheduler's alerts go: always the log; in the app also a `jit-alert` issue in the
// repository concerned. Each incident is claimed once in the outbox (claimOnce), so replicas and
// repeated sweeps do not list the issues again or file duplicates.
import type pg from "pg";
import { visible } from "../core/inert.ts";
import { raiseAlert, type Alert } from "../github/alerts.ts";
import type { GitHubAccess } from "../github/installations.ts";
import { repoRefOf } from "../github/installations.ts";
import { claimOnce, releaseClaim } from "../db/outbox.ts";

export interface SchedulerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface Alerter {
  /** Alerts once per (code, key); repository null: nowhere to file an issue, the log only. */
  alert(repository: string | null, alert: Alert): Promise<void>;
}

export function createAlerter(deps: { state: pg.Pool; log: SchedulerLogger; github?: GitHubAccess }): Alerter {
  return {
    async alert(repository, alert) {
      const dedupe = `alert:${alert.code}:${repository ?? "-"}:${alert.key}`;
      if (!(await claimOnce(deps.state, "alert", dedupe, { repository, code: alert.code, key: alert.key }))) return;
      deps.log.error({ code: alert.code, repository, key: visible(alert.key) }, alert.title.text);
      if (!deps.github || !repository) return;
      try {
        await raiseAlert(await deps.github.octokitFor(repository), repoRefOf(repository), alert, deps.github.appId);
      } catch (e) {
        // Give the claim back so the next sweep files the issue.
        await releaseClaim(deps.state, dedupe).catch(() => {});
        deps.log.warn({ code: alert.code, repository, error: (e as Error).message }, "could not file the alert issue; will retry");
      }
    },
  };
}
