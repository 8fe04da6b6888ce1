// Overlapping requests (issue 13 item 3): a new request for a membership its login already holds
// through the app extends that active grant when the extension rules allow it — the new end is
// later than the current one and, counted from where the active grant's window opened, within the
// role's max_duration (the same rule as editing the duration of the active request). Otherwise it
// is refused (JIT_ALREADY_GRANTED). Pure: the instant comes in (now in the check, merged_at at merge).

export interface HeldWindow {
  repository: string;
  database: string;
  requestId: string;
  status: "active" | "intent";
  /** Where the active grant's window opened (expires_at - duration) and where it ends; null while in flight. */
  windowStart: Date | null;
  expiresAt: Date | null;
  durationMs: number;
}

export interface OverlapExtension {
  /** The active grant that would be extended. */
  held: HeldWindow;
  /** Its new duration, counted from its window's start. */
  durationMs: number;
  until: number;
}

export function overlapExtension(i: { held: readonly HeldWindow[]; repository: string; database: string; requestedMs: number; maxMs: number; at: number }): OverlapExtension | null {
  // Exactly one active grant of this repository and key: anything else (another repository, in flight) is refused.
  if (i.held.length !== 1) return null;
  const h = i.held[0]!;
  if (h.status !== "active" || h.repository !== i.repository || h.database !== i.database || !h.windowStart || !h.expiresAt) return null;
  if (!Number.isFinite(i.at) || h.expiresAt.getTime() <= i.at) return null; // it has ended: a new grant, not an extension
  const until = i.at + i.requestedMs;
  const durationMs = until - h.windowStart.getTime();
  if (until <= h.expiresAt.getTime() || durationMs > i.maxMs) return null; // never shortens; never beyond max_duration
  return { held: h, durationMs, until };
}
