// Alerts and one-off comments must happen once, however many replicas or redeliveries see the
// same incident: the outbox's unique dedupe key decides who posts (docs/security.md case 28).
import type pg from "pg";
import { raiseAlert, type Alert } from "../github/alerts.ts";
import { repoKey, type Octokit, type RepoRef } from "../github/octokit.ts";

/** True for exactly one caller per key; the row stays as the record that it was done. */
export async function claimOnce(state: pg.Pool, kind: string, dedupeKey: string, payload: object): Promise<boolean> {
  const { rowCount } = await state.query(
    "INSERT INTO outbox (kind, dedupe_key, payload, done, done_at) VALUES ($1, $2, $3, true, clock_timestamp()) ON CONFLICT (dedupe_key) DO NOTHING",
    [kind, dedupeKey, JSON.stringify(payload)],
  );
  return rowCount === 1;
}

/** Gives a claim back when its side effect failed, so a redelivery can try again. */
export async function releaseClaim(state: pg.Pool, dedupeKey: string): Promise<void> {
  await state.query("DELETE FROM outbox WHERE dedupe_key = $1", [dedupeKey]);
}

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
