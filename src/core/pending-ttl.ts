// pending_ttl: when an open request PR has waited too long, and what the app says when it closes it.
// Pure: the time comes in as parameters; names from GitHub are rendered inert (I19).
import { formatDuration } from "./duration.ts";
import { code, jitCode, md, mention, type Md } from "./inert.ts";
import type { Policy } from "./types.ts";

/** The pending_ttl that applies to a request for `role` on `database` (the role's, else the database's). */
export function pendingTtlFor(policy: Policy, database: string, role: string | null): number | undefined {
  const db = Object.hasOwn(policy.databases, database) ? policy.databases[database] : undefined;
  if (!db) return undefined;
  const r = role !== null && Object.hasOwn(db.roles, role) ? db.roles[role] : undefined;
  return r ? r.pendingTtlMs : db.pendingTtlMs;
}

/** The smallest pending_ttl anywhere in the policy: PRs younger than it need no closer look. */
export function smallestPendingTtl(policy: Policy): number | undefined {
  const all = Object.values(policy.databases).flatMap((d) => [d.pendingTtlMs, ...Object.values(d.roles).map((r) => r.pendingTtlMs)]);
  const set = all.filter((x): x is number => x !== undefined);
  return set.length ? Math.min(...set) : undefined;
}

export function isPendingExpired(createdAtMs: number, ttlMs: number, now: number): boolean {
  return Number.isFinite(createdAtMs) && now - createdAtMs >= ttlMs;
}

export function pendingTtlComment(o: { author: string; path: string; ttlMs: number }): Md {
  return md`⏳ **jit-access**: ${mention(o.author)}, this request (${code(o.path, 200)}) was open longer than its role's pending_ttl of ${formatDuration(o.ttlMs)}, so the app closed it (**${jitCode("JIT_PENDING_TTL_EXPIRED")}**). Nothing was granted and the request id is not used up: if you still need the access, open a new pull request.`;
}
