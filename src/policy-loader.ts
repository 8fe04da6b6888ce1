// The disk side of the policy reader: policies/ of a checkout, for the CLI's database commands and
// for a development server started inside a checkout. Git's rules apply to the files as they lie:
// a symbolic link, an executable or a directory where a policy file belongs fails closed, as it
// would through the API. The server does not need this directory (policies come from the access
// repositories); it imports nothing from src/cli/.
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { POLICY_MAX_BYTES } from "./core/policy.ts";
import { readPolicies, type PolicyEntry, type PolicyReader } from "./core/policy-reader.ts";
import { decide, problem, type Decision } from "./core/problem.ts";
import type { Policy } from "./core/types.ts";
import { readCapped } from "./util/read-capped.ts";

function entryOf(path: string, st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean; mode: number }): PolicyEntry {
  if (st.isSymbolicLink()) return { path, type: "blob", mode: "120000" };
  if (st.isDirectory()) return { path, type: "tree", mode: "040000" };
  if (!st.isFile()) return { path, type: "blob", mode: "special file" };
  return { path, type: "blob", mode: st.mode & 0o111 ? "100755" : "100644" };
}

export function diskPolicyReader(repo: string): PolicyReader {
  const dir = join(repo, "policies");
  return {
    where: repo,
    async list() {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        return null;
      }
      return Promise.all(names.map(async (name) => entryOf(`policies/${name}`, await lstat(join(dir, name)))));
    },
    async read(e) {
      // O_NOFOLLOW: a file swapped for a link after listing is not read through the link.
      return readCapped(join(repo, e.path), POLICY_MAX_BYTES).catch(() => undefined);
    },
  };
}

/** The checkout's policy; no policies/ directory is JIT_POLICY_INVALID here (see localPolicies for optional). */
export async function loadPolicies(repo: string): Promise<Decision<Policy | null>> {
  return (await readPolicies(diskPolicyReader(repo))) ?? decide(null, [problem("JIT_POLICY_INVALID", `no policies/ directory in ${repo}`)], "");
}

/** A development checkout's policy if it has a policies/ directory; null when it has none. */
export function localPolicies(repo: string): Promise<Decision<Policy | null> | null> {
  return readPolicies(diskPolicyReader(repo));
}
