// One error base for the whole app: every error the app raises on purpose carries a stable JIT_*
// code (codes.ts says what each means), so logs, exit codes and reports never parse text.
import type { JitCode } from "./codes.ts";

export class JitError extends Error {
  readonly code: JitCode;

  constructor(code: JitCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The JIT_* code an error carries, if any (a JitError, or an adapter's error with a code). */
export function jitCodeOf(e: unknown): JitCode | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("JIT_") ? (code as JitCode) : undefined;
}
