// PostgreSQL identifiers that may reach a GRANT: lowercase ASCII only, so what reviewers read is
// what the server sees. PostgreSQL silently truncates names to 63 bytes, and some names mean
// something else unquoted (CURRENT_USER names the app itself in GRANT … TO), so both are refused.
import { problem, type Problem } from "./problem.ts";

export const IDENTIFIER_PATTERN = /^[a-z_][a-z0-9_]*$/;
export const IDENTIFIER_MAX_BYTES = 63;

/** Role specifications and names PostgreSQL reserves; `pg_` is the predefined-role namespace. */
export const RESERVED_IDENTIFIERS: ReadonlySet<string> = new Set([
  "public", "current_user", "session_user", "current_role", "system_user", "user", "none", "all",
]);

const encoder = new TextEncoder();

export type IdentifierResult = { ok: true } | { ok: false; problem: Problem };

/** `what` names the field for the message, e.g. "role" or "database user". */
export function checkIdentifier(name: string, what = "identifier"): IdentifierResult {
  const shown = JSON.stringify(name);
  const bytes = encoder.encode(name).length;
  let reason: string | null = null;
  if (bytes > IDENTIFIER_MAX_BYTES) reason = `is ${bytes} bytes long; PostgreSQL would silently cut it to ${IDENTIFIER_MAX_BYTES}`;
  else if (!IDENTIFIER_PATTERN.test(name)) reason = "may only hold lowercase ASCII letters, digits and underscores, and must not start with a digit";
  else if (RESERVED_IDENTIFIERS.has(name)) reason = "is a name PostgreSQL reserves";
  else if (name.startsWith("pg_")) reason = "starts with pg_, the prefix of PostgreSQL's predefined roles";
  if (reason === null) return { ok: true };
  return {
    ok: false,
    problem: problem("JIT_IDENTIFIER", `${what} ${shown} ${reason}`, {
      hint: `use a name of the form ^[a-z_][a-z0-9_]*$ of at most ${IDENTIFIER_MAX_BYTES} bytes, exactly as in the policy`,
    }),
  };
}

export function isIdentifier(name: string): boolean {
  return checkIdentifier(name).ok;
}
