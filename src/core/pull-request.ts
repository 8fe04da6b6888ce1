// The ONE decision about a request pull request: the check run shows it, the merge path acts on it
// (invariant I1). Everything comes from PullRequestContext reads pinned to SHAs: the request at the
// head SHA, policies and CODEOWNERS at the base (for a merged PR: the merge commit's first parent,
// never the head), reviews on the head SHA, team membership and permissions resolved now.
//
// API reads per evaluation (GitHub; each a single logical read of src/core/context.ts), fixed and
// independent of how many files the repository holds or how many commits its default branch has:
//   pull 1 + changedFiles 1 + listDir(head, request dir) 1 + fileAt(head, request) 1
//   + listDir(base, "policies") 1 + fileAt(base, policy file) P + fileAt(base, CODEOWNERS) 3
//   + commits 1 + reviews 1                                            = 10 + P
//   (changedFiles, commits and reviews are each one paginated list: ceil(n/100) requests; files
//   and commits are compared with the totals pulls/get reports, I12)
//   + isTeamMember(author, team) for each team among the role's requesters (none if listed by login)
//   + per reviewer whose latest review is APPROVED on the head or CHANGES_REQUESTED and who is not
//     excluded before any read (bot, author, beneficiary, contributor, stale): permission 1 +
//     isTeamMember for each owner team and approver team asked (memoised, stops at the first match)
//   + extension only: fileAt(base, request) 1
//   + auto_approve only (human approvals missing): isTeamMember(author, team) per rule team asked
//   + merge mode only: listDir(merge commit, request dir) 1 + listDir(base, root) 1 + listDir(merge commit, root) 1
// plus the state database's requestState and, when approvals are evaluated, pushers. P is the
// number of policies/*.yaml files (at most MAX_POLICY_FILES). Early failures (PR shape, request state, parse errors) stop before later reads.
// A deleted request file costs pull + changedFiles + requestState, plus, when it is an active grant
// (early revoke), listDir(base, "policies") 1 + P for the database's connection.
import { evaluateApproval, type ApprovalResult } from "./approval.ts";
import { withAutoApproval, type AutoApproval } from "./auto-approve.ts";
import { CODEOWNERS_LOCATIONS, codeownersFromBytes, type SelectedCodeowners } from "./codeowners.ts";
import type { ChangedFile, PullRequestContext, PullRequestInfo, RequestState, TreeEntry } from "./context.ts";
import { formatDuration } from "./duration.ts";
import { evaluatePolicy } from "./evaluate-policy.ts";
import { parsePolicies } from "./policy.ts";
import { irregularEntry, readPolicies } from "./policy-reader.ts";
import { decide, problem, type Decision, type Problem } from "./problem.ts";
import { parseRequestPath, isUnderRequestsDir } from "./request-path.ts";
import { parseRequest } from "./request.ts";
import { startProblems } from "./schedule.ts";
import { breakGlassProblems, breakGlassTeamsToAsk } from "./break-glass.ts";
import { safeProblems } from "./text.ts";
import { parseUtcTimestamp } from "./timestamp.ts";
import type { AccessRequest, Policy, PolicyEvaluation } from "./types.ts";

/** More policy files than this is refused rather than read (keeps the read count bounded). */
export { MAX_POLICY_FILES } from "./policy-reader.ts";

export interface EvaluatePullRequestOptions {
  /** Milliseconds since the epoch: answers "until when, if merged now". */
  now: number;
  /** "check": an open PR's check run. "merge": re-verification of a merged PR before granting. */
  mode: "check" | "merge";
}

/** grant: new access; extension: longer duration for an active grant; revoke: end an active grant now; none: nothing to do. */
export type EvaluationKind = "grant" | "extension" | "revoke" | "none";

