// Where a request lives is part of the request: the directory is the database and the file
// stem is the request id. Only this exact shape counts; anything else under access-requests/
// is reported rather than ignored, so a misplaced file never looks like a quiet no-op.
import { problem, type Problem } from "./problem.ts";
import { showSafe } from "./text.ts";

export const REQUESTS_DIR = "access-requests";
export const DATABASE_KEY_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const REQUEST_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,99}$/;
export const REQUEST_PATH_PATTERN = /^access-requests\/([a-z0-9][a-z0-9-]{0,62})\/([a-z0-9][a-z0-9-]{0,99})\.yaml$/;

export type RequestPathResult = { ok: true; database: string; requestId: string } | { ok: false; problem: Problem };

export function parseRequestPath(path: string): RequestPathResult {
  const m = REQUEST_PATH_PATTERN.exec(path);
  if (m) return { ok: true, database: m[1] as string, requestId: m[2] as string };
  return {
    ok: false,
    problem: problem("JIT_PATH_INVALID", `${showSafe(JSON.stringify(path))} is not at access-requests/<database>/<request-id>.yaml`, {
      path,
      line: 1,
      column: 1,
      hint: "move it to access-requests/<database>/<request-id>.yaml: lowercase letters, digits and hyphens, ending in .yaml",
    }),
  };
}

/**
 * True for anything that looks meant for the requests directory, compared case-insensitively so
 * "Access-Requests/…" (one directory on macOS and Windows checkouts) is judged, not waved through.
 */
export function isUnderRequestsDir(path: string): boolean {
  return path.toLowerCase().startsWith(`${REQUESTS_DIR}/`);
}
