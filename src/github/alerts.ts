// Alerts are issues labelled `jit-alert`, deduplicated by a hidden key: the same problem seen again
// (a redelivered webhook, a second replica) adds no second issue.
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

export async function raiseAlert(octokit: Octokit, ref: RepoRef, alert: Alert): Promise<{ number: number; created: boolean }> {
  const tag = marker(alert);
  const open = await octokit.paginate(octokit.rest.issues.listForRepo, { ...ref, labels: ALERT_LABEL, state: "all", per_page: 100 });
  const existing = open.find((i) => i.body?.includes(tag));
  if (existing) return { number: existing.number, created: false };
  const created = await octokit.rest.issues.create({
    ...ref,
    title: `[${alert.code}] ${alert.title}`,
    body: `${tag}\n${alert.body}`,
    labels: [ALERT_LABEL],
  });
  return { number: created.data.number, created: true };
}
