// pending_ttl (issue 13 item 4): request pull requests still open longer than their role's (or
// database's) pending_ttl after they were opened are closed by the app with a comment. Runs on the
// leader's periodic pass beside the lost-merge reconciler (src/background.ts). The policy is read at
// the default branch's head (the one that decides); a PR younger than the smallest pending_ttl costs
// no further call. Each PR is closed once (claimed in the outbox), and recorded for `jit status`.
import { isPendingExpired, pendingTtlComment, pendingTtlFor, smallestPendingTtl } from "../core/pending-ttl.ts";
import { parseRequest } from "../core/request.ts";
import { isUnderRequestsDir, parseRequestPath } from "../core/request-path.ts";
import { claimedPayload, claimOnce } from "../db/outbox.ts";
import { recordPendingClosed } from "../db/pending-ttl.ts";
import type { InstalledRepository } from "../github/installations.ts";
import { isNotFound } from "../github/octokit.ts";
import { policyAt } from "../github/policy-at.ts";
import { commentOnce } from "../usecases/github-effects.ts";
import type { AppDeps } from "../usecases/context.ts";
import { gateRepository } from "../usecases/repository-gate.ts";

export interface PendingTtlReport {
  repositories: number;
  closed: { repository: string; number: number; path: string }[];
  failed: { repository: string; number: number; error: string }[];
}

export async function closeStalePending(o: {
  deps: AppDeps; repositories: AsyncIterable<InstalledRepository>;
  /** Checked before each repository: a replica that lost leadership stops. */
  stillLeader?: () => Promise<boolean>;
}): Promise<PendingTtlReport> {
  const report: PendingTtlReport = { repositories: 0, closed: [], failed: [] };
  for await (const repo of o.repositories) {
    if (o.stillLeader && !(await o.stillLeader())) break;
    if (!(await gateRepository(o.deps, repo.repository, repo.id)).ok) continue; // I10
    report.repositories += 1;
    await closeInRepository(o.deps, repo, report);
  }
  return report;
}

async function closeInRepository(deps: AppDeps, r: InstalledRepository, report: PendingTtlReport): Promise<void> {
  const open = await r.octokit.paginate(r.octokit.rest.pulls.list, { ...r.ref, state: "open", base: r.defaultBranch, sort: "created", direction: "asc", per_page: 100 });
  const now = deps.now();
  if (!open.length) return;
  const head = (await r.octokit.rest.repos.getBranch({ ...r.ref, branch: r.defaultBranch })).data.commit.sha;
  const policy = await policyAt(r.octokit, r.ref, head);
  if (!policy.ok || !policy.details) return; // an invalid policy closes nothing
  const smallest = smallestPendingTtl(policy.details);
  if (smallest === undefined) return;
  for (const pr of open) {
    if (!isPendingExpired(Date.parse(pr.created_at), smallest, now)) continue;
    try {
      const files = await r.octokit.paginate(r.octokit.rest.pulls.listFiles, { ...r.ref, pull_number: pr.number, per_page: 100 });
      // A request PR adds or edits a request file; a deletion (an early revoke) has no TTL.
      const file = files.find((f) => f.status !== "removed" && isUnderRequestsDir(f.filename) && parseRequestPath(f.filename).ok);
      if (!file) continue;
      const where = parseRequestPath(file.filename);
      if (!where.ok) continue;
      const role = await roleAt(r, pr.head.sha, file.filename);
      const ttl = pendingTtlFor(policy.details, where.database, role);
      if (ttl === undefined || !isPendingExpired(Date.parse(pr.created_at), ttl, now)) continue;
      // Closed once: a PR someone reopens afterwards is left alone.
      const closedKey = `pending-ttl-closed:${r.repository}#${pr.number}`;
      if ((await claimedPayload(deps.state, closedKey)) !== undefined) continue;
      // The comment goes through the outbox (once per key, retried by the drain if GitHub fails now).
      await commentOnce(deps.state, { octokit: r.octokit, ref: r.ref }, {
        pr: pr.number, key: `pending-ttl:${r.repository}#${pr.number}`, body: pendingTtlComment({ author: pr.user?.login ?? "", path: file.filename, ttlMs: ttl }),
      });
      await r.octokit.rest.pulls.update({ ...r.ref, pull_number: pr.number, state: "closed" });
      if (!(await claimOnce(deps.state, "pending-ttl", closedKey, { pr: pr.number }))) continue;
      await recordPendingClosed(deps.state, { repository: r.repository, database: where.database, requestId: where.requestId, prNumber: pr.number, ttlMs: ttl,
        actor: "pending-ttl", author: pr.user?.login ?? "" });
      report.closed.push({ repository: r.repository, number: pr.number, path: file.filename });
      deps.log.info({ code: "JIT_PENDING_TTL_EXPIRED", repository: r.repository, pr: pr.number, ttlMs: ttl }, "request pull request closed after its pending_ttl");
    } catch (err) {
      report.failed.push({ repository: r.repository, number: pr.number, error: (err as Error).message });
      deps.log.warn({ repository: r.repository, pr: pr.number, error: (err as Error).message }, "pending_ttl: could not close a pull request; retried next pass");
    }
  }
}

/** The role the request file at the PR's head asks for, or null when it cannot be read or parsed. */
async function roleAt(r: InstalledRepository, sha: string, path: string): Promise<string | null> {
  try {
    const { data } = await r.octokit.rest.repos.getContent({ ...r.ref, path, ref: sha });
    if (Array.isArray(data) || data.type !== "file" || !("content" in data)) return null;
    const parsed = parseRequest(path, Buffer.from(data.content, "base64"));
    return parsed.details?.role ?? null;
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}