export interface PullRequestEvaluation {
  kind: EvaluationKind;
  mode: "check" | "merge";
  pullRequest: Pick<PullRequestInfo, "number" | "author" | "draft" | "state" | "merged" | "headSha" | "mergeCommitSha" | "mergedAt"> & {
    /** Where policies and CODEOWNERS were read: base.sha, or the merge commit's first parent. */
    baseSha: string | null;
  };
  requestPath: string | null;
  database: string | null;
  requestId: string | null;
  requestState: RequestState | null;
  request: AccessRequest | null;
  policy: PolicyEvaluation | null;
  approval: ApprovalResult | null;
  /** auto_approve of the base policy, when human approvals were missing and the role has rules. */
  autoApproval: AutoApproval | null;
  /** The PR author. */
  requester: string;
  dbUser: string | null;
  /** GitHub logins mapped to dbUser: they can never approve. */
  beneficiaries: string[];
  /** For grant and extension: when the access would end if merged at `now` (ms since the epoch). */
  expiresAtIfMergedNow: number | null;
  /**
   * The policies read at the base: the grant engine checks the grant against the same document the
   * decision used. Also read for an early revoke, which needs the database's connection.
   */
  basePolicy: Policy | null;
}

export async function evaluatePullRequest(ctx: PullRequestContext, opts: EvaluatePullRequestOptions): Promise<Decision<PullRequestEvaluation>> {
  const pr = await ctx.pull();
  const baseSha = opts.mode === "merge" ? pr.mergeParentSha : pr.baseSha;
  const out: PullRequestEvaluation = {
    kind: "none",
    mode: opts.mode,
    pullRequest: {
      number: pr.number, author: pr.author, draft: pr.draft, state: pr.state, merged: pr.merged,
      headSha: pr.headSha, baseSha, mergeCommitSha: pr.mergeCommitSha, mergedAt: pr.mergedAt,
    },
    requestPath: null, database: null, requestId: null, requestState: null, request: null,
    policy: null, approval: null, autoApproval: null, requester: pr.author, dbUser: null, beneficiaries: [], expiresAtIfMergedNow: null, basePolicy: null,
  };
  const problems: Problem[] = [];
  // I18: file names from the PR are quoted in messages; never let them carry invisible characters.
  const done = () => decide(out, safeProblems(problems), summary(out));

  // Lifecycle: only a merged PR is granted; a closed or draft one never is.
  if (opts.mode === "merge" && (!pr.merged || !pr.mergeCommitSha || !pr.mergeParentSha)) {
    problems.push(problem("JIT_PR_NOT_MERGED", `pull request #${pr.number} is not merged`));
    return done();
  }
  if (!pr.merged && pr.state === "closed") {
    problems.push(problem("JIT_PR_NOT_MERGED", `pull request #${pr.number} was closed without merging`));
    return done();
  }
  if (pr.draft) problems.push(problem("JIT_PR_DRAFT", `pull request #${pr.number} is a draft`, { hint: "mark it ready for review" }));

  // Shape: exactly one file, under access-requests/, at the exact path.
  const shape = classifyFiles(await ctx.changedFiles(), pr);
  problems.push(...shape.problems);
  const file = shape.request;
  if (!file || baseSha === null) return done();
  // Only the default branch's policies and CODEOWNERS decide; any other branch is whatever someone
  // who can push a branch made it. Checked before the base is read at all (I1).
  if (pr.baseRef !== pr.repository.defaultBranch) {
    problems.push(problem("JIT_PR_BASE_NOT_DEFAULT", `pull request #${pr.number} targets ${pr.baseRef}, not the default branch ${pr.repository.defaultBranch}; requests are granted only from ${pr.repository.defaultBranch}`, {
      hint: `change the pull request's base branch to ${pr.repository.defaultBranch}`,
    }));
    return done();
  }
  const where = parseRequestPath(file.filename);
  if (!where.ok) return done(); // classifyFiles only keeps exact paths
  out.requestPath = file.filename;
  out.database = where.database;
  out.requestId = where.requestId;

  // Request ids are single-use; an active request may only be extended or revoked.
  const state = await ctx.requestState(where.database, where.requestId);
  out.requestState = state;
  if (file.status === "removed") {
    // Deleting a scheduled request cancels it: the revoke path, before any GRANT happened.
    out.kind = state.status === "active" || state.status === "scheduled" ? "revoke" : "none";
    if (out.kind === "revoke") out.basePolicy = await readBasePolicies(ctx, baseSha, []);
    return done();
  }
  if (state.status === "scheduled") {
    problems.push(problem("JIT_REQUEST_SCHEDULED", `request id ${where.requestId} on ${where.database} is already merged and scheduled; it cannot change before it starts`, {
      path: file.filename, hint: "delete the file in a pull request to cancel it, and open a new request (new file name) instead",
    }));
    return done();
  }
  out.kind = state.status === "active" && file.status !== "added" ? "extension" : "grant";
  if (state.status === "ended" || (state.status === "active" && file.status === "added")) {
    problems.push(problem("JIT_REQUEST_ID_USED", `request id ${where.requestId} on ${where.database} was already granted (${state.status}); request ids are single-use`, {
      path: file.filename, hint: "use a new file name (request id) for a new request",
    }));
    return done();
  }

  // The blob at head: a regular file, and in merge mode the very blob that was merged.
  const dir = file.filename.slice(0, file.filename.lastIndexOf("/"));
  const headEntry = findEntry(await ctx.listDir(pr.headSha, dir), file.filename);
  if (!headEntry || headEntry.type !== "blob" || headEntry.mode !== "100644") {
    problems.push(problem("JIT_PR_FILE_MODE", `${file.filename} is ${describeEntry(headEntry)} at ${pr.headSha.slice(0, 12)}; only regular files (mode 100644) count`, {
      path: file.filename, hint: "commit it as a plain, non-executable file",
    }));
    return done();
  }
  if (file.sha !== null && file.sha !== headEntry.sha) {
    problems.push(problem("JIT_PR_BLOB_MISMATCH", `${file.filename} changed while it was being evaluated`, { path: file.filename, hint: "re-run the check" }));
    return done();
  }
  if (opts.mode === "merge") {
    const merged = findEntry(await ctx.listDir(pr.mergeCommitSha!, dir), file.filename);
    if (!merged || merged.sha !== headEntry.sha || merged.mode !== "100644") {
      problems.push(problem("JIT_PR_BLOB_MISMATCH", `${file.filename} at the merge commit ${pr.mergeCommitSha!.slice(0, 12)} is not the blob that was reviewed at ${pr.headSha.slice(0, 12)}`, {
        path: file.filename,
      }));
      return done();
    }
    // The merge commit's first parent is the base only for merge and squash commits: after a rebase
    // merge of several commits it is the PR's own next-to-last commit, so an earlier commit of the
    // PR could have rewritten CODEOWNERS or policies there (and a later one put them back). Policies
    // and CODEOWNERS are read at that parent only when the merge changed nothing outside
    // access-requests/ relative to it (I1).
    const [atBase, atMerge] = await Promise.all([ctx.listDir(baseSha, ""), ctx.listDir(pr.mergeCommitSha!, "")]);
    const outside = changedOutsideRequests(atBase, atMerge);
    if (outside.length > 0) {
      problems.push(problem("JIT_PR_TOUCHES_OTHER_FILES", `the merge commit ${pr.mergeCommitSha!.slice(0, 12)} also changes ${outside.join(", ")} relative to its parent ${baseSha.slice(0, 12)}, where policies and CODEOWNERS would be read; the pull request's commits changed more than its request file`, {
        path: file.filename, hint: "open the request as a pull request whose every commit changes only the request file, or merge it with a merge commit or squash",
      }));
      return done();
    }
  }

  const bytes = await ctx.fileAt(pr.headSha, file.filename);
  if (bytes === undefined) {
    problems.push(problem("JIT_PR_BLOB_MISMATCH", `${file.filename} could not be read at ${pr.headSha.slice(0, 12)}`, { path: file.filename, hint: "re-run the check" }));
    return done();
  }
  const parsed = parseRequest(file.filename, bytes);
  problems.push(...parsed.problems);
  const request = parsed.details;
  if (!request) return done();
  out.request = request;

  if (out.kind === "extension") {
    const ext = await checkExtension(ctx, baseSha, request, state);
    problems.push(...ext);
    if (ext.length > 0) return done();
  }

  // Policies at the base, never the head.
  const policy = await readBasePolicies(ctx, baseSha, problems);
  out.basePolicy = policy;
  if (!policy) return done();

  const requesterTeams = await teamsOf(ctx, pr.author, policy, request);
  const evaluated = evaluatePolicy({ request, policy, requester: pr.author, requesterTeams });
  problems.push(...evaluated.problems);
  const evaluation = evaluated.details;
  if (!evaluation) return done();
  out.policy = evaluation;
  out.dbUser = evaluation.dbUser;
  out.beneficiaries = Object.keys(policy.identities).filter((login) => policy.identities[login] === evaluation.dbUser).sort();
  out.expiresAtIfMergedNow = (out.kind === "extension" ? (state.grantedAt ?? opts.now) : opts.now) + evaluation.durationMs;
  if (request.startMs !== undefined) {
    // A scheduled start is judged against now (check) or GitHub's merge time (merge, I17); an
    // extension keeps its window, so start may not appear in one (checkExtension compares fields).
    const reference = opts.mode === "merge" ? (parseUtcTimestamp(pr.mergedAt) ?? Number.POSITIVE_INFINITY) : opts.now;
    problems.push(...startProblems(request, evaluation.rolePolicy, reference));
    out.expiresAtIfMergedNow = request.startMs + evaluation.durationMs;
  }
  if (request.breakGlass) {
    const teams = new Set<string>();
    for (const t of breakGlassTeamsToAsk(pr.author, evaluation.rolePolicy)) if (await ctx.isTeamMember(pr.author, t)) teams.add(t);
    problems.push(...breakGlassProblems(request, evaluation.rolePolicy, pr.author, teams));
  }

  // Approvals: base CODEOWNERS, reviews on the head SHA.
  const codeowners = await readCodeowners(ctx, baseSha);
  const [commits, reviews, pushers] = [await ctx.commits(), await ctx.reviews(), await ctx.pushers()];
  // GitHub stops listing a PR's commits at 250 without saying so: who committed is decided only on
  // the whole list (I12).
  if (commits.length !== pr.commitsCount) {
    problems.push(problem("JIT_LIST_INCOMPLETE", `GitHub listed ${commits.length} of the ${pr.commitsCount} commits of pull request #${pr.number}; who made the others cannot be checked`, {
      path: file.filename, hint: "squash the request into a single commit (a request PR needs one)",
    }));
  }
  const at = opts.mode === "merge" ? { mode: "merge" as const, mergedAt: pr.mergedAt ?? "" } : { mode: "check" as const, now: opts.now };
  const approval = await evaluateApproval({
    requestPath: file.filename,
    headSha: pr.headSha,
    author: pr.author,
    beneficiaries: out.beneficiaries,
    commits,
    reviews,
    pushers,
    at,
    codeowners,
    requirement: evaluation.approvalRequirement,
    ctx,
  });
  out.approval = approval.details;
  // auto_approve (base policy only) may stand in for the missing human approvals, judged at
  // merged_at on merge and now on check.
  const auto = await withAutoApproval(approval.problems, {
    rules: evaluation.rolePolicy.autoApprove, roleApprovals: evaluation.rolePolicy.approvals, requester: pr.author,
    durationMs: evaluation.durationMs, breakGlass: request.breakGlass === true, commits, pushers, isTeamMember: (l, t) => ctx.isTeamMember(l, t),
    at: opts.mode === "merge" ? (parseUtcTimestamp(pr.mergedAt ?? undefined) ?? Number.NaN) : opts.now,
  });
  out.autoApproval = auto.autoApproval;
  problems.push(...auto.problems);
  return done();
}

