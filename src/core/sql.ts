// The exact SQL the app runs against a target database (docs/database.md). The check run shows
// these statements and the grantor executes the very same objects: plan and apply share this module.
//
// Identifiers cannot be bind parameters, so they are allowlisted (`^[a-z_][a-z0-9_]*$`, at most 63
// bytes: PostgreSQL silently truncates longer names) and then quoted. Anything that is not such a
// string — an array, a number, an object — throws before it can reach SQL (pg-format's %I turns an
// array into a list of identifiers).

import { JitError } from "./errors.ts";

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const MAX_IDENTIFIER_BYTES = 63;
/** Role specifications PostgreSQL treats specially even when quoted ("public") or that are reserved. */
const RESERVED_ROLE_NAMES = new Set(["public", "none", "current_user", "session_user", "current_role"]);

export class SqlIdentifierError extends JitError {
  constructor(message: string) {
    super("JIT_IDENTIFIER", message);
  }
}

/** True for a plain lowercase PostgreSQL identifier within 63 bytes. */
export function isSqlIdentifier(value: unknown): value is string {
  // The allowlist is ASCII-only, so the string length is the byte length.
  return typeof value === "string" && value.length <= MAX_IDENTIFIER_BYTES && IDENTIFIER.test(value);
}

/** Quotes like pg's escapeIdentifier, but only after the allowlist; throws on anything else. */
export function quoteIdent(value: unknown): string {
  if (!isSqlIdentifier(value)) {
    const shown = typeof value === "string" ? JSON.stringify(value.slice(0, 80)) : Array.isArray(value) ? "an array" : typeof value;
    throw new SqlIdentifierError(`not an allowed PostgreSQL identifier: ${shown}`);
  }
  return `"${value}"`;
}

/** Quotes a role name; also refuses names PostgreSQL reserves as role specifications. */
export function quoteRole(value: unknown): string {
  const quoted = quoteIdent(value);
  if (RESERVED_ROLE_NAMES.has(value as string)) throw new SqlIdentifierError(`reserved role name: "${value as string}"`);
  return quoted;
}

export type StatementKind = "grant" | "revoke" | "set_role" | "terminate" | "reset_role";

export interface Statement {
  kind: StatementKind;
  text: string;
  params: string[];
}

export interface PlanInput {
  /** The grantable role (policy allowlisted). */
  role: string;
  /** The database login that receives the role. */
  dbUser: string;
  /** The app's own database role (grantor). */
  appRole: string;
  /** Server major version, e.g. 15 or 17. */
  pgMajor: number;
}

function checked(input: PlanInput): { role: string; user: string; app: string; modern: boolean } {
  if (!Number.isInteger(input.pgMajor) || input.pgMajor < 15) throw new Error(`unsupported PostgreSQL major version: ${String(input.pgMajor)}`);
  const role = quoteRole(input.role);
  const user = quoteRole(input.dbUser);
  const app = quoteRole(input.appRole);
  if (input.role === input.dbUser || input.dbUser === input.appRole || input.role === input.appRole) {
    throw new SqlIdentifierError("role, database user and app role must be three different roles");
  }
  return { role, user, app, modern: input.pgMajor >= 16 };
}

/**
 * The GRANT. Never ADMIN. On PG16+ the membership is INHERIT TRUE (privileges apply without
 * SET ROLE) and SET FALSE: the grantee cannot SET ROLE to the bundle, so nothing she creates is
 * owned by it, `ALTER … OWNER TO` the bundle is refused, and no SET ROLE session can outlive the
 * revoke. PG15 has no options: a plain GRANT is INHERIT per the grantee's attribute, no ADMIN.
 */
export function buildGrantPlan(input: PlanInput): Statement[] {
  const { role, user, modern } = checked(input);
  const text = modern
    ? `GRANT ${role} TO ${user} WITH ADMIN FALSE, INHERIT TRUE, SET FALSE`
    : `GRANT ${role} TO ${user}`;
  return [{ kind: "grant", text, params: [] }];
}

