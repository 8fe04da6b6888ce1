// A problem found in a target database, with the SQL a DBA can run to fix it (shown by `jit doctor`).
import type { JitCode } from "../core/codes.ts";
import type { Problem } from "../core/problem.ts";

export interface Finding extends Problem {
  /** Statements that fix the problem, in order; comments (`-- …`) where a person must decide. */
  fix: string[];
  /** The role the finding is about, when it is about one role. */
  subject?: string;
}

export function finding(code: JitCode, message: string, fix: string[] = [], subject?: string): Finding {
  return subject === undefined ? { code, message, fix } : { code, message, fix, subject };
}
