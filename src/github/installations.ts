// GitHub clients for work that no webhook started (the sweeper, the outbox): the App finds the
// installation of a repository with its JWT, then acts with that installation's token.
import type { Probot } from "probot";
import type { AccessRepositories } from "../core/repositories.ts";
import type { Octokit, RepoRef } from "./octokit.ts";

export interface GitHubAccess {
  /** An installation-authenticated client for "owner/name"; rejects when the App is not installed there. */
  octokitFor(repository: string): Promise<Octokit>;
  /** This App's id: issues and comments it finds by marker must be its own. */
  appId?: number;
  /** I10: background work (revert PRs, reminders, reconcile) touches only these; absent means all (development). */
  repositories?: AccessRepositories;
}

export function repoRefOf(repository: string): RepoRef {
  const [owner, repo, ...rest] = repository.split("/");
  if (!owner || !repo || rest.length) throw new Error(`not an owner/name repository: ${JSON.stringify(repository)}`);
  return { owner, repo };
}

/** Backed by a Probot instance (the app's own, or the one Probot passes to the app function). */
export function probotGitHub(probot: Pick<Probot, "auth">, appId?: number, repositories?: AccessRepositories): GitHubAccess {
  const installations = new Map<string, number>();
  return {
    ...(appId !== undefined ? { appId } : {}),
    ...(repositories ? { repositories } : {}),
    async octokitFor(repository) {
      const ref = repoRefOf(repository);
      let id = installations.get(repository);
      if (id === undefined) {
        const app = (await probot.auth()) as unknown as Octokit;
        id = (await app.rest.apps.getRepoInstallation({ ...ref })).data.id;
        installations.set(repository, id);
      }
      // Probot caches installation tokens; a new client per call is cheap.
      return (await probot.auth(id)) as unknown as Octokit;
    },
  };
}

export interface InstalledRepository {
  repository: string;
  /** GitHub id: the I10 gate compares it with the pinned one. */
  id: number;
  ref: RepoRef;
  defaultBranch: string;
  /** Authenticated as the installation that covers the repository. */
  octokit: Octokit;
}

/** Every repository of every installation of this App (the lost-merge reconciler's scope). */
export async function* installedRepositories(probot: Pick<Probot, "auth">): AsyncGenerator<InstalledRepository> {
  const app = (await probot.auth()) as unknown as Octokit;
  const installations = await app.paginate(app.rest.apps.listInstallations, { per_page: 100 });
  for (const installation of installations) {
    const octokit = (await probot.auth(installation.id)) as unknown as Octokit;
    const repos = await octokit.paginate(octokit.rest.apps.listReposAccessibleToInstallation, { per_page: 100 });
    for (const r of repos) {
      if (r.archived) continue;
      yield { repository: r.full_name, id: r.id, ref: { owner: r.owner.login, repo: r.name }, defaultBranch: r.default_branch, octokit };
    }
  }
}
