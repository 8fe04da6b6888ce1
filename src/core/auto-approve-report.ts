// How the check run and the sticky comment show auto-approval (pure; rule texts are the policy's
// own words from the base branch, still rendered inert).
import type { AutoApproval } from "./auto-approve.ts";
import { md, text, type Md } from "./inert.ts";
import { utc } from "./report.ts";

export function autoApprovalLines(a: AutoApproval | null): Md[] {
  if (!a) return [];
  if (a.matched) {
    return [md`### Auto-approval`, md``,
      md`Approved by policy rule ${text(a.matched.description)} at ${Number.isFinite(a.at) ? utc(a.at) : "—"}: no human review is needed. The app merges this pull request itself, at exactly this commit, and re-verifies everything (the rule too, at the merge time) before granting.`, md``];
  }
  return [md`### Auto-approval`, md``, md`No auto_approve rule applies:`,
    ...a.rejected.map((r) => md`- ${text(r.description)}: ${text(r.reason)}`), md``];
}
