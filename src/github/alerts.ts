// Alerts are issues labelled `jit-alert`, deduplicated by a hidden key: the same problem seen again
// (a redelivered webhook, a second replica) adds no second issue. Only issues this App opened
// count: anyone who can open an issue could otherwise plant the key first and silence the alert.
import { madeByApp } from "./authored.ts";
import type { Octokit, RepoRef } from "./octokit.ts";
import { boundPlain, marker, plain } from "../core/inert.ts";
import type { AlertText } from "../core/messages.ts";

export const ALERT_LABEL = "jit-alert";

/** Rendered by core/messages.ts: the title and body are typed, so untrusted text arrives inert (I19). */
export type Alert = AlertText;

/** The key may hold a path from a push: encoded, it can neither end the comment nor forge another key. */
const alertMarker = (a: Alert) => marker("jit-alert", `${a.code}:${a.key}`).text;

/** `appId`: this GitHub App; without it every alert opens an issue (never one silenced by a planted key). */
export async function raiseAlert(octokit: Octokit, ref: RepoRef, alert: Alert, appId: number | undefined): Promise<{ number: number; created: boolean }> {
  const tag = alertMarker(alert);
  const open = await octokit.paginate(octokit.rest.issues.listForRepo, { ...ref, labels: ALERT_LABEL, state: "all", per_page: 100 });
  const existing = open.find((i) => i.body?.startsWith(tag) && madeByApp(i, appId));
  if (existing) return { number: existing.number, created: false };
  const created = await octokit.rest.issues.create({
    ...ref,
    title: boundPlain(plain`[${alert.code}] ${alert.title}`, 256).text,
    body: `${tag}\n${alert.body.text}`,
    labels: [ALERT_LABEL],
  });
  return { number: created.data.number, created: true };
}
