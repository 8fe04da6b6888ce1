// In-memory state of the simulated GitHub (everything but git content, which lives in GitStore).
import type { GitStore } from "./git-store.ts";

export type Permission = "admin" | "maintain" | "write" | "triage" | "read";
export const PERMISSION_RANK: Record<Permission | "none", number> = { none: 0, read: 1, triage: 2, write: 3, maintain: 4, admin: 5 };

export interface SimUser {
  login: string;
  id: number;
  nodeId: string;
  type: "User" | "Bot" | "Organization";
  name: string;
  email: string;
  createdAt: Date;
}

export interface TeamMember { role: "member" | "maintainer"; state: "active" | "pending" }

export interface Team {
  id: number;
  nodeId: string;
  org: string;
  slug: string;
  name: string;
  members: Map<string, TeamMember>;
  createdAt: Date;
}

export interface Installation {
  id: number;
  account: string;
  createdAt: Date;
}

export interface BranchProtection {
  /** approving reviews (on the current head) required to merge without admin bypass */
  requiredApprovingReviews: number;
  /** check-run names that must have concluded success on the head */
  requiredChecks: string[];
  /** a push to the PR dismisses earlier approvals */
  dismissStaleReviews: boolean;
  /** logins (users or `app[bot]`) that may merge regardless */
  bypass: string[];
}

export interface Label { id: number; nodeId: string; name: string; color: string; description: string | null }

export interface PullFields {
  headRef: string;
  headSha: string;
  baseRef: string;
  /** base branch head when the PR was closed or merged (open PRs read the live branch) */
  baseShaAtClose: string | null;
  draft: boolean;
  merged: boolean;
  mergedAt: Date | null;
  mergedBy: string | null;
  mergeCommitSha: string | null;
  maintainerCanModify: boolean;
  /** Review requests still open (logins and team slugs); a review by a requested user removes it, as on GitHub. */
  requestedReviewers?: string[];
  requestedTeams?: string[];
}

export interface Issue {
  number: number;
  id: number;
  nodeId: string;
  title: string;
  body: string | null;
  user: string;
  /** Opened with the App's installation token: GitHub then reports `performed_via_github_app`. */
  viaApp?: boolean;
  state: "open" | "closed";
  stateReason: "completed" | "not_planned" | "reopened" | null;
  labels: string[];
  assignees: string[];
  createdAt: Date;
  updatedAt: Date;
  closedAt: Date | null;
  closedBy: string | null;
  pull?: PullFields;
}

export type PullRequest = Issue & { pull: PullFields };

export interface Review {
  id: number;
  nodeId: string;
  number: number;
  user: string;
  body: string;
  state: "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "DISMISSED" | "PENDING";
  commitId: string;
  submittedAt: Date;
}

export interface IssueComment {
  id: number; nodeId: string; number: number; user: string; body: string; createdAt: Date; updatedAt: Date;
  /** Made with the App's installation token: GitHub then reports `performed_via_github_app`. */
  viaApp?: boolean;
}

export interface CheckSuite {
  id: number;
  nodeId: string;
  headSha: string;
  headBranch: string | null;
  before: string | null;
  after: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface Annotation {
  path: string;
  start_line: number;
  end_line: number;
  start_column: number | null;
  end_column: number | null;
  annotation_level: "notice" | "warning" | "failure";
  title: string | null;
  message: string;
  raw_details: string | null;
}

export interface CheckRun {
  id: number;
  nodeId: string;
  suiteId: number;
  headSha: string;
  name: string;
  status: "queued" | "in_progress" | "completed" | "waiting" | "requested" | "pending";
  conclusion: string | null;
  startedAt: Date;
  completedAt: Date | null;
  detailsUrl: string | null;
  externalId: string | null;
  output: { title: string | null; summary: string | null; text: string | null };
  annotations: Annotation[];
}

export interface Repo {
  id: number;
  nodeId: string;
  owner: string;
  name: string;
  private: boolean;
  defaultBranch: string;
  git: GitStore;
  collaborators: Map<string, Permission>;
  teamPermissions: Map<string, Permission>;
  protection: BranchProtection | null;
  createdAt: Date;
  pushedAt: Date;
  nextNumber: number;
  issues: Map<number, Issue>;
  reviews: Review[];
  comments: Map<number, IssueComment>;
  labels: Map<string, Label>;
  checkSuites: Map<number, CheckSuite>;
  checkRuns: Map<number, CheckRun>;
}

export const fullName = (r: Repo) => `${r.owner}/${r.name}`;
export const isPull = (i: Issue): i is PullRequest => i.pull !== undefined;

/** Monotonic ids per kind, so ids look like GitHub's and never collide inside one simulator. */
export class Ids {
  #next = new Map<string, number>();
  next(kind: string, start = 1000): number {
    const n = this.#next.get(kind) ?? start;
    this.#next.set(kind, n + 1);
    return n;
  }
  nodeId(kind: string, id: number): string {
    return Buffer.from(`0:${kind}${id}`).toString("base64url");
  }
}
