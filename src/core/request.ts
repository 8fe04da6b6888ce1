// Request file -> AccessRequest, or every reason it is not one. Path, strict YAML, JSON Schema,
// then the checks a schema cannot express well (identifier rules, duration grammar and bound),
// each problem pointing at its line. Nothing here knows about policies or who is asking.
import requestSchema from "../../schemas/access-request.schema.json" with { type: "json" };
import { parseDuration } from "./duration.ts";
import { checkIdentifier } from "./identifier.ts";
import { compileSchema, pointerOf, schemaProblem } from "./json-schema.ts";
import { decide, problem, type Decision, type Problem } from "./problem.ts";
import { byPosition } from "./problem-order.ts";
import { parseRequestPath } from "./request-path.ts";
import { parseStart } from "./schedule.ts";
import type { AccessRequest } from "./types.ts";
import { findForbidden, safeProblems, showSafe } from "./text.ts";
import { parseStrictYaml, type Position } from "./yaml-strict.ts";

export const REQUEST_MAX_BYTES = 16 * 1024;
/** A request is one flat mapping; anything nested is wrong anyway, so keep the bound tight. */
const REQUEST_MAX_DEPTH = 8;

const checkSchema = compileSchema(requestSchema);

type Fields = { role: string; duration: string; reason: string; ticket?: string; user?: string; start?: string; break_glass?: true };

// Fields whose schema pattern has a sharper check with its own code. When the value is a string,
// the sharper check speaks for it; a type error (an array where a string belongs) stays JIT_SCHEMA.
const FIELD_CHECKS: Record<string, (v: string) => Problem | null> = {
  role: (v) => { const r = checkIdentifier(v, "role"); return r.ok ? null : r.problem; },
  user: (v) => { const r = checkIdentifier(v, "user"); return r.ok ? null : r.problem; },
  duration: (v) => { const r = parseDuration(v); return r.ok ? null : r.problem; },
  start: (v) => { const r = parseStart(v); return r.ok ? null : r.problem; },
};

const FIELDS = ["role", "duration", "reason", "ticket", "user", "start", "break_glass"] as const;

export function parseRequest(path: string, bytes: Uint8Array): Decision<AccessRequest | null> {
  const d = parse(path, bytes);
  // I18: every message (schema errors quote keys, identifier checks quote values) is shown safely.
  return d.ok ? d : { ...d, message: showSafe(d.message), problems: safeProblems(d.problems) };
}

function parse(path: string, bytes: Uint8Array): Decision<AccessRequest | null> {
  const problems: Problem[] = [];
  const where = parseRequestPath(path);
  if (!where.ok) problems.push(where.problem);
  // The path comes from the PR: its database and request id are text like any other (I18).
  const badPath = findForbidden(path);
  if (badPath) {
    problems.push(problem("JIT_TEXT_FORBIDDEN_CHAR", `the file path contains the invisible or control character ${badPath.label}`, {
      path, line: 1, column: 1, hint: "rename the file: lowercase letters, digits and hyphens only",
    }));
  }

  const parsed = parseStrictYaml(bytes, { maxBytes: REQUEST_MAX_BYTES, maxDepth: REQUEST_MAX_DEPTH });
  if (!parsed.ok) {
    problems.push(...parsed.problems.map((p) => ({ ...p, path })));
    return decide(null, byPosition(problems), "");
  }
  const { value, locate } = parsed;
  const record = (typeof value === "object" && value !== null && !Array.isArray(value) ? value : null) as Record<string, unknown> | null;

  // Sharper checks first, so we know which schema errors they replace.
  const replaced = new Set<string>();
  const fieldProblems: Problem[] = [];
  for (const [field, check] of Object.entries(FIELD_CHECKS)) {
    const v = record?.[field];
    if (typeof v !== "string") continue;
    const p = check(v);
    if (p) {
      replaced.add(field);
      fieldProblems.push({ ...p, path, ...locate([field]) });
    }
  }
  for (const err of checkSchema(value)) {
    const ptr = pointerOf(err.instancePath);
    if (ptr.length === 1 && replaced.has(ptr[0] as string) && err.keyword !== "type") continue;
    problems.push(schemaProblem(err, locate, path));
  }
  problems.push(...fieldProblems);
  if (problems.length > 0 || !where.ok || record === null) return decide(null, byPosition(problems), "");

  const fields = record as Fields;
  const duration = parseDuration(fields.duration);
  if (!duration.ok) return decide(null, [{ ...duration.problem, path }], ""); // unreachable: checked above
  const positions: Record<string, Position> = {};
  for (const f of FIELDS) if (f in record) positions[f] = locate([f]);
  const request: AccessRequest = {
    path,
    database: where.database,
    requestId: where.requestId,
    role: fields.role,
    duration: fields.duration,
    durationMs: duration.ms,
    reason: fields.reason,
    ...(fields.ticket !== undefined ? { ticket: fields.ticket } : {}),
    ...(fields.user !== undefined ? { user: fields.user } : {}),
    ...startOf(fields.start),
    ...(fields.break_glass === true ? { breakGlass: true as const } : {}),
    positions,
  };
  return decide(request, [], `${path} is a well-formed request`);
}

function startOf(start: string | undefined): { start?: string; startMs?: number } {
  if (start === undefined) return {};
  const r = parseStart(start);
  return r.ok ? { start, startMs: r.ms } : {}; // a bad start was refused above
}
