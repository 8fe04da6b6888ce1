// The checkout's policies for a database command; a command cannot run without valid ones.
import type { Policy } from "../core/types.ts";
import { loadPolicies } from "../policy-loader.ts";
import type { CliIo } from "./io.ts";

/** Returns the policy, or exit status 2 after printing each problem. */
export async function loadPoliciesForCli(io: CliIo, command: string, repo: string): Promise<Policy | 2> {
  const loaded = await loadPolicies(repo);
  if (!loaded.ok || !loaded.details) {
    for (const p of loaded.problems) io.err(`jit ${command}: ${p.path ? `${p.path}: ` : ""}${p.code}: ${p.message}`);
    return 2;
  }
  return loaded.details;
}
