// The outbox handler for revert_pr items: reads the ledger row (the audit record), opens the revert
// PR and records what happened. Runs only for rows already revoked: the sweep queues after the revoke.
// Only in an access repository that owns the row's database key, the very repository (pinned id)
// the grant came from (I10); what the app wrote is remembered as events, so it merges only that (I11).
import { revertBranchTakenAlert } from "../core/messages.ts";
import type pg from "pg";
import { keyAuthority, ALL_REPOSITORIES } from "../core/repositories.ts";
import { appendEvent, listEvents } from "../db/events.ts";
import { activityOf } from "../db/activity.ts";
import { getByKey } from "../db/ledger.ts";
import type { GitHubAccess } from "../github/installations.ts";
import { repoRefOf } from "../github/installations.ts";
import { isNotFound } from "../github/octokit.ts";
import { openRevertPr, type RevertAttempt, type RevertMemory, type RevertOptions, type RevertRecord } from "../github/revert-pr.ts";
import { alertOnce } from "../usecases/alerting.ts";
import { commentGrantEnded } from "../usecases/notify.ts";
import { gateRepository } from "../usecases/repository-gate.ts";
import type { OutboxHandler } from "./outbox.ts";
import { EXPIRY_REASON } from "./sweep.ts";

export interface RevertPayload {
  ledgerId: number;
  repository: string;
  database: string;
  requestId: string;
  path: string;
}

function isRevertPayload(p: unknown): p is RevertPayload {
  const o = p as Record<string, unknown> | null;
  return typeof o === "object" && o !== null && typeof o.repository === "string" && typeof o.database === "string"
    && typeof o.requestId === "string" && typeof o.path === "string";
}

export function revertPrHandler(deps: { state: pg.Pool; github: GitHubAccess; options: RevertOptions }): OutboxHandler {
  return async (item) => {
    if (!isRevertPayload(item.payload)) return "skipped: malformed payload";
    const p = item.payload;
    const row = await getByKey(deps.state, p);
    if (!row) return "skipped: no ledger row";
    if (row.status !== "revoked") throw new Error(`ledger row ${row.id} is ${row.status}, not revoked: no revert PR before the revoke`);

    const repositories = deps.github.repositories ?? ALL_REPOSITORIES;
    const unbound = keyAuthority(repositories, p.repository, p.database);
    if (unbound) return `skipped: ${unbound.code}`;
    const octokit = await deps.github.octokitFor(p.repository);
    const ref = repoRefOf(p.repository);
    const gate = await gateRepository({ state: deps.state, repositories }, p.repository, (await octokit.rest.repos.get({ ...ref })).data.id);
    if (!gate.ok) return `skipped: ${gate.problem.code}`;
    let requester: string | null = null;
    if (row.prNumber) {
      try {
        requester = (await octokit.rest.pulls.get({ ...ref, pull_number: row.prNumber })).data.user?.login ?? null;
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    const revoke = (row.verification as { revoke?: RevertRecord["verification"] }).revoke ?? null;
    const record: RevertRecord = {
      ledgerId: row.id, repository: row.repository, database: row.database, requestId: row.requestId, path: row.path, requester,
      prNumber: row.prNumber, role: row.role, dbUser: row.dbUser, approvers: row.approvers, grantedAt: row.grantedAt, expiresAt: row.expiresAt,
      revokedAt: row.revokedAt, revokedBy: row.revokedBy, sessionsEnded: row.sessionsEnded, verification: revoke,
      ...(row.revokeReason && row.revokeReason !== EXPIRY_REASON ? { ending: { kind: "revoked" as const, reason: row.revokeReason, by: row.revokedBy } } : {}),
      ...await activityFor(deps.state, row),
    };
    const memory: RevertMemory = {
      last: async () => (await listEvents(deps.state, { ledgerId: row.id, kind: "revert_pr_attempt" })).at(-1)?.details as RevertAttempt | undefined,
      record: (a) => appendEvent(deps.state, {
        ledgerId: row.id, kind: "revert_pr_attempt", repository: row.repository, database: row.database, requestId: row.requestId, actor: "outbox", details: { ...a },
      }),
    };
    const out = await openRevertPr(octokit, ref, record, deps.options, memory);
    if (out.hostile.length) {
      await alertOnce(deps.state, octokit, ref, revertBranchTakenAlert({ database: row.database, requestId: row.requestId, hostile: out.hostile }), deps.github.appId);
    }
    // Item 8: the request PR hears that its grant ended, its author mentioned (once per grant).
    await commentGrantEnded(deps.state, octokit, ref, row, out.number ? { revertPr: out.number } : {});
    const kind = out.state === "merged" ? "revert_pr_merged" : out.state === "open" ? "revert_pr_opened" : "revert_pr_skipped";
    await appendEvent(deps.state, {
      ledgerId: row.id, kind, repository: row.repository, database: row.database, requestId: row.requestId, actor: "outbox",
      details: { state: out.state, branch: out.branch, pr: out.number ?? null, created: out.created, mergeRefused: out.mergeRefused ?? null },
    });
    return `${out.state}${out.number ? ` #${out.number}` : ""}${out.mergeRefused ? ` (not merged: ${out.mergeRefused})` : ""}`;
  };
}

/** The window's activity for the PR body; a grant from before sampling existed has none. */
async function activityFor(state: pg.Pool, row: { repository: string; database: string; requestId: string }) {
  const a = await activityOf(state, row);
  return a && (a.sampled.grant || a.sampled.revoke) ? { activity: a } : {};
}