/**
 * Ends every session of the grantee; the function sits in the select list only, so it runs for the
 * rows that passed the filters (docs/security.md §3). No timeout argument: PostgreSQL's wait for a
 * terminated backend sleeps in 100 ms steps, which would make every revoke with a live session
 * take at least 100 ms. The grantor instead waits for the returned PIDs to leave pg_stat_activity
 * (polling every few milliseconds, up to 5 s) and verifies that no session is left.
 */
export const TERMINATE_SQL =
  "SELECT pid, pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()";

/** Session termination, wrapped in SET ROLE pg_signal_backend on PG15 (a NOINHERIT app inherits nothing). */
export function buildTerminatePlan(input: PlanInput): Statement[] {
  const { modern } = checked(input);
  const terminate: Statement = { kind: "terminate", text: TERMINATE_SQL, params: [input.dbUser] };
  if (modern) return [terminate];
  return [
    { kind: "set_role", text: "SET ROLE pg_signal_backend", params: [] },
    terminate,
    { kind: "reset_role", text: "RESET ROLE", params: [] },
  ];
}

/** REVOKE only the app's own grant (GRANTED BY on PG16+, where rows are per grantor), then end sessions. */
export function buildRevokePlan(input: PlanInput): Statement[] {
  const { role, user, app, modern } = checked(input);
  const text = modern ? `REVOKE ${role} FROM ${user} GRANTED BY ${app}` : `REVOKE ${role} FROM ${user}`;
  return [{ kind: "revoke", text, params: [] }, ...buildTerminatePlan(input)];
}

/** The plan as a person reads it in a check run: `$1` shown with its value as a literal. */
export function renderStatement(s: Statement): string {
  return s.params.reduce((text, p, i) => text.replaceAll(`$${i + 1}`, `'${p.replaceAll("'", "''")}'`), s.text) + ";";
}

export interface RevokeManyInput {
  /** The grantable role, by its current name. */
  role: string;
  /** Members whose membership the grantor made, by their current names. */
  members: string[];
  /** The role recorded as the grantor (I15): today's app role or a former one. */
  grantor: string;
  /** Today's app role (never a member or the role). */
  appRole: string;
  pgMajor: number;
}

/**
 * One REVOKE for many members of one role (a backlog batch). PG15 keeps one row per (role, member)
 * whoever granted it, so a plain REVOKE by any role with ADMIN removes a former app role's row
 * too. PG16+ keeps one row per grantor and refuses `GRANTED BY <other role>` unless the current
 * role has that role's privileges: for a former app role (I15, after a credential rotation) the
 * revoke runs under `SET ROLE <former>`, which the operator allows with
 * `GRANT <former> TO <new> WITH INHERIT FALSE, SET TRUE` (docs/expiry.md).
 */
export function buildRevokeManyPlan(input: RevokeManyInput): Statement[] {
  if (!Number.isInteger(input.pgMajor) || input.pgMajor < 15) throw new Error(`unsupported PostgreSQL major version: ${String(input.pgMajor)}`);
  if (input.members.length === 0) return [];
  const role = quoteRole(input.role);
  const grantor = quoteRole(input.grantor);
  quoteRole(input.appRole);
  const names = new Set([input.role, input.grantor, input.appRole]);
  const list = input.members.map((m) => {
    if (names.has(m)) throw new SqlIdentifierError("role, members and grantor must be different roles");
    return quoteRole(m);
  }).join(", ");
  if (input.role === input.grantor || input.role === input.appRole) throw new SqlIdentifierError("the role cannot be its own grantor");
  if (input.pgMajor < 16) return [{ kind: "revoke", text: `REVOKE ${role} FROM ${list}`, params: [] }];
  const revoke: Statement = { kind: "revoke", text: `REVOKE ${role} FROM ${list} GRANTED BY ${grantor}`, params: [] };
  if (input.grantor === input.appRole) return [revoke];
  return [{ kind: "set_role", text: `SET ROLE ${grantor}`, params: [] }, revoke, { kind: "reset_role", text: "RESET ROLE", params: [] }];
}

/** TERMINATE_SQL for many grantees at once: same filters, the function still in the select list only. */
export const TERMINATE_MANY_SQL =
  "SELECT pid, usename::text AS usename, pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE usename = ANY($1::text[]) AND pid <> pg_backend_pid()";
