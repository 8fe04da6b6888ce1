// `jit rebuild` (docs/operations.md): from what GitHub shows about merged request pull requests to
// the ledger rows a lost state database held. Pure. Evidence is only what the app itself wrote (its
// comments, its revert PRs; the adapter keeps nothing else) plus git (the request file at the merge
// commit) and the reviews. Nothing rebuilt is ever active: a grant still inside its window when the
// state was lost is not vouched for, so its membership is drift (I8) and the app's reconcile
// revokes it. Every fact GitHub cannot prove is listed in `unproven`.
import { CODES, type JitCode } from "./codes.ts";
import { REQUEST_PATH_PATTERN } from "./request-path.ts";
import { parseRequest } from "./request.ts";

export interface RebuildApproval {
  login: string;
  reviewId: number;
  commitId: string;
  submittedAt: string | null;
}

/** One merged pull request as the adapter read it. Times are ms since the epoch. */
export interface MergedPr {
  number: number;
  author: string;
  /** The app's own bot account opened it (its revert PRs). */
  byApp: boolean;
  createdAt: number;
  mergedAt: number;
  mergedAtText: string;
  headSha: string;
  mergeSha: string;
  /** The one request file it touched, or null (several files, none, or an incomplete list). */
  file: { path: string; status: "added" | "modified" | "removed"; blobSha: string | null } | null;
  /** The file's bytes at the merge commit (added or modified). */
  content: Uint8Array | null;
  /** Comments the app made on it (already filtered by performed_via_github_app), oldest first. */
  appComments: { body: string; createdAt: number }[];
  /** APPROVED reviews on the merged head, submitted before the merge. */
  approvals: RebuildApproval[];
}

export interface RebuiltRow {
  repository: string;
  database: string;
  requestId: string;
  path: string;
  prNumber: number;
  headSha: string;
  mergeSha: string;
  mergedAt: number;
  requester: string;
  role: string;
  dbUser: string;
  durationMs: number;
  reason: string | null;
  ticket: string | null;
  blobSha: string | null;
  approvals: RebuildApproval[];
  status: "revoked" | "failed";
  failureCode: JitCode | null;
  grantedAt: number | null;
  expiresAt: number | null;
  revokedAt: number | null;
  revokeReason: string | null;
  revokedBy: string | null;
  extensions: { prNumber: number; mergeSha: string; mergedAt: string; blobSha: string | null; approvals: RebuildApproval[] }[];
  revertPr: { number: number; createdAt: number; mergedAt: number } | null;
  /** Pull requests whose merge this row stands for (the grant and its extensions): replays are refused. */
  mergePrs: number[];
  unproven: string[];
}

export interface RebuildPlan {
  rows: RebuiltRow[];
  /** Merged request PRs with no evidence of what the app did: left for the merge path (I17). */
  unknown: { prNumber: number; path: string; why: string }[];
}

const GRANTED = /^✅ \*\*jit-access\*\*: granted `([a-z_][a-z0-9_]*)` to `([a-z_][a-z0-9_]*)` on `([a-z0-9][a-z0-9-]*)` until/u;
const REFUSED = /^❌ \*\*jit-access\*\*: nothing was granted \(\*\*(JIT_[A-Z0-9_]+)\*\*\)/u;
const EXTENDED = /^⏱️ \*\*jit-access\*\*: extended `([a-z_][a-z0-9_]*)` for `([a-z_][a-z0-9_]*)` on `([a-z0-9][a-z0-9-]*)` until/u;
const EARLY_REVOKED = /^🔒 \*\*jit-access\*\*: revoked `([a-z0-9][a-z0-9-]*)` on `([a-z0-9][a-z0-9-]*)` now \(early revoke\)/u;

const isCode = (c: string): c is JitCode => Object.hasOwn(CODES, c);

