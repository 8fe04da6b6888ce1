// The GitHub side of the policy reader: policies/ as it is at a commit, through the trees and blobs
// API (the app has no checkout). Used for what runs outside a PR (sweeps, reminders, reconcile at the
// default branch's head) and for pushes; PR decisions read through their PR context, same rules.
import type { Decision } from "../core/problem.ts";
import { parsePolicies } from "../core/policy.ts";
import { readPolicies, type PolicyEntry, type PolicyReader } from "../core/policy-reader.ts";
import type { Policy } from "../core/types.ts";
import { isNotFound, type Octokit, type RepoRef } from "./octokit.ts";

export function gitHubPolicyReader(octokit: Octokit, ref: RepoRef, sha: string): PolicyReader {
  const blobs = new Map<string, string>();
  return {
    where: `${ref.owner}/${ref.repo}@${sha.slice(0, 12)}`,
    async list() {
      try {
        const { data } = await octokit.rest.git.getTree({ ...ref, tree_sha: `${sha}:policies` });
        return data.tree.map((e): PolicyEntry => {
          const path = `policies/${e.path ?? ""}`;
          if (e.sha) blobs.set(path, e.sha);
          return { path, type: (e.type ?? "blob") as PolicyEntry["type"], mode: e.mode ?? "" };
        });
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    },
    async read(e) {
      const sha = blobs.get(e.path);
      if (!sha) return undefined;
      const blob = await octokit.rest.git.getBlob({ ...ref, file_sha: sha });
      return Buffer.from(blob.data.content, "base64");
    },
  };
}

/** The policy at a commit; no policies/ there is the same refusal as an empty one. */
export async function policyAt(octokit: Octokit, ref: RepoRef, sha: string): Promise<Decision<Policy | null>> {
  return (await readPolicies(gitHubPolicyReader(octokit, ref, sha))) ?? parsePolicies([]);
}
