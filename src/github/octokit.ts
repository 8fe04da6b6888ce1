// The one Octokit type adapters accept: the installation-authenticated client Probot hands us.
import type { ProbotOctokit } from "probot";

export type Octokit = InstanceType<typeof ProbotOctokit>;

export interface RepoRef {
  owner: string;
  repo: string;
}

export function repoKey(r: RepoRef): string {
  return `${r.owner}/${r.repo}`;
}

/** GitHub answered 404: the thing is not there (as opposed to any other failure). */
export function isNotFound(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { status?: number }).status === 404;
}
