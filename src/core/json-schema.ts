// One Ajv for the published schemas, configured so validation can only say yes or no: no type
// coercion (it mutates input), no defaults, no stripping of unknown fields (both hide attacks).
// Errors become Problems that point at the offending YAML node.
import { Ajv2020 } from "ajv/dist/2020.js";
import type { AnySchema, ErrorObject } from "ajv/dist/2020.js";
import { problem, type Problem } from "./problem.ts";
import { didYouMean } from "./suggest.ts";
import { showSafe } from "./text.ts";
import type { Locate } from "./yaml-strict.ts";

const ajv = new Ajv2020({
  strict: true,
  allErrors: true,
  coerceTypes: false,
  useDefaults: false,
  removeAdditional: false,
  verbose: true, // keeps parentSchema on errors, for the descriptions in hints
});

export type SchemaCheck = (value: unknown) => ErrorObject[];

/** Compiled once, on first use (an idle server never compiles what it never validates); then cheap. */
export function compileSchema(schema: AnySchema): SchemaCheck {
  let validate: ReturnType<typeof ajv.compile> | undefined;
  return (value) => {
    validate ??= ajv.compile(schema);
    return validate(value) ? [] : [...(validate.errors ?? [])];
  };
}

/** "/databases/orders-prod/roles" -> ["databases", "orders-prod", "roles"] */
export function pointerOf(instancePath: string): string[] {
  if (instancePath === "") return [];
  return instancePath.slice(1).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

const TYPE_NAMES: Record<string, string> = {
  string: "text",
  integer: "a whole number",
  number: "a number",
  boolean: "true or false",
  object: "a mapping of keys to values",
  array: "a list",
  null: "empty",
};

function describe(v: unknown): string {
  if (v === null || v === undefined) return "empty";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return "text";
  if (typeof v === "number") return Number.isInteger(v) ? "a whole number" : "a number";
  return typeof v === "boolean" ? `${v}` : typeof v;
}

interface SchemaNode {
  description?: string;
  properties?: Record<string, SchemaNode>;
}

export function schemaProblem(err: ErrorObject, locate: Locate, path?: string): Problem {
  const pointer = pointerOf(err.instancePath);
  const name = pointer.length > 0 ? pointer.join(".") : "the file";
  const parent = (err.parentSchema ?? {}) as SchemaNode;
  const extra = (pos: { line: number; column: number }, hint?: string) => ({ ...(path ? { path } : {}), ...pos, ...(hint ? { hint } : {}) });
  switch (err.keyword) {
    case "additionalProperties": {
      const key = String((err.params as { additionalProperty: string }).additionalProperty);
      const known = parent.properties ? Object.keys(parent.properties) : [];
      const hint = known.length > 0
        ? `${didYouMean(key, known)}remove it; the allowed fields are ${known.join(", ")}. Unknown fields are rejected, never ignored`
        : parent.description ?? "remove it";
      const where = pointer.length > 0 ? ` in ${name}` : "";
      return problem("JIT_SCHEMA", `unknown field ${showSafe(JSON.stringify(key))}${where}`, extra(locate([...pointer, key], { key: true }), hint));
    }
    case "required": {
      const key = String((err.params as { missingProperty: string }).missingProperty);
      const where = pointer.length > 0 ? ` in ${name}` : "";
      return problem("JIT_SCHEMA", `missing required field ${JSON.stringify(key)}${where}`, extra(locate(pointer), parent.properties?.[key]?.description));
    }
    case "type": {
      const want = String((err.params as { type: string }).type);
      const wanted = want.split(",").map((t) => TYPE_NAMES[t] ?? t).join(" or ");
      return problem("JIT_SCHEMA", `${name} must be ${wanted}, not ${describe(err.data)}`, extra(locate(pointer), parent.description));
    }
    default:
      return problem("JIT_SCHEMA", `${name} ${err.message ?? "is invalid"}`, extra(locate(pointer), parent.description));
  }
}
