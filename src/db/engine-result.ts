// How the grantor, the revoker and the reconciler turn failures into decisions with a JIT_* code.
import type { JitCode } from "../core/codes.ts";
import { decide, problem, type Decision } from "../core/problem.ts";
import { SqlIdentifierError } from "../core/sql.ts";
import { ApplyError } from "./apply.ts";
import { TargetError } from "./targets.ts";

export const fail = <T>(details: T, code: JitCode, message: string): Decision<T> => decide(details, [problem(code, message)], "");

export function codeOf(e: unknown, fallback: JitCode): JitCode {
  // A failed GRANT or REVOKE is reported as what the caller was doing (the fallback).
  if (e instanceof ApplyError) return fallback;
  if (e instanceof TargetError) return e.code;
  if (e instanceof SqlIdentifierError) return "JIT_IDENTIFIER";
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string" && code.startsWith("JIT_")) return code as JitCode;
  return fallback;
}
