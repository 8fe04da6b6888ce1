// What a push changed under access-requests/, read completely (I12). The compare endpoint lists at
// most 300 files for a whole comparison and never pages them, so a request file pushed as file #301
// would be invisible there. The git trees of access-requests/ before and after the push are the
// complete source: two reads, whatever the push size; GitHub flags a tree it cut short
// (`truncated`, beyond 100 000 entries), and then the caller fails closed.
import { isNotFound, type Octokit, type RepoRef } from "./octokit.ts";

export const REQUESTS_DIR = "access-requests";

export interface RequestFileChange {
  filename: string;
  status: "added" | "removed" | "modified";
}

export type RequestChanges = { complete: true; changes: RequestFileChange[] } | { complete: false; reason: string };

/** Regular files, symlinks and submodules under access-requests/ at a commit, by path ("mode sha"). */
async function entriesAt(octokit: Octokit, ref: RepoRef, sha: string): Promise<Map<string, string> | null> {
  try {
    const { data } = await octokit.rest.git.getTree({ ...ref, tree_sha: `${sha}:${REQUESTS_DIR}`, recursive: "1" });
    if (data.truncated) return null;
    return new Map(data.tree.filter((e) => e.type !== "tree").map((e) => [`${REQUESTS_DIR}/${e.path}`, `${e.mode} ${e.sha}`]));
  } catch (err) {
    if (isNotFound(err)) return new Map(); // no access-requests/ at that commit
    throw err;
  }
}

export async function requestChangesBetween(octokit: Octokit, ref: RepoRef, before: string, after: string): Promise<RequestChanges> {
  const [was, now] = await Promise.all([entriesAt(octokit, ref, before), entriesAt(octokit, ref, after)]);
  if (!was || !now) return { complete: false, reason: `GitHub truncated the tree of ${REQUESTS_DIR}/ at ${(!was ? before : after).slice(0, 12)}` };
  const changes: RequestFileChange[] = [];
  for (const path of [...new Set([...was.keys(), ...now.keys()])].sort()) {
    const a = was.get(path);
    const b = now.get(path);
    if (a === b) continue;
    changes.push({ filename: path, status: a === undefined ? "added" : b === undefined ? "removed" : "modified" });
  }
  return { complete: true, changes };
}
