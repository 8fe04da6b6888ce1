// I10: which repositories may grant, and which database keys each one owns. Configuration only
// (JIT_REPOSITORIES), never request data or a repository's own policies/:
//   acme/access                                   one repository, owning every key its policies define
//   acme/access:orders-prod+billing, acme/pay:payments   several, each naming its keys; a key named twice is refused
// Owner and name compare case-insensitively, as GitHub does.
import { DATABASE_KEY_PATTERN } from "./request-path.ts";
import { decide, problem, type Decision, type Problem } from "./problem.ts";

export interface RepositoryEntry {
  /** "owner/name", lowercase. */
  name: string;
  /** Database keys this repository owns; null: every key its policies define (one-entry lists only). */
  keys: string[] | null;
}

export interface AccessRepositories {
  /** "all": the variable is unset (development only): every repository of the installation counts. */
  mode: "all" | "listed";
  entries: RepositoryEntry[];
}

export const ALL_REPOSITORIES: AccessRepositories = { mode: "all", entries: [] };

const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;

/** Parses JIT_REPOSITORIES; unset or blank means "all" (the caller refuses that in production). */
export function parseRepositories(value: string | undefined): Decision<AccessRepositories> {
  const text = (value ?? "").trim();
  if (text === "") return decide(ALL_REPOSITORIES, [], "JIT_REPOSITORIES is unset: every repository of the installation is an access repository");
  const problems: Problem[] = [];
  const entries: RepositoryEntry[] = [];
  const keyOwner = new Map<string, string>();
  const bad = (msg: string) => problems.push(problem("JIT_CONFIG_INVALID", `JIT_REPOSITORIES: ${msg}`));
  for (const raw of text.split(",")) {
    const item = raw.trim();
    if (item === "") continue;
    const colon = item.indexOf(":");
    const name = (colon < 0 ? item : item.slice(0, colon)).trim();
    if (!NAME.test(name) || name.endsWith("/.") || name.endsWith("/..")) {
      bad(`${JSON.stringify(name)} is not an owner/name repository`);
      continue;
    }
    const lower = name.toLowerCase();
    if (entries.some((e) => e.name === lower)) {
      bad(`${name} is listed twice`);
      continue;
    }
    let keys: string[] | null = null;
    if (colon >= 0) {
      keys = item.slice(colon + 1).split("+").map((k) => k.trim());
      for (const k of keys) {
        if (!DATABASE_KEY_PATTERN.test(k)) bad(`${JSON.stringify(k)} (for ${name}) is not a database key`);
        const first = keyOwner.get(k);
        if (first !== undefined) bad(`database key ${k} is given to both ${first} and ${name}: each key belongs to exactly one repository`);
        else keyOwner.set(k, name);
      }
    }
    entries.push({ name: lower, keys });
  }
  if (entries.length === 0 && problems.length === 0) bad("names no repository");
  if (entries.length > 1) {
    for (const e of entries) if (e.keys === null) bad(`with several repositories each names its database keys (${e.name}:key1+key2)`);
  }
  return decide({ mode: "listed", entries }, problems, `${entries.length} access repositor${entries.length === 1 ? "y" : "ies"}`);
}

/** The entry for "owner/name", or undefined when it is not an access repository. */
export function accessEntry(config: AccessRepositories, repository: string): RepositoryEntry | undefined {
  if (config.mode === "all") return { name: repository.toLowerCase(), keys: null };
  const lower = repository.toLowerCase();
  return config.entries.find((e) => e.name === lower);
}

export function notAccessProblem(repository: string): Problem {
  return problem("JIT_REPO_NOT_ACCESS", `${repository} is not an access repository of this app: nothing it holds is ever granted or revoked`, {
    hint: "requests belong in the repository the operator named in JIT_REPOSITORIES",
  });
}

/**
 * Null when `repository` may act on database `database`; otherwise the problem (not an access
 * repository, or the key belongs to another one).
 */
export function keyAuthority(config: AccessRepositories, repository: string, database: string): Problem | null {
  const entry = accessEntry(config, repository);
  if (!entry) return notAccessProblem(repository);
  if (entry.keys === null || entry.keys.includes(database)) return null;
  const owner = config.entries.find((e) => e.keys?.includes(database));
  return problem("JIT_REPO_KEY_NOT_BOUND", owner
    ? `database ${database} belongs to the access repository ${owner.name}, not to ${repository}`
    : `database ${database} is not bound to ${repository} (JIT_REPOSITORIES names its keys)`, {
    hint: "open the request in the repository that owns this database key",
  });
}

/** The access repository that owns `database` (null in "all" mode or when no entry owns it). */
export function keyOwner(config: AccessRepositories, database: string): string | null {
  if (config.mode === "all") return null;
  const listed = config.entries.find((e) => e.keys?.includes(database));
  if (listed) return listed.name;
  return config.entries.length === 1 && config.entries[0]!.keys === null ? config.entries[0]!.name : null;
}
