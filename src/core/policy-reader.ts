// The one policy reader. Whoever reads policies/ — a PR decision at its pinned base SHA, a sweep at
// the default branch's head, the CLI in a checkout — lists the directory through a PolicyReader and
// gets the same rules: only regular files (git mode 100644) named policies/<name>.yaml count, a
// symbolic link, executable, directory or submodule there fails closed, at most MAX_POLICY_FILES
// files, and the bytes go through the same strict parser. Implementations: the GitHub trees/blobs
// API (src/github/policy-at.ts), the PR context (below), a checkout on disk (src/policy-loader.ts).
import { isPolicyPath, parsePolicies, type PolicyFile } from "./policy.ts";
import { decide, problem, type Decision, type Problem } from "./problem.ts";
import type { Policy } from "./types.ts";

export const MAX_POLICY_FILES = 50;

/** One entry of policies/, in git terms (a disk reader maps a regular file to 100644). */
export interface PolicyEntry {
  /** Repository-relative, e.g. "policies/orders.yaml". */
  path: string;
  type: "blob" | "tree" | "commit";
  /** Git file mode: "100644" regular, "100755" executable, "120000" symbolic link, … */
  mode: string;
}

export interface PolicyReader {
  /** Where the policies are read, for messages (e.g. "acme/access@1a2b3c4d5e6f" or a directory). */
  readonly where: string;
  /** The entries of policies/ (not recursive), or null when there is no policies/ directory. */
  list(): Promise<PolicyEntry[] | null>;
  /** The bytes of one listed entry, or undefined when it cannot be read any more. */
  read(entry: PolicyEntry): Promise<Uint8Array | undefined>;
}

/** Why an entry is not a policy file, in words; null for a regular file. */
export function irregularEntry(e: PolicyEntry): string | null {
  if (e.type !== "blob") return `a ${e.type === "tree" ? "directory" : "submodule"}`;
  if (e.mode === "100644") return null;
  if (e.mode === "120000") return "a symbolic link (mode 120000)";
  if (e.mode === "100755") return "executable (mode 100755)";
  return `mode ${e.mode}`;
}

/**
 * The policy the reader's policies/ define, or the problems that refuse it. Null when there is no
 * policies/ directory at all (the caller decides whether that is an error).
 */
export async function readPolicies(reader: PolicyReader): Promise<Decision<Policy | null> | null> {
  const listed = await reader.list();
  if (listed === null) return null;
  const entries = listed.filter((e) => isPolicyPath(e.path)).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const refuse = (problems: Problem[]) => decide(null, problems, "");
  if (entries.length > MAX_POLICY_FILES) {
    return refuse([problem("JIT_POLICY_INVALID", `policies/ holds ${entries.length} policy files; at most ${MAX_POLICY_FILES} are read`)]);
  }
  const irregular = entries.flatMap((e) => {
    const why = irregularEntry(e);
    return why ? [problem("JIT_POLICY_INVALID", `${e.path} is ${why}; a policy file must be a regular file`, { path: e.path, hint: "replace it with a regular file (mode 100644)" })] : [];
  });
  if (irregular.length > 0) return refuse(irregular);
  const contents = await Promise.all(entries.map((e) => reader.read(e)));
  const files: PolicyFile[] = [];
  const unreadable: Problem[] = [];
  entries.forEach((e, i) => {
    const bytes = contents[i];
    if (bytes === undefined) unreadable.push(problem("JIT_POLICY_INVALID", `${e.path} could not be read at ${reader.where}`, { path: e.path }));
    else files.push({ path: e.path, bytes });
  });
  if (unreadable.length > 0) return refuse(unreadable);
  return parsePolicies(files);
}
