// The data-access seam between the pure core and GitHub (as palantir/policy-bot's pull.Context):
// everything the approval engine knows about a pull request comes through these reads, each pinned
// to a SHA or to the pull request, so a decision can be replayed from the same answers.
//
// Rules for implementations (src/github/ over Octokit, test/helpers/fake-context.ts, the simulator):
// - every method is ONE logical read of the API named beside it (a paginated list counts as one);
// - answers are fresh API reads, never webhook payloads;
// - a failed read rejects; the core never decides on partial data (nothing is granted);
// - comments, reactions and commit statuses are deliberately absent: they are never evidence.

/** GET /repos/{owner}/{repo}/pulls/{pull_number} (plus, once merged, GET /repos/{owner}/{repo}/git/commits/{merge_commit_sha} for its first parent). */
export interface PullRequestInfo {
  repository: { owner: string; name: string; defaultBranch: string };
  number: number;
  /** Login of the PR author (the requester). */
  author: string;
  draft: boolean;
  state: "open" | "closed";
  merged: boolean;
  headSha: string;
  /** `base.ref`: the branch the PR targets. Only PRs into the default branch are ever granted. */
  baseRef: string;
  /** `base.sha` of the pull request: where an open PR's policies and CODEOWNERS are read. */
  baseSha: string;
  /** The commit the merge created on the base branch (squash, rebase or merge); null until merged. */
  mergeCommitSha: string | null;
  /** First parent of the merge commit: the base as it was at merge time (invariant I1). Null until merged. */
  mergeParentSha: string | null;
  /** `changed_files` of the PR: lets the core notice a file list the API truncated (3 000 files, I12). */
  changedFilesCount: number;
  /** `commits` of the PR: lets the core notice a commit list the API truncated (250 commits, I12). */
  commitsCount: number;
  /** `merged_at` (RFC 3339 UTC) from the API; null until merged. The grant window starts here (I17);
   * approvals submitted later never count (I13). */
  mergedAt: string | null;
}

/** GitHub's statuses of a file in a pull request. */
export type FileStatus = "added" | "modified" | "removed" | "renamed" | "copied" | "changed" | "unchanged";

/** An entry of GET /repos/{owner}/{repo}/pulls/{pull_number}/files. */
export interface ChangedFile {
  filename: string;
  status: FileStatus;
  /** Blob SHA at head (GitHub reports the old blob for a removed file). */
  sha: string | null;
  /** For renamed/copied files: the path the file had before. */
  previousFilename?: string;
  /**
   * Git file mode at head when the adapter knows it. GitHub's files endpoint does not report modes,
   * so the core checks the request file's mode with listDir (the git trees API) instead.
   */
  mode?: string;
}

export interface GitActor {
  /** GitHub account GitHub linked to the commit identity, when there is one. */
  login?: string;
  name?: string;
  email?: string;
}

export interface CoAuthor {
  name: string;
  email: string;
  /** Account GitHub resolved for the email (GraphQL Commit.authors), when the adapter has it. */
  login?: string;
}

/** An entry of GET /repos/{owner}/{repo}/pulls/{pull_number}/commits. */
export interface PullRequestCommit {
  sha: string;
  /** Full commit message; the core reads `Co-authored-by:` trailers from it (parseCoAuthors). */
  message: string;
  author: GitActor;
  committer: GitActor;
  /** Co-authors the adapter resolved to accounts; merged with the trailers the core parses itself. */
  coAuthors?: CoAuthor[];
}

export type ReviewState = "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "DISMISSED" | "PENDING";

/** An entry of GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews. */
export interface Review {
  id: number;
  /** Reviewer login ("ghost" for a deleted account). */
  user: { login: string; type: "User" | "Bot" | "Organization" | string };
  state: ReviewState;
  /** The commit the review was submitted on. */
  commitId: string;
  /** RFC 3339 UTC timestamp; absent for a PENDING review. */
  submittedAt?: string;
}

export type Permission = "admin" | "maintain" | "write" | "triage" | "read" | "none";

export interface TreeEntry {
  /** Name within the directory. */
  name: string;
  /** Repository-relative path. */
  path: string;
  type: "blob" | "tree" | "commit";
  /** Git file mode, e.g. "100644", "100755", "120000", "040000", "160000". */
  mode: string;
  sha: string;
}

export interface RequestState {
  /** scheduled: merged with a future start, not granted yet (only a deletion may change it: cancel). */
  status: "none" | "active" | "ended" | "scheduled";
  /** Milliseconds since the epoch, from the ledger (database clock). */
  grantedAt?: number;
  expiresAt?: number;
  /** Total duration of the current grant. */
  durationMs?: number;
}

/**
 * Someone the app saw change the PR's head or base: the `sender` of a `pull_request` delivery
 * (opened, reopened, synchronize, or edited with a new base), recorded in the state database (I13).
 */
export interface Pusher {
  login: string;
  /** The delivery's action, e.g. "synchronize". */
  action: string;
  /** The PR's head SHA after that event. */
  headSha: string;
}

export interface PullRequestContext {
  /** GET /repos/{owner}/{repo}/pulls/{pull_number} (+ GET …/git/commits/{merge_commit_sha} when merged). */
  pull(): Promise<PullRequestInfo>;
  /** GET /repos/{owner}/{repo}/pulls/{pull_number}/files (paginated; GitHub caps it at 3000 files). */
  changedFiles(): Promise<ChangedFile[]>;
  /** GET /repos/{owner}/{repo}/pulls/{pull_number}/commits (paginated; at most 250 commits). */
  commits(): Promise<PullRequestCommit[]>;
  /** GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews (paginated). */
  reviews(): Promise<Review[]>;
  /**
   * GET /orgs/{org}/teams/{team_slug}/memberships/{username}: true only for an ACTIVE membership
   * (a pending invitation is not membership). `team` is "@org/team-slug".
   */
  isTeamMember(login: string, team: string): Promise<boolean>;
  /** GET /repos/{owner}/{repo}/collaborators/{username}/permission ("none" when not a collaborator). */
  permission(login: string): Promise<Permission>;
  /** GET /repos/{owner}/{repo}/contents/{path}?ref={sha} (raw): the bytes, or undefined when absent. */
  fileAt(sha: string, path: string): Promise<Uint8Array | undefined>;
  /** GET /repos/{owner}/{repo}/git/trees/{sha}:{dir} (not recursive): entries, or [] when absent. */
  listDir(sha: string, dir: string): Promise<TreeEntry[]>;
  /** Not GitHub: the state database's ledger row for this request id (single-use ids, extensions). */
  requestState(database: string, requestId: string): Promise<RequestState>;
  /** Not GitHub: everyone recorded as having pushed to (or retargeted) this PR; they never approve (I13). */
  pushers(): Promise<Pusher[]>;
}

/** The methods that count as GitHub API reads, for documentation and read-counting tests. */
export const GITHUB_READS = ["pull", "changedFiles", "commits", "reviews", "isTeamMember", "permission", "fileAt", "listDir"] as const;

/**
 * `Co-authored-by: Name <email>` lines of a commit message. GitHub reads them from the trailer
 * block; we read them from any line, because recognising too many co-authors only excludes more
 * approvers (the safe direction). The key is case-insensitive, as in GitHub.
 */
export function parseCoAuthors(message: string): CoAuthor[] {
  const out: CoAuthor[] = [];
  for (const line of message.split(/\r?\n/)) {
    const m = /^[ \t]*co-authored-by:[ \t]*(.*?)[ \t]*<([^<>\s]*)>/i.exec(line);
    if (m) out.push({ name: m[1]!, email: m[2]! });
  }
  return out;
}
