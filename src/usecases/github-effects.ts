// Comments and alert issues go through the one outbox (src/db/outbox.ts): the item is written once
// per dedupe key with its rendered text (from the pure renderers in core/messages.ts), then tried
// at once; a GitHub failure leaves it queued and the scheduler's drain retries it with backoff. The
// key decides who posts across replicas and redeliveries, and completion is recorded, so nothing is
// posted twice. While the first try runs, the item is held back from the drain.
import type pg from "pg";
import { Md, Plain } from "../core/inert.ts";
import { claimOnce, complete, enqueueItem, fail } from "../db/outbox.ts";
import type { Queryable } from "../db/state.ts";
import { raiseAlert, type Alert } from "../github/alerts.ts";
import { repoRefOf, type GitHubAccess } from "../github/installations.ts";
import type { Octokit, RepoRef } from "../github/octokit.ts";
import { postComment } from "../github/sticky-comment.ts";
import type { OutboxHandler } from "../scheduler/outbox.ts";

export const COMMENT_KIND = "comment";
export const ALERT_KIND = "alert";
/** The first try's head start before the drain may take the item. */
const HOLD_MS = 5 * 60_000;

interface CommentPayload {
  repository: string;
  pr: number;
  body: string;
}

interface AlertPayload {
  repository: string | null;
  code: Alert["code"];
  key: string;
  title: string;
  body: string;
}

/** Queued now; true when this call queued it (false: posted or queued before, nothing to do). */
async function queueAndTry(state: pg.Pool, kind: string, dedupeKey: string, payload: object, now: () => Promise<unknown>): Promise<boolean> {
  const id = await enqueueItem(state, { kind, dedupeKey, payload: payload as Record<string, unknown> }, HOLD_MS);
  if (id === null) return false;
  await tryNow(state, id, now);
  return true;
}

async function tryNow(state: pg.Pool, id: number, post: () => Promise<unknown>): Promise<void> {
  try {
    await post();
    await complete(state, id);
  } catch (e) {
    const status = (e as { status?: unknown }).status;
    // Left for the drain: the backoff starts now (30 s, doubling).
    await fail(state, id, `${typeof status === "number" ? `HTTP ${status}: ` : ""}${String((e as Error).message).split("\n")[0]}`.slice(0, 500));
  }
}

type Target = { octokit: Octokit; ref: RepoRef };
type CommentEffect = { pr: number; key: string; body: Md };

/** A comment on PR `pr`, once per key. */
export function commentOnce(state: pg.Pool, target: Target, e: CommentEffect): Promise<boolean> {
  const payload: CommentPayload = { repository: `${target.ref.owner}/${target.ref.repo}`, pr: e.pr, body: e.body.text };
  return queueAndTry(state, COMMENT_KIND, e.key, payload, () => postComment(target.octokit, target.ref, e.pr, e.body));
}

/**
 * Queues a comment inside the caller's transaction (the one that records the ledger change), held
 * back from the drain; after the COMMIT, `postQueued` tries it. Null: the key was queued before.
 */
export async function queueComment(q: Queryable, target: Target, e: CommentEffect): Promise<{ id: number; post: () => Promise<unknown> } | null> {
  const payload: CommentPayload = { repository: `${target.ref.owner}/${target.ref.repo}`, pr: e.pr, body: e.body.text };
  const id = await enqueueItem(q, { kind: COMMENT_KIND, dedupeKey: e.key, payload: payload as unknown as Record<string, unknown> }, HOLD_MS);
  return id === null ? null : { id, post: () => postComment(target.octokit, target.ref, e.pr, e.body) };
}

/** The first try of a queued item: done, or left to the drain with its backoff. */
export async function postQueued(state: pg.Pool, item: { id: number; post: () => Promise<unknown> }): Promise<void> {
  await tryNow(state, item.id, item.post);
}

export const alertKey = (repository: string | null, alert: Alert) => `alert:${repository ?? "-"}:${alert.code}:${alert.key}`;

/**
 * A `jit-alert` issue once per (repository, code, key). Without a place to file it (no repository,
 * no GitHub access) the incident is only claimed (the log has it). True when this call raised it.
 */
export function alertOnceVia(state: pg.Pool, repository: string | null, alert: Alert, file: (() => Promise<unknown>) | null): Promise<boolean> {
  if (!file) return claimOnce(state, ALERT_KIND, alertKey(repository, alert), { repository, code: alert.code, key: alert.key });
  const payload: AlertPayload = { repository, code: alert.code, key: alert.key, title: alert.title.text, body: alert.body.text };
  return queueAndTry(state, ALERT_KIND, alertKey(repository, alert), payload, file);
}

const isComment = (p: unknown): p is CommentPayload => {
  const o = p as Record<string, unknown> | null;
  return typeof o === "object" && o !== null && typeof o.repository === "string" && typeof o.pr === "number" && typeof o.body === "string";
};
const isAlert = (p: unknown): p is AlertPayload => {
  const o = p as Record<string, unknown> | null;
  return typeof o === "object" && o !== null && typeof o.repository === "string" && typeof o.code === "string" && typeof o.key === "string"
    && typeof o.title === "string" && typeof o.body === "string";
};

/** The drain's handlers for queued comments and alerts (retries after a failed first try). */
export function effectHandlers(github: GitHubAccess): Record<string, OutboxHandler> {
  return {
    [COMMENT_KIND]: async (item) => {
      if (!isComment(item.payload)) return "skipped: no comment to post";
      const p = item.payload;
      // The text was rendered by core/messages.ts when the item was written (I19).
      await postComment(await github.octokitFor(p.repository), repoRefOf(p.repository), p.pr, Md.unsafeTrusted(p.body));
      return `commented on #${p.pr}`;
    },
    [ALERT_KIND]: async (item) => {
      if (!isAlert(item.payload)) return "skipped: no alert to file";
      const p = item.payload;
      const alert: Alert = { code: p.code, key: p.key, title: Plain.unsafeTrusted(p.title), body: Md.unsafeTrusted(p.body) };
      const r = await raiseAlert(await github.octokitFor(p.repository!), repoRefOf(p.repository!), alert, github.appId);
      return `alert issue #${r.number}`;
    },
  };
}
