// Revert PRs: after a grant expired and was revoked, a pull request deleting its request file keeps
// git telling the truth. One commit made with the git data API (no checkout), on a branch
// jit/expire/<database>/<request-id>-<random> the app creates, a body that is the audit record, a
// label, and a merge when configured (else owners merge it).
// I11: the app merges only what it wrote. It records the branch, commit and PR it made (RevertMemory)
// and, before merging, re-reads the PR: opened by the same bot account, head still its own commit on
// its own branch, one commit, one change (that file removed); the merge names that commit (`sha`),
// so a head moved in between is refused by GitHub. Branches or PRs under its naming that it did not
// write are reported (JIT_REVERT_BRANCH_TAKEN) and never merged.
import { randomBytes } from "node:crypto";
import { revertBody as renderBody, revertCommitMessage, revertMarker, revertTitle as renderTitle, type RevertText } from "../core/messages.ts";
import { isNotFound, type Octokit, type RepoRef } from "./octokit.ts";

/** The ledger's record of the grant a revert PR closes (the renderer's fields plus where it lives). */
export interface RevertRecord extends RevertText {
  repository: string;
}

export interface RevertOptions {
  merge: boolean;
  mergeMethod: "merge" | "squash" | "rebase";
  label: string;
}

/** What the app wrote for one grant's revert, recorded before each step so a retry knows its own. */
export interface RevertAttempt {
  branch: string;
  /** The commit the app created (deleting the request file). */
  commitSha: string;
  /** The PR the app opened, and the bot account GitHub answered as its author. */
  number?: number;
  botId?: number;
}

export interface RevertMemory {
  last(): Promise<RevertAttempt | undefined>;
  record(a: RevertAttempt): Promise<void>;
}

/** For one-off calls (tests, the CLI): remembers within the process only. */
export function memoryInProcess(): RevertMemory {
  let a: RevertAttempt | undefined;
  return { last: async () => a, record: async (x) => void (a = { ...x }) };
}

export interface RevertOutcome {
  /** merged; open (waiting for owners); closed (someone closed it unmerged); file_absent (nothing to revert); tampered (not merged: not as the app wrote it). */
  state: "merged" | "open" | "closed" | "file_absent" | "tampered";
  branch: string;
  number?: number;
  /** True when this call opened the PR. */
  created: boolean;
  /** Why the app did not merge it (protection, conflicts), when it tried. */
  mergeRefused?: string;
  /** JIT_REVERT_BRANCH_TAKEN findings: branches and PRs under the app's naming it did not write, or its own PR changed. */
  hostile: string[];
}

export const REVERT_BRANCH_PREFIX = "jit/expire";

/** `suffix`: random per attempt, so nobody can create the branch before the app does. */
export function revertBranch(database: string, requestId: string, suffix: string): string {
  return `${REVERT_BRANCH_PREFIX}/${database}/${requestId}-${suffix}`;
}

/** The PR's title and body, rendered in core/messages.ts (I19). */
export const revertTitle = (r: RevertRecord): string => renderTitle(r).text;
export const revertBody = (r: RevertRecord): string => renderBody(r).text;

const status = (e: unknown) => (typeof e === "object" && e !== null ? (e as { status?: number }).status : undefined);

