// Reads policies/*.yaml of a checkout (regular files only, size-capped) and parses them with the
// same core code the app uses. Used at start and by the database CLI commands.
import { isPolicyPath, parsePolicies, POLICY_MAX_BYTES, type PolicyFile } from "./core/policy.ts";
import { decide, problem, type Decision } from "./core/problem.ts";
import type { Policy } from "./core/types.ts";
import { listPolicyEntries, readCapped } from "./cli/repo-files.ts";

export async function loadPolicies(repo: string): Promise<Decision<Policy | null>> {
  const entries = await listPolicyEntries(repo);
  if (entries === null) return decide(null, [problem("JIT_POLICY_INVALID", `no policies/ directory in ${repo}`)], "");
  const files: PolicyFile[] = [];
  for (const e of entries) {
    if (!isPolicyPath(e.path)) continue;
    if (e.kind !== "file") return decide(null, [problem("JIT_POLICY_INVALID", `${e.path} is not a regular file`, { path: e.path })], "");
    files.push({ path: e.path, bytes: await readCapped(e.abs, POLICY_MAX_BYTES) });
  }
  return parsePolicies(files);
}
