// Which policy a sweep acts with. A revoke needs the policy only for one thing: the environment
// variable that connects to the grant's database (the engine then refuses if that connection reaches
// another cluster than the one granted on). In the app the policy is read per repository at the
// default branch (briefly cached); the CLI reads policies/*.yaml from its checkout. GitHub being down
// must never block a revoke, so the app falls back to the last policy it read, then to the policy
// at the grant's merge commit, then to a local copy if it was started in a checkout (development;
// the server needs none). Every read goes through the one policy reader (src/core/policy-reader.ts).
import { decide, problem, type Decision } from "../core/problem.ts";
import { accessEntry, ALL_REPOSITORIES, keyAuthority, keyOwner } from "../core/repositories.ts";
import type { Policy } from "../core/types.ts";
import type { GitHubAccess } from "../github/installations.ts";
import { repoRefOf } from "../github/installations.ts";
import { policyAt } from "../github/policy-at.ts";
import { ledgerRepositories } from "../db/health.ts";
import type { Queryable } from "../db/state.ts";

export interface GrantRef {
  repository: string;
  database: string;
  mergeSha: string | null;
}

export interface PolicySource {
  /** A policy that defines the grant's database, or a problem (JIT_POLICY_UNAVAILABLE). */
  policyFor(grant: GrantRef): Promise<Decision<Policy | null>>;
  /** The policies whose target clusters to reconcile, one per repository. */
  policiesToReconcile(): Promise<{ repository: string; policy: Policy }[]>;
  /** False for grants of a repository this sweeper does not serve (absent: serves all). */
  serves?(repository: string): boolean;
}

const defines = (p: Policy | null | undefined, database: string): p is Policy => Boolean(p && Object.hasOwn(p.databases, database));

const unavailable = (g: GrantRef, why: string): Decision<Policy | null> =>
  decide(null, [problem("JIT_POLICY_UNAVAILABLE", `no policy defining database "${g.database}" for ${g.repository}: ${why}`)], "");

/**
 * `jit expire` / `jit reconcile`: the checkout's policies/, for the grants of one repository (or all).
 * Null: a server with neither a local policies/ nor the GitHub App configured knows no policy.
 */
export class StaticPolicySource implements PolicySource {
  private readonly policy: Policy | null;
  private readonly repository: string | null;

  constructor(policy: Policy | null, repository: string | null) {
    this.policy = policy;
    this.repository = repository;
  }

  serves(repository: string): boolean {
    return this.repository === null || repository === this.repository;
  }

  async policyFor(g: GrantRef): Promise<Decision<Policy | null>> {
    if (!this.serves(g.repository)) return unavailable(g, `this run serves ${this.repository} only`);
    if (!this.policy) return unavailable(g, "no local policies/ and the GitHub App is not configured");
    if (!defines(this.policy, g.database)) return unavailable(g, "the local policies/ do not define it");
    return decide(this.policy, [], "local policy");
  }

  async policiesToReconcile(): Promise<{ repository: string; policy: Policy }[]> {
    return this.policy ? [{ repository: this.repository ?? "(local)", policy: this.policy }] : [];
  }
}

interface Cached {
  at: number;
  policy: Policy | null;
}

export interface GitHubPolicySourceOptions {
  github: GitHubAccess;
  /** The state database: repositories to reconcile are those the ledger knows. */
  state: Queryable;
  /** A local policies/ (development checkout), last resort when GitHub cannot be read; usually none. */
  fallback?: Policy | null;
  ttlMs?: number;
  /** App clock, for the cache only. */
  now?: () => number;
  /** Extra repositories to reconcile (e.g. those the App is installed on with no grants yet). */
  repositories?: () => string[];
}

export class GitHubPolicySource implements PolicySource {
  #cache = new Map<string, Cached>();
  readonly #ttlMs: number;
  readonly #now: () => number;

  private readonly o: GitHubPolicySourceOptions;

