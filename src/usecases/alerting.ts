// The one alerter. Alerts must happen once, however many replicas, redeliveries or sweeps see the
// same incident: the outbox's unique dedupe key decides who files the `jit-alert` issue
// (docs/security.md case 28); the log always has it. Webhook use cases call alertOnce with the
// event's Octokit (a failure is thrown, so the delivery is retried); background work (sweep,
// health, dead letters) uses createAlerter, which finds the installation itself and retries on a
// later round when GitHub fails.
import type pg from "pg";
import { visible } from "../core/inert.ts";
import { claimOnce, releaseClaim } from "../db/outbox.ts";
import { raiseAlert, type Alert } from "../github/alerts.ts";
import { repoRefOf, type GitHubAccess } from "../github/installations.ts";
import { repoKey, type Octokit, type RepoRef } from "../github/octokit.ts";
import type { UseCaseLogger } from "./context.ts";

export interface Alerter {
  /** Alerts once per (repository, code, key); repository null: nowhere to file an issue, the log only. */
  alert(repository: string | null, alert: Alert): Promise<void>;
}

const alertKey = (repository: string | null, alert: Alert) => `alert:${repository ?? "-"}:${alert.code}:${alert.key}`;

/** Claims the incident, then files it; the claim is given back when filing fails (the next attempt files it). False: already alerted. */
async function claimAndFile(state: pg.Pool, repository: string | null, alert: Alert, file: (() => Promise<unknown>) | null): Promise<boolean> {
  const key = alertKey(repository, alert);
  if (!(await claimOnce(state, "alert", key, { repository, code: alert.code, key: alert.key }))) return false;
  if (!file) return true;
  try {
    await file();
  } catch (err) {
    await releaseClaim(state, key).catch(() => {});
    throw err;
  }
  return true;
}

/** Raises a `jit-alert` issue in the event's repository once per incident; a GitHub failure is thrown. */
export async function alertOnce(state: pg.Pool, octokit: Octokit, ref: RepoRef, alert: Alert, appId: number | undefined): Promise<void> {
  await claimAndFile(state, repoKey(ref), alert, () => raiseAlert(octokit, ref, alert, appId));
}

/** For background work: the log always, and the issue when GitHub access is configured. */
export function createAlerter(deps: { state: pg.Pool; log: UseCaseLogger; github?: GitHubAccess }): Alerter {
  return {
    async alert(repository, alert) {
      const github = deps.github;
      const file = github && repository ? async () => raiseAlert(await github.octokitFor(repository), repoRefOf(repository), alert, github.appId) : null;
      try {
        if (await claimAndFile(deps.state, repository, alert, file)) deps.log.error({ code: alert.code, repository, key: visible(alert.key) }, alert.title.text);
      } catch (e) {
        deps.log.error({ code: alert.code, repository, key: visible(alert.key) }, alert.title.text);
        deps.log.warn({ code: alert.code, repository, error: (e as Error).message }, "could not file the alert issue; will retry");
      }
    },
  };
}