interface Shape {
  request: ChangedFile | null;
  problems: Problem[];
}

/** The PR must change exactly one file: a request at the exact path. Everything else is reported. */
export function classifyFiles(files: readonly ChangedFile[], pr: Pick<PullRequestInfo, "number" | "changedFilesCount">): Shape {
  const problems: Problem[] = [];
  const requests: ChangedFile[] = [];
  let requestLike = 0;
  if (files.length !== pr.changedFilesCount) {
    // GitHub stops listing a PR's files at 3 000 without saying so (I12).
    problems.push(problem("JIT_LIST_INCOMPLETE", `GitHub listed ${files.length} of the ${pr.changedFilesCount} files pull request #${pr.number} changes; the unlisted ones cannot be checked, and a request PR changes one file`, {
      hint: "open a pull request that changes only its request file",
    }));
  }
  const sorted = [...files].sort((a, b) => (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0));
  for (const f of sorted) {
    const paths = [f.filename, ...(f.previousFilename !== undefined ? [f.previousFilename] : [])];
    const outside = paths.filter((p) => !isUnderRequestsDir(p));
    if (outside.length > 0) {
      for (const p of outside) {
        problems.push(problem("JIT_PR_TOUCHES_OTHER_FILES", `${p} is changed too; ${whyOther(p)}`, {
          path: p, hint: "open a separate pull request for it",
        }));
      }
      continue;
    }
    requestLike++;
    if (f.status === "renamed" || f.status === "copied") {
      problems.push(problem("JIT_PR_MULTIPLE_REQUESTS", `${f.previousFilename ?? "?"} is ${f.status} to ${f.filename}; a request PR adds, edits or deletes one request file`, {
        path: f.filename, hint: "delete the old request and add the new one in separate pull requests",
      }));
      continue;
    }
    const where = parseRequestPath(f.filename);
    if (!where.ok) {
      problems.push(where.problem);
      continue;
    }
    requests.push(f);
  }
  if (requests.length > 1) {
    problems.push(problem("JIT_PR_MULTIPLE_REQUESTS", `pull request #${pr.number} changes ${requests.length} request files (${requests.map((r) => r.filename).join(", ")}); one request per pull request`, {
      hint: "split it into one pull request per request",
    }));
    return { request: null, problems };
  }
  if (requests.length === 0 && requestLike === 0) {
    problems.push(problem("JIT_PR_NO_REQUEST", `pull request #${pr.number} changes no file under access-requests/`, {
      hint: "add access-requests/<database>/<request-id>.yaml",
    }));
  }
  return { request: requests[0] ?? null, problems };
}

