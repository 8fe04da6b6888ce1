// Every decision the app makes is explainable: a stable JIT_* code, a sentence for people,
// and, where it is about a file, the 1-based line and column it points at.
import type { JitCode } from "./codes.ts";
import { visible } from "./inert.ts";

export interface Problem {
  code: JitCode;
  message: string;
  /** Repository-relative path of the file the problem is about, when there is one. */
  path?: string;
  line?: number;
  column?: number;
  /** How to fix it, for people. */
  hint?: string;
}

export interface Decision<T> {
  ok: boolean;
  /** "JIT_OK" when ok, otherwise the code of the first (most important) problem. */
  code: JitCode;
  message: string;
  details: T;
  problems: Problem[];
}

/** Messages and hints may quote a file: characters I18 forbids are shown as escapes in every output. */
export function problem(code: JitCode, message: string, extra: Omit<Problem, "code" | "message"> = {}): Problem {
  return { code, message: visible(message), ...extra, ...(extra.hint !== undefined ? { hint: visible(extra.hint) } : {}) };
}

export function decide<T>(details: T, problems: Problem[], okMessage: string): Decision<T> {
  const first = problems[0];
  return first
    ? { ok: false, code: first.code, message: first.message, details, problems }
    : { ok: true, code: "JIT_OK", message: okMessage, details, problems };
}