  constructor(o: GitHubPolicySourceOptions) {
    this.o = o;
    this.#ttlMs = o.ttlMs ?? 60_000;
    this.#now = o.now ?? (() => Date.now());
  }

  /** The policy at the default branch's head, cached for ttlMs; on failure the last one read, if any. */
  async atDefaultBranch(repository: string): Promise<Policy | null> {
    const hit = this.#cache.get(repository);
    if (hit && this.#now() - hit.at < this.#ttlMs) return hit.policy;
    try {
      const octokit = await this.o.github.octokitFor(repository);
      const ref = repoRefOf(repository);
      const { data: repo } = await octokit.rest.repos.get({ ...ref });
      const { data: head } = await octokit.rest.git.getRef({ ...ref, ref: `heads/${repo.default_branch}` });
      const d = await policyAt(octokit, ref, head.object.sha);
      const policy = d.ok ? d.details : null;
      // An invalid policy at the default branch must not erase the last good one for revokes.
      if (policy || !hit) this.#cache.set(repository, { at: this.#now(), policy });
      return policy ?? hit?.policy ?? null;
    } catch (e) {
      if (hit) return hit.policy;
      throw e;
    }
  }

  async policyFor(grant: GrantRef): Promise<Decision<Policy | null>> {
    const errors: string[] = [];
    // I10: a database's connection comes from the access repository that owns the key, never from
    // whatever another repository's policies/ say (a row recorded before the repository list changed).
    const repositories = this.o.github.repositories ?? ALL_REPOSITORIES;
    let g = grant;
    if (keyAuthority(repositories, grant.repository, grant.database)) {
      const owner = keyOwner(repositories, grant.database);
      if (!owner) return this.o.fallback && defines(this.o.fallback, grant.database) ? decide(this.o.fallback, [], "the app's local policy") : unavailable(grant, "no access repository owns this database key");
      g = { repository: owner, database: grant.database, mergeSha: null };
      errors.push(`${grant.repository} is not the access repository of ${grant.database}; read ${owner}`);
    }
    try {
      const head = await this.atDefaultBranch(g.repository);
      if (defines(head, g.database)) return decide(head, [], "policy at the default branch");
      errors.push("the default branch's policy does not define it");
    } catch (e) {
      errors.push(`default branch unreadable (${(e as Error).message})`);
    }
    if (g.mergeSha) {
      try {
        const octokit = await this.o.github.octokitFor(g.repository);
        const at = await policyAt(octokit, repoRefOf(g.repository), g.mergeSha);
        if (at.ok && defines(at.details, g.database)) return decide(at.details, [], "policy at the grant's merge commit");
        errors.push("the merge commit's policy does not define it");
      } catch (e) {
        errors.push(`merge commit unreadable (${(e as Error).message})`);
      }
    }
    if (defines(this.o.fallback, g.database)) return decide(this.o.fallback, [], "the app's local policy");
    return unavailable(g, errors.join("; "));
  }

  async policiesToReconcile(): Promise<{ repository: string; policy: Policy }[]> {
    const access = this.o.github.repositories ?? ALL_REPOSITORIES;
    const repos = new Set([...(await ledgerRepositories(this.o.state)), ...(this.o.repositories?.() ?? [])].filter((r) => accessEntry(access, r)));
    const out: { repository: string; policy: Policy }[] = [];
    const seen = new Set<string>();
    for (const repository of [...repos].sort()) {
      const policy = await this.atDefaultBranch(repository).catch(() => null);
      if (!policy) continue;
      // Repositories whose policies name the same connections reconcile the same clusters once.
      const shape = JSON.stringify(Object.keys(policy.databases).sort().map((k) => [k, policy.databases[k]!.connectionEnv, policy.databases[k]!.standingAccess ?? {}]));
      if (seen.has(shape)) continue;
      seen.add(shape);
      out.push({ repository, policy });
    }
    if (out.length === 0 && this.o.fallback) out.push({ repository: "(local)", policy: this.o.fallback });
    return out;
  }
}

export { ledgerRepositories };