function whyOther(path: string): string {
  if (CODEOWNERS_LOCATIONS.includes(path as (typeof CODEOWNERS_LOCATIONS)[number])) return "CODEOWNERS decides who approves and is always read from the base";
  if (path.startsWith("policies/")) return "policies decide what is granted and are always read from the base";
  if (path.startsWith(".github/")) return ".github/ holds workflows and ownership and never changes with a request";
  if (path.startsWith("schemas/")) return "schemas are part of the contract and never change with a request";
  return "a request pull request changes nothing but its one request file";
}

/** Top-level names whose entry (type, mode, object) differs between two root trees, except access-requests/. */
function changedOutsideRequests(before: readonly TreeEntry[], after: readonly TreeEntry[]): string[] {
  const key = (e: TreeEntry | undefined) => (e ? `${e.type} ${e.mode} ${e.sha}` : "absent");
  const b = new Map(before.map((e) => [e.name, e]));
  const a = new Map(after.map((e) => [e.name, e]));
  const names = [...new Set([...b.keys(), ...a.keys()])].filter((n) => n !== "access-requests").sort();
  return names.filter((n) => key(b.get(n)) !== key(a.get(n)));
}

function findEntry(entries: readonly TreeEntry[], path: string): TreeEntry | undefined {
  return entries.find((e) => e.path === path);
}

