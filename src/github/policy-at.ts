// Policies as they are at a commit, read through the API (the app has no checkout).
import type { Decision } from "../core/problem.ts";
import { isPolicyPath, parsePolicies, type PolicyFile } from "../core/policy.ts";
import type { Policy } from "../core/types.ts";
import { isNotFound, type Octokit, type RepoRef } from "./octokit.ts";

export async function policyAt(octokit: Octokit, ref: RepoRef, sha: string): Promise<Decision<Policy | null>> {
  let entries: { path?: string; type?: string; sha?: string }[] = [];
  try {
    entries = (await octokit.rest.git.getTree({ ...ref, tree_sha: `${sha}:policies` })).data.tree;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const files: PolicyFile[] = [];
  for (const e of entries) {
    const path = `policies/${e.path}`;
    if (e.type !== "blob" || !e.sha || !isPolicyPath(path)) continue;
    const blob = await octokit.rest.git.getBlob({ ...ref, file_sha: e.sha });
    files.push({ path, bytes: Buffer.from(blob.data.content, "base64") });
  }
  return parsePolicies(files);
}
