// The grant window (I17): it starts when GitHub merged the PR (`merged_at` from the API), not when
// the app got round to it, so a delivery handled late, replayed, or replayed after the state
// database was lost grants only what is left of the window, and nothing once it has passed. The
// state database's clock judges "now"; one reading of it per statement (never two clock_timestamp()
// calls, which drift apart), and a merge time ahead of that clock never lengthens the window.
import type { Queryable } from "./state.ts";

/** GitHub's timestamps: RFC 3339 with an explicit offset; anything else is refused before SQL. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

export function isWindowStart(s: unknown): boolean {
  const m = typeof s === "string" ? RFC3339.exec(s) : null;
  if (!m) return false;
  // Date.parse rolls 2026-02-30 over to March; PostgreSQL would throw. Neither is a merge time.
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const day = new Date(Date.UTC(y, mo - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === mo - 1 && day.getUTCDate() === d;
}

/**
 * SQL for expires_at of a row granted at `at` (a single clock reading) whose window opened at the
 * timestamptz parameter `start` (NULL: the window opens at the grant, as for the CLI).
 */
export function windowEndSql(at: string, start: string): string {
  return `least(coalesce(${start}::timestamptz, ${at}), ${at}) + duration_ms * interval '1 millisecond'`;
}

export interface WindowState {
  /** The window's end by the database clock. */
  expiresAt: Date;
  /** Milliseconds left; <= 0 when the window has passed. */
  remainingMs: number;
}

/** Where a window that opened at `start` and lasts `durationMs` stands now, by the database clock. */
export async function windowState(q: Queryable, start: string, durationMs: number): Promise<WindowState> {
  const { rows } = await q.query<{ expires_at: Date; remaining_ms: number }>(
    `SELECT w.ends AS expires_at, (extract(epoch FROM w.ends - w.now) * 1000)::float8 AS remaining_ms
       FROM (SELECT least($1::timestamptz, c.now) + $2::bigint * interval '1 millisecond' AS ends, c.now
               FROM (SELECT clock_timestamp() AS now) c) w`,
    [start, durationMs]);
  const r = rows[0]!;
  return { expiresAt: r.expires_at, remainingMs: Number(r.remaining_ms) };
}