function describeEntry(e: TreeEntry | undefined): string {
  return e ? (irregularEntry(e) ?? `mode ${e.mode}`) : "missing";
}

/** An active request may change its duration only; the new total counts from the original grant. */
async function checkExtension(ctx: PullRequestContext, baseSha: string, request: AccessRequest, state: RequestState): Promise<Problem[]> {
  const notAllowed = (why: string) => [problem("JIT_EXTENSION_NOT_ALLOWED", `${request.path} is an active request: ${why}`, {
    path: request.path, hint: "only duration may change while access is active; delete the file to end it early",
  })];
  const baseBytes = await ctx.fileAt(baseSha, request.path);
  const before = baseBytes === undefined ? null : parseRequest(request.path, baseBytes).details;
  if (!before) return notAllowed("its current version on the base branch could not be read");
  const changed = (["role", "reason", "ticket", "user", "start"] as const).filter((k) => before[k] !== request[k]);
  if (changed.length > 0) return notAllowed(`${changed.join(", ")} changed`);
  const current = state.durationMs ?? before.durationMs;
  if (request.durationMs <= current) {
    return notAllowed(`an extension must ask for more than the current ${before.duration} (counted from the original grant)`);
  }
  return [];
}

/** The base policies through the one policy reader (src/core/policy-reader.ts); problems go to `problems`. */
async function readBasePolicies(ctx: PullRequestContext, sha: string, problems: Problem[]): Promise<Policy | null> {
  const read = await readPolicies({
    where: sha.slice(0, 12),
    list: () => ctx.listDir(sha, "policies"),
    read: (e) => ctx.fileAt(sha, e.path),
  });
  // The trees API answers an absent directory with no entries: the same "no policy files" refusal.
  const parsed = read ?? parsePolicies([]);
  problems.push(...parsed.problems);
  return parsed.details;
}

