// Git true after a refused merge: the request file reached the default branch but nothing was
// granted, so a pull request removes it, with the refusal in its body (rendered inert, I19). It is
// the revert PR machinery (src/github/revert-pr.ts: random branch, one commit removing one file,
// I11 checks before merging), queued in the outbox as kind "refusal_pr", one per request.
// The file is read from the merged PR itself (its one added request file, the complete list, I12),
// and nothing is removed while the ledger holds an open grant for that request id.
import type pg from "pg";
import { revertBranchTakenAlert } from "../core/messages.ts";
import { refusalClass } from "../core/refusal-class.ts";
import { parseRequestPath } from "../core/request-path.ts";
import { accessEntry, ALL_REPOSITORIES, keyAuthority } from "../core/repositories.ts";
import { enqueue } from "../db/outbox.ts";
import { getByKey } from "../db/ledger.ts";
import { lastRefusalAttempt, recordRefusalAttempt } from "../db/refusal-pr.ts";
import { repoRefOf, type GitHubAccess } from "../github/installations.ts";
import { openRevertPr, type RevertOptions, type RevertRecord } from "../github/revert-pr.ts";
import type { OutboxHandler } from "../scheduler/outbox.ts";
import { alertOnce } from "../usecases/alerting.ts";
import { gateRepository } from "../usecases/repository-gate.ts";

export const REFUSAL_PR_KIND = "refusal_pr";


/** Queues the removal PR for a final refusal of merged PR `prNumber` (idempotent per PR). */
export async function enqueueRefusalPr(state: pg.Pool, r: { repository: string; prNumber: number; code: string; reasons: readonly string[] }): Promise<boolean> {
  // A refusal that may pass when retried (the core's class "transient") is not final: no PR for it.
  if (refusalClass(r.code) === "transient") return false;
  return enqueue(state, {
    kind: REFUSAL_PR_KIND, dedupeKey: `${REFUSAL_PR_KIND}:${r.repository.toLowerCase()}#${r.prNumber}`,
    payload: { repository: r.repository, prNumber: r.prNumber, code: r.code, reasons: r.reasons.slice(0, 20).map((x) => x.slice(0, 500)) },
  });
}

export function refusalPrHandler(deps: { state: pg.Pool; github: GitHubAccess; options: RevertOptions }): OutboxHandler {
  return async (item) => {
    const p = item.payload as { repository?: unknown; prNumber?: unknown; code?: unknown; reasons?: unknown };
    if (typeof p.repository !== "string" || typeof p.prNumber !== "number" || typeof p.code !== "string") return "skipped: malformed payload";
    const repository = p.repository;
    const repositories = deps.github.repositories ?? ALL_REPOSITORIES;
    if (!accessEntry(repositories, repository)) return "skipped: JIT_REPO_NOT_ACCESS";
    const octokit = await deps.github.octokitFor(repository);
    const ref = repoRefOf(repository);
    const gate = await gateRepository({ state: deps.state, repositories }, repository, (await octokit.rest.repos.get({ ...ref })).data.id);
    if (!gate.ok) return `skipped: ${gate.problem.code}`;

    const { data: pr } = await octokit.rest.pulls.get({ ...ref, pull_number: p.prNumber });
    if (!pr.merged_at) return "skipped: not merged";
    const files = await octokit.paginate(octokit.rest.pulls.listFiles, { ...ref, pull_number: p.prNumber, per_page: 100 });
    if (files.length !== pr.changed_files) throw new Error(`pull request #${p.prNumber}: ${files.length} of ${pr.changed_files} files listed`); // I12: retried
    // The request file the refused PR put on the default branch (whatever else it changed, e.g. a policy).
    const added = files.filter((f) => (f.status === "added" || f.status === "modified") && parseRequestPath(f.filename).ok);
    const parsed = added.length === 1 ? parseRequestPath(added[0]!.filename) : null;
    if (!parsed?.ok) return "skipped: not one request file";
    const { database, requestId } = parsed;
    if (keyAuthority(repositories, repository, database)) return "skipped: JIT_REPO_KEY_NOT_BOUND";
    // A live grant's file stays: its end (expiry, revoke) makes git true.
    const row = await getByKey(deps.state, { repository, database, requestId });
    if (row && (row.status === "active" || row.status === "intent")) return `skipped: ${database}/${requestId} has an open grant`;

    const record: RevertRecord = {
      repository, database, requestId, path: added[0]!.filename, requester: pr.user?.login ?? null, prNumber: p.prNumber,
      role: "—", dbUser: "—", approvers: [], grantedAt: null, expiresAt: null, revokedAt: null, revokedBy: null, sessionsEnded: 0, verification: null,
      ledgerId: null, ending: { kind: "refused", code: p.code, reasons: Array.isArray(p.reasons) ? p.reasons.filter((x): x is string => typeof x === "string") : [] },
    };
    const key = { repository, database, requestId };
    const out = await openRevertPr(octokit, ref, record, deps.options, {
      last: () => lastRefusalAttempt(deps.state, key),
      record: (a) => recordRefusalAttempt(deps.state, key, a),
    });
    if (out.hostile.length) {
      await alertOnce(deps.state, octokit, ref, revertBranchTakenAlert({ database, requestId, hostile: out.hostile }), deps.github.appId);
    }
    return `${out.state}${out.number ? ` #${out.number}` : ""}`;
  };
}