/** `now`: the state database's clock, in ms. */
export function planRebuild(repository: string, prs: readonly MergedPr[], now: number): RebuildPlan {
  const byKey = new Map<string, RebuiltRow>();
  const unknown: RebuildPlan["unknown"] = [];
  const sorted = [...prs].sort((a, b) => a.mergedAt - b.mergedAt || a.number - b.number);
  for (const pr of sorted) {
    if (!pr.file) continue;
    const m = REQUEST_PATH_PATTERN.exec(pr.file.path);
    if (!m) continue;
    const [database, requestId] = [m[1]!, m[2]!];
    const key = `${database}/${requestId}`;
    const existing = byKey.get(key);
    const comment = (re: RegExp) => pr.appComments.find((c) => re.test(c.body));
    if (pr.file.status === "added") {
      if (existing) continue; // single-use: the first merge of an id is the one that counts
      const granted = comment(GRANTED);
      const refused = comment(REFUSED);
      const parsed = pr.content ? parseRequest(pr.file.path, pr.content).details : null;
      if (!granted && !refused) {
        unknown.push({ prNumber: pr.number, path: pr.file.path, why: "no comment of the app says what happened to this merge" });
        continue;
      }
      const g = granted ? GRANTED.exec(granted.body)! : null;
      if (g && g[3] !== database) {
        unknown.push({ prNumber: pr.number, path: pr.file.path, why: `the app's comment names database ${g[3]}, not ${database}` });
        continue;
      }
      const code = refused ? REFUSED.exec(refused.body)![1]! : null;
      const durationMs = parsed?.durationMs ?? null;
      const row: RebuiltRow = {
        repository, database, requestId, path: pr.file.path, prNumber: pr.number, headSha: pr.headSha, mergeSha: pr.mergeSha, mergedAt: pr.mergedAt,
        requester: pr.author, role: g?.[1] ?? parsed?.role ?? "unknown", dbUser: g?.[2] ?? parsed?.user ?? "unknown", durationMs: durationMs ?? 1,
        reason: parsed?.reason ?? null, ticket: parsed?.ticket ?? null, blobSha: pr.file.blobSha, approvals: pr.approvals,
        status: g ? "revoked" : "failed", failureCode: g ? null : code && isCode(code) ? code : "JIT_MERGE_REFUSED",
        grantedAt: g ? pr.mergedAt : null, expiresAt: g && durationMs !== null ? pr.mergedAt + durationMs : null,
        revokedAt: null, revokeReason: null, revokedBy: null, extensions: [], revertPr: null, mergePrs: [pr.number],
        unproven: ["cluster_id", "approval_eligibility", ...(g ? ["granted_at", "grant_sql", "grant_verification", "member_oid"] : ["refusal_details"])],
      };
      if (durationMs === null) row.unproven.push("duration");
      byKey.set(key, row);
      continue;
    }
    if (!existing || existing.status !== "revoked") continue;
    if (pr.file.status === "modified") {
      const ext = comment(EXTENDED);
      const parsed = pr.content ? parseRequest(pr.file.path, pr.content).details : null;
      if (!ext || !parsed || existing.revokedAt !== null) continue;
      existing.durationMs = parsed.durationMs;
      existing.expiresAt = existing.mergedAt + parsed.durationMs; // the window keeps its first anchor (I17)
      existing.extensions.push({ prNumber: pr.number, mergeSha: pr.mergeSha, mergedAt: pr.mergedAtText, blobSha: pr.file.blobSha, approvals: pr.approvals });
      existing.mergePrs.push(pr.number);
      continue;
    }
    // removed: the app's revert PR after an expiry, or a person's early revoke the app confirmed
    if (existing.revokedAt !== null) continue;
    if (pr.byApp) {
      existing.revertPr = { number: pr.number, createdAt: pr.createdAt, mergedAt: pr.mergedAt };
      // The app opens its revert PR after the revoke: the PR's creation bounds the revoke from above.
      existing.revokedAt = Math.min(pr.createdAt, existing.expiresAt ?? pr.createdAt);
      existing.revokeReason = `rebuilt: ended at its expiry; the app's revert pull request #${pr.number} followed`;
      existing.revokedBy = "rebuild";
      existing.unproven.push("revoked_at", "revoke_verification", "sessions_ended");
      continue;
    }
    const early = comment(EARLY_REVOKED);
    if (early) {
      existing.revokedAt = early.createdAt;
      existing.revokeReason = `early revoke: request file deleted by pull request #${pr.number}`;
      existing.revokedBy = `github:merge:${repository}#${pr.number}`;
      existing.unproven.push("revoke_verification", "sessions_ended");
    }
  }
  const rows = [...byKey.values()];
  for (const r of rows) {
    if (r.status !== "revoked" || r.revokedAt !== null) continue;
    r.revokedBy = "rebuild";
    r.unproven.push("revoked_at", "revoke_verification", "sessions_ended");
    if (r.expiresAt !== null && r.expiresAt <= now) {
      r.revokedAt = r.expiresAt;
      r.revokeReason = "rebuilt: ended at its expiry; GitHub holds no record of the revoke itself";
    } else {
      // Not vouched for: without a ledger row any membership the app made is drift (I8), revoked by reconcile.
      r.revokedAt = now;
      r.revokeReason = "rebuilt: live when the state was lost; not vouched for, so any remaining membership is drift (I8) and reconcile revokes it";
    }
  }
  return { rows, unknown };
}