/** The requester's teams among those that could allow the request (no reads when listed by login). */
async function teamsOf(ctx: PullRequestContext, login: string, policy: Policy, request: AccessRequest): Promise<Set<string>> {
  const db = Object.hasOwn(policy.databases, request.database) ? policy.databases[request.database] : undefined;
  const role = db && Object.hasOwn(db.roles, request.role) ? db.roles[request.role] : undefined;
  const requesters = role?.requesters ?? [];
  const teams = new Set<string>();
  if (requesters.includes(login.toLowerCase())) return teams;
  for (const t of requesters.filter((r) => r.startsWith("@"))) if (await ctx.isTeamMember(login, t)) teams.add(t);
  return teams;
}

/** All three locations are read, so the count is fixed; precedence then picks one. */
async function readCodeowners(ctx: PullRequestContext, sha: string): Promise<SelectedCodeowners | null> {
  const found = await Promise.all(CODEOWNERS_LOCATIONS.map((p) => ctx.fileAt(sha, p)));
  return codeownersFromBytes(new Map(CODEOWNERS_LOCATIONS.map((p, i) => [p, found[i]])));
}

function summary(e: PullRequestEvaluation): string {
  const length = e.policy ? formatDuration(e.policy.durationMs) : "?";
  switch (e.kind) {
    case "grant":
      return `grant ${e.policy?.role} on ${e.database} to ${e.dbUser} for ${length}`;
    case "extension":
      return `extend ${e.policy?.role} on ${e.database} for ${e.dbUser} to ${length} from the original grant`;
    case "revoke":
      return `revoke request ${e.requestId} on ${e.database} now`;
    case "none":
      return `nothing to grant`;
  }
}