/** Open PRs (and branches) under this grant's revert naming, title or marker that are not `mine`. */
async function foreignLookalikes(octokit: Octokit, ref: RepoRef, record: RevertRecord, mine: number | undefined): Promise<string[]> {
  const prefix = `${REVERT_BRANCH_PREFIX}/${record.database}/${record.requestId}`;
  const out: string[] = [];
  const open = await octokit.paginate(octokit.rest.pulls.list, { ...ref, state: "open", per_page: 100 });
  for (const p of open) {
    if (p.number === mine) continue;
    if (p.head.ref === prefix || p.head.ref.startsWith(`${prefix}-`) || p.title === revertTitle(record) || (p.body ?? "").includes(revertMarker(record).text)) {
      out.push(`pull request #${p.number} by @${p.user?.login ?? "?"} (branch ${p.head.ref}) looks like the app's revert of ${record.database}/${record.requestId} but was not written by it`);
    }
  }
  try {
    await octokit.rest.git.getRef({ ...ref, ref: `heads/${prefix}` });
    out.push(`branch ${prefix} exists; the app never creates it (its branches carry a random suffix)`);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  return out;
}

/** Why PR `a.number` is not exactly what the app wrote, or null when it is. */
async function notOurs(octokit: Octokit, ref: RepoRef, record: RevertRecord, a: Required<RevertAttempt>, base: string): Promise<string | null> {
  const { data: pr } = await octokit.rest.pulls.get({ ...ref, pull_number: a.number });
  if (pr.user?.id !== a.botId || pr.user?.type !== "Bot") return `pull request #${a.number} is not by the app's bot account`;
  if (pr.head.ref !== a.branch || pr.head.repo?.id !== pr.base.repo.id) return `pull request #${a.number} no longer comes from the app's branch ${a.branch}`;
  if (pr.head.sha !== a.commitSha) return `the head of pull request #${a.number} was moved from the app's commit ${a.commitSha.slice(0, 12)} to ${pr.head.sha.slice(0, 12)}`;
  if (pr.base.ref !== base) return `pull request #${a.number} was retargeted to ${pr.base.ref}`;
  const files = await octokit.paginate(octokit.rest.pulls.listFiles, { ...ref, pull_number: a.number, per_page: 100 });
  if (files.length !== 1 || files[0]!.filename !== record.path || files[0]!.status !== "removed") {
    return `pull request #${a.number} changes ${files.length} file(s), not only the removal of ${record.path}`;
  }
  const commits = await octokit.paginate(octokit.rest.pulls.listCommits, { ...ref, pull_number: a.number, per_page: 100 });
  if (commits.length !== 1 || commits[0]!.sha !== a.commitSha) return `pull request #${a.number} has ${commits.length} commit(s), not only the app's`;
  return null;
}

async function mergeIfWanted(octokit: Octokit, ref: RepoRef, record: RevertRecord, a: Required<RevertAttempt>, base: string, opts: RevertOptions, out: RevertOutcome): Promise<RevertOutcome> {
  if (!opts.merge) return out;
  const tampered = await notOurs(octokit, ref, record, a, base);
  if (tampered) return { ...out, state: "tampered", hostile: [...out.hostile, tampered] };
  try {
    // `sha`: GitHub refuses (409) if the head moved since the verification above.
    await octokit.rest.pulls.merge({ ...ref, pull_number: a.number, merge_method: opts.mergeMethod, sha: a.commitSha });
  } catch (e) {
    const s = status(e);
    if (s === 409) return { ...out, state: "tampered", hostile: [...out.hostile, `the head of pull request #${a.number} moved while the app merged it`] };
    // Protection or conflicts: the repository does not let the app merge; owners will.
    if (s === 405 || s === 422 || s === 403) return { ...out, mergeRefused: (e as Error).message.split("\n")[0] };
    throw e;
  }
  await deleteOwnBranch(octokit, ref, a);
  return { ...out, state: "merged" };
}

/** Deletes the app's branch only while it still points at the app's commit. */
async function deleteOwnBranch(octokit: Octokit, ref: RepoRef, a: RevertAttempt): Promise<void> {
  try {
    const { data } = await octokit.rest.git.getRef({ ...ref, ref: `heads/${a.branch}` });
    if (data.object.sha === a.commitSha) await octokit.rest.git.deleteRef({ ...ref, ref: `heads/${a.branch}` });
  } catch {
    // already gone (the repository may delete merged branches itself): nothing to tidy
  }
}

/** Opens the revert PR (or continues the app's own earlier one) and merges it when configured. Throws on failures worth a retry (5xx, network). */
export async function openRevertPr(octokit: Octokit, ref: RepoRef, record: RevertRecord, opts: RevertOptions, memory: RevertMemory): Promise<RevertOutcome> {
  const { data: repo } = await octokit.rest.repos.get({ ...ref });
  const base = repo.default_branch;
  const previous = await memory.last();
  const hostile = await foreignLookalikes(octokit, ref, record, previous?.number);

  if (previous?.number !== undefined && previous.botId !== undefined) {
    const a = previous as Required<RevertAttempt>;
    const { data: pr } = await octokit.rest.pulls.get({ ...ref, pull_number: a.number });
    const out: RevertOutcome = { state: pr.merged_at ? "merged" : pr.state === "open" ? "open" : "closed", branch: a.branch, number: a.number, created: false, hostile };
    return out.state === "open" ? mergeIfWanted(octokit, ref, record, a, base, opts, out) : out;
  }
  // A branch left by an attempt interrupted before its PR existed: dropped, and a fresh one made.
  if (previous) await deleteOwnBranch(octokit, ref, previous);

  const { data: head } = await octokit.rest.git.getRef({ ...ref, ref: `heads/${base}` });
  const baseSha = head.object.sha;
  try {
    await octokit.rest.repos.getContent({ ...ref, path: record.path, ref: baseSha });
  } catch (e) {
    if (isNotFound(e)) return { state: "file_absent", branch: "", created: false, hostile };
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
  const branch = revertBranch(record.database, record.requestId, randomBytes(8).toString("hex"));
  await memory.record({ branch, commitSha: commit.sha });
  // Created, never moved: a 422 (someone holds the name) fails this attempt; the retry picks another name.
  await octokit.rest.git.createRef({ ...ref, ref: `refs/heads/${branch}`, sha: commit.sha });
  const { data: pr } = await octokit.rest.pulls.create({ ...ref, head: branch, base, title: revertTitle(record), body: revertBody(record) });
  const a: Required<RevertAttempt> = { branch, commitSha: commit.sha, number: pr.number, botId: pr.user.id };
  await memory.record(a);
  // A label that explains itself, created on first use (422: it exists already).
  await octokit.rest.issues.createLabel({ ...ref, name: opts.label, color: "bfd4f2", description: "jit-access: removes the request file of an expired grant" })
    .catch((e: unknown) => { if (status(e) !== 422) throw e; });
  await octokit.rest.issues.addLabels({ ...ref, issue_number: pr.number, labels: [opts.label] });
  return mergeIfWanted(octokit, ref, record, a, base, opts, { state: "open", branch, number: pr.number, created: true, hostile });
}
