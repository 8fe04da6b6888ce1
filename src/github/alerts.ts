// Alerts are issues labelled `jit-alert` with a hidden key naming the incident. Each incident is
// claimed once in the state database (usecases/alerting.ts, scheduler/alerter.ts) before it is
// filed, so a redelivered webhook or a second replica adds no second issue. The issues themselves
// are never searched to decide whether to alert: anyone with write access can edit any issue's
// body, the app's own included, and plant the key of a predictable future alert to silence it.
import type { Octokit, RepoRef } from "./octokit.ts";
import { boundPlain, marker, plain } from "../core/inert.ts";
import type { AlertText } from "../core/messages.ts";

export const ALERT_LABEL = "jit-alert";

/** Rendered by core/messages.ts: the title and body are typed, so untrusted text arrives inert (I19). */
export type Alert = AlertText;

/** The key may hold a path from a push: encoded, it can neither end the comment nor forge another key. */
const alertMarker = (a: Alert) => marker("jit-alert", `${a.code}:${a.key}`).text;

/** Files the alert as a new issue; deduplication is the caller's claim, never an existing issue's text (`_appId` kept for the callers' shape). */
export async function raiseAlert(octokit: Octokit, ref: RepoRef, alert: Alert, _appId: number | undefined): Promise<{ number: number; created: boolean }> {
  const created = await octokit.rest.issues.create({
    ...ref,
    title: boundPlain(plain`[${alert.code}] ${alert.title}`, 256).text,
    body: `${alertMarker(alert)}\n${alert.body.text}`,
    labels: [ALERT_LABEL],
  });
  return { number: created.data.number, created: true };
}
