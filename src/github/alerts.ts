// Alerts are issues labelled `jit-alert`, deduplicated by a hidden key: the same problem seen again
// (a redelivered webhook, a second replica) adds no second issue. Only issues this App opened
// count: anyone who can open an issue could otherwise plant the key first and silence the alert.
import { madeByApp } from "./authored.ts";
import type { Octokit, RepoRef } from "./octokit.ts";
import type { JitCode } from "../core/codes.ts";

export const ALERT_LABEL = "jit-alert";

export interface Alert {
  code: JitCode;
  /** Stable identity of the incident, e.g. "merge:42" or "push:<sha>:<path>". */
  key: string;
  title: string;
  body: string;
}

function marker(a: Alert): string {
  return `<!-- jit-alert:${a.code}:${a.key} -->`;
}

/** `appId`: this GitHub App; without it every alert opens an issue (never one silenced by a planted key). */
export async function raiseAlert(octokit: Octokit, ref: RepoRef, alert: Alert, appId: number | undefined): Promise<{ number: number; created: boolean }> {
  const tag = marker(alert);
  const open = await octokit.paginate(octokit.rest.issues.listForRepo, { ...ref, labels: ALERT_LABEL, state: "all", per_page: 100 });
  const existing = open.find((i) => i.body?.startsWith(tag) && madeByApp(i, appId));
  if (existing) return { number: existing.number, created: false };
  const created = await octokit.rest.issues.create({
    ...ref,
    title: `[${alert.code}] ${alert.title}`,
    body: `${tag}\n${alert.body}`,
    labels: [ALERT_LABEL],
  });
  return { number: created.data.number, created: true };
}
