// Revert PRs: after a grant expired and was revoked, a pull request deleting its request file keeps
// git telling the truth. One commit made with the git data API (no checkout), on the branch
// jit/expire/<database>/<request-id>, a body that is the audit record, a label, and a merge when
// configured (else owners merge it). Every step tolerates an earlier, interrupted attempt: an
// existing branch is moved to the fresh commit, an existing PR is reused.
import { revertBody as renderBody, revertCommitMessage, revertTitle as renderTitle } from "../core/messages.ts";
import { isNotFound, type Octokit, type RepoRef } from "./octokit.ts";

export interface RevertRecord {
  ledgerId: number;
  repository: string;
  database: string;
  requestId: string;
  path: string;
  /** Login of the request PR's author, when known. */
  requester: string | null;
  prNumber: number | null;
  role: string;
  dbUser: string;
  approvers: string[];
  grantedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  revokedBy: string | null;
  sessionsEnded: number;
  verification: { outcome?: string; membershipGone?: boolean; sessionsLeft?: number } | null;
}

export interface RevertOptions {
  merge: boolean;
  mergeMethod: "merge" | "squash" | "rebase";
  label: string;
}

export interface RevertOutcome {
  /** merged; open (waiting for owners); closed (someone closed it unmerged); file_absent (nothing to revert). */
  state: "merged" | "open" | "closed" | "file_absent";
  branch: string;
  number?: number;
  /** True when this call opened the PR. */
  created: boolean;
  /** Why the app did not merge it (protection, conflicts), when it tried. */
  mergeRefused?: string;
}

export const REVERT_BRANCH_PREFIX = "jit/expire";

export function revertBranch(database: string, requestId: string): string {
  return `${REVERT_BRANCH_PREFIX}/${database}/${requestId}`;
}

/** The PR's title and body, rendered in core/messages.ts (I19). */
export const revertTitle = (r: RevertRecord): string => renderTitle(r).text;
export const revertBody = (r: RevertRecord): string => renderBody(r).text;

const status = (e: unknown) => (typeof e === "object" && e !== null ? (e as { status?: number }).status : undefined);

async function findPr(octokit: Octokit, ref: RepoRef, branch: string): Promise<{ number: number; state: string; merged: boolean } | undefined> {
  const { data } = await octokit.rest.pulls.list({ ...ref, head: `${ref.owner}:${branch}`, state: "all", per_page: 10 });
  const pr = data.find((p) => p.head.ref === branch);
  return pr ? { number: pr.number, state: pr.state, merged: Boolean(pr.merged_at) } : undefined;
}

async function mergeIfWanted(octokit: Octokit, ref: RepoRef, number: number, opts: RevertOptions, out: RevertOutcome): Promise<RevertOutcome> {
  if (!opts.merge) return out;
  try {
    await octokit.rest.pulls.merge({ ...ref, pull_number: number, merge_method: opts.mergeMethod });
    // Tidy up; the repository may already delete merged branches itself.
    await octokit.rest.git.deleteRef({ ...ref, ref: `heads/${out.branch}` }).catch(() => {});
    return { ...out, state: "merged" };
  } catch (e) {
    // Protection or conflicts: the repository does not let the app merge; owners will.
    const s = status(e);
    if (s === 405 || s === 409 || s === 422 || s === 403) return { ...out, mergeRefused: (e as Error).message.split("\n")[0] };
    throw e;
  }
}

/** Opens (or finds) the revert PR and merges it when configured. Throws on failures worth a retry (5xx, network). */
export async function openRevertPr(octokit: Octokit, ref: RepoRef, record: RevertRecord, opts: RevertOptions): Promise<RevertOutcome> {
  const branch = revertBranch(record.database, record.requestId);
  const existing = await findPr(octokit, ref, branch);
  if (existing) {
    const out: RevertOutcome = { state: existing.merged ? "merged" : existing.state === "open" ? "open" : "closed", branch, number: existing.number, created: false };
    return out.state === "open" ? mergeIfWanted(octokit, ref, existing.number, opts, out) : out;
  }

  const { data: repo } = await octokit.rest.repos.get({ ...ref });
  const base = repo.default_branch;
  const { data: head } = await octokit.rest.git.getRef({ ...ref, ref: `heads/${base}` });
  const baseSha = head.object.sha;
  try {
    await octokit.rest.repos.getContent({ ...ref, path: record.path, ref: baseSha });
  } catch (e) {
    if (isNotFound(e)) return { state: "file_absent", branch, created: false };
    throw e;
  }

  const { data: baseCommit } = await octokit.rest.git.getCommit({ ...ref, commit_sha: baseSha });
  const { data: tree } = await octokit.rest.git.createTree({
    ...ref, base_tree: baseCommit.tree.sha, tree: [{ path: record.path, mode: "100644", type: "blob", sha: null }],
  });
  const { data: commit } = await octokit.rest.git.createCommit({
    ...ref, tree: tree.sha, parents: [baseSha],
    message: revertCommitMessage(record).text,
  });
  try {
    await octokit.rest.git.createRef({ ...ref, ref: `refs/heads/${branch}`, sha: commit.sha });
  } catch (e) {
    if (status(e) !== 422) throw e;
    // Left by an interrupted attempt (the branch is ours: jit/expire/…): point it at the fresh commit.
    await octokit.rest.git.updateRef({ ...ref, ref: `heads/${branch}`, sha: commit.sha, force: true });
  }

  let number: number;
  let created = true;
  try {
    number = (await octokit.rest.pulls.create({ ...ref, head: branch, base, title: revertTitle(record), body: revertBody(record) })).data.number;
  } catch (e) {
    if (status(e) !== 422) throw e;
    const again = await findPr(octokit, ref, branch);
    if (!again) throw e;
    number = again.number;
    created = false;
  }
  // A label that explains itself, created on first use (422: it exists already).
  await octokit.rest.issues.createLabel({ ...ref, name: opts.label, color: "bfd4f2", description: "jit-access: removes the request file of an expired grant" })
    .catch((e: unknown) => { if (status(e) !== 422) throw e; });
  await octokit.rest.issues.addLabels({ ...ref, issue_number: number, labels: [opts.label] });
  return mergeIfWanted(octokit, ref, number, opts, { state: "open", branch, number, created });
}
