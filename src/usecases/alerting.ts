// The one alerter. Alerts must happen once, however many replicas, redeliveries or sweeps see the
// same incident: the outbox's unique dedupe key decides who files the `jit-alert` issue
// (docs/security.md case 28), and an issue GitHub refused is retried by the outbox's drain
// (github-effects.ts). Webhook use cases call alertOnce with the event's Octokit; background work
// (sweep, health, dead letters) uses createAlerter, which finds the installation itself and logs
// every new incident.
import type pg from "pg";
import { visible } from "../core/inert.ts";
import { raiseAlert, type Alert } from "../github/alerts.ts";
import { repoRefOf, type GitHubAccess } from "../github/installations.ts";
import { repoKey, type Octokit, type RepoRef } from "../github/octokit.ts";
import type { UseCaseLogger } from "./context.ts";
import { alertOnceVia } from "./github-effects.ts";

export interface Alerter {
  /** Alerts once per (repository, code, key); repository null: nowhere to file an issue, the log only. */
  alert(repository: string | null, alert: Alert): Promise<void>;
}

/** Raises a `jit-alert` issue in the event's repository once per incident (through the outbox: a GitHub failure is retried by its drain). */
export async function alertOnce(state: pg.Pool, octokit: Octokit, ref: RepoRef, alert: Alert, appId: number | undefined): Promise<void> {
  await alertOnceVia(state, repoKey(ref), alert, () => raiseAlert(octokit, ref, alert, appId));
}

/** For background work: the log always, and the issue when GitHub access is configured. */
export function createAlerter(deps: { state: pg.Pool; log: UseCaseLogger; github?: GitHubAccess }): Alerter {
  return {
    async alert(repository, alert) {
      const github = deps.github;
      const file = github && repository ? async () => raiseAlert(await github.octokitFor(repository), repoRefOf(repository), alert, github.appId) : null;
      if (await alertOnceVia(deps.state, repository, alert, file)) deps.log.error({ code: alert.code, repository, key: visible(alert.key) }, alert.title.text);
    },
  };
}
