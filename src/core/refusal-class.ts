// Whether a refusal at merge is an incident (commented and alerted), benign (commented only) or
// transient (retried). Pure: a function of the stable codes; the table and its reasons are in codes.ts.
import { REFUSAL_CLASS, type JitCode } from "./codes.ts";

export type RefusalClass = "incident" | "benign" | "transient";

export function refusalClass(code: JitCode | string): RefusalClass {
  return Object.hasOwn(REFUSAL_CLASS, code) ? REFUSAL_CLASS[code as JitCode]! : "incident";
}

/**
 * A refusal with several problems is an incident as soon as one of them is: a benign first problem
 * must not hide an unapproved merge behind it.
 */
export function refusalClassOf(codes: readonly string[]): RefusalClass {
  const classes = codes.map(refusalClass);
  if (classes.length === 0 || classes.includes("incident")) return "incident";
  return classes.includes("transient") ? "transient" : "benign";
}
