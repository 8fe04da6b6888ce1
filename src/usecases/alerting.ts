// Alerts and one-off comments must happen once, however many replicas or redeliveries see the
// same incident: the outbox's unique dedupe key decides who posts (docs/security.md case 28).
import type pg from "pg";
import { claimOnce, releaseClaim } from "../db/outbox.ts";
import { raiseAlert, type Alert } from "../github/alerts.ts";
import { repoKey, type Octokit, type RepoRef } from "../github/octokit.ts";

/** Raises a `jit-alert` issue once per incident across replicas and redeliveries. */
export async function alertOnce(state: pg.Pool, octokit: Octokit, ref: RepoRef, alert: Alert, appId: number | undefined): Promise<void> {
  const key = `alert:${repoKey(ref)}:${alert.code}:${alert.key}`;
  if (!(await claimOnce(state, "alert", key, { code: alert.code, key: alert.key }))) return;
  try {
    await raiseAlert(octokit, ref, alert, appId);
  } catch (err) {
    await releaseClaim(state, key);
    throw err;
  }
}
