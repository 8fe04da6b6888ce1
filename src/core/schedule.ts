// Scheduled start (request field `start`, role policy `max_lead_time`): pure checks with time as a
// parameter. A start is RFC 3339 with an explicit offset and whole seconds ("on the second"); a
// local time without an offset is ambiguous and refused. The window is start..start + duration.
import { formatDuration } from "./duration.ts";
import { problem, type Problem } from "./problem.ts";
import { relative, utc } from "./report.ts";
import { parseUtcTimestamp } from "./timestamp.ts";
import type { AccessRequest, RolePolicy } from "./types.ts";

export const START_PATTERN = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

export type StartResult = { ok: true; ms: number } | { ok: false; problem: Problem };

/** "2026-12-01T09:00:00+01:00" -> ms since the epoch (08:00:00Z); anything else JIT_START_INVALID. */
export function parseStart(s: string): StartResult {
  const m = START_PATTERN.exec(s);
  const local = m ? parseUtcTimestamp(`${m[1]}Z`) : null;
  if (!m || local === null) {
    return {
      ok: false,
      problem: problem("JIT_START_INVALID", `start ${JSON.stringify(s)} is not an RFC 3339 time with whole seconds and an explicit offset`, {
        hint: 'write e.g. "2026-12-01T09:00:00+01:00" or "2026-12-01T08:00:00Z" (a time without an offset is ambiguous)',
      }),
    };
  }
  const zone = m[2]!;
  const offsetMs = zone === "Z" ? 0 : (zone[0] === "-" ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
  return { ok: true, ms: local - offsetMs };
}

/**
 * A start must lie ahead of `reference` (check: now; merge: GitHub's merged_at, I17) and at most the
 * role's max_lead_time ahead. A role without max_lead_time does not allow scheduling.
 */
export function startProblems(request: AccessRequest, role: RolePolicy, reference: number): Problem[] {
  if (request.startMs === undefined) return [];
  const at = { path: request.path, ...(request.positions?.start ?? { line: 1, column: 1 }) };
  if (role.maxLeadTimeMs === undefined) {
    return [problem("JIT_START_NOT_ALLOWED", `the policy for ${request.role} on ${request.database} sets no max_lead_time, so its access cannot be scheduled`, {
      ...at, hint: "remove start (access then begins at the merge), or ask the policy owners to set max_lead_time",
    })];
  }
  if (request.startMs <= reference) {
    return [problem("JIT_START_PAST", `start ${utc(request.startMs)} is not in the future (${relative(request.startMs, reference)})`, {
      ...at, hint: "choose a later start, or remove start to begin at the merge",
    })];
  }
  if (request.startMs - reference > role.maxLeadTimeMs) {
    return [problem("JIT_START_TOO_FAR", `start ${utc(request.startMs)} is ${formatDuration(request.startMs - reference)} ahead; the policy allows at most ${formatDuration(role.maxLeadTimeMs)} (max_lead_time)`, {
      ...at, hint: `choose a start within ${formatDuration(role.maxLeadTimeMs)}, or open the request later`,
    })];
  }
  return [];
}

/** "2026-12-01T08:00:00Z (in 3h)": both the instant in UTC and relative time. */
export function instantWithRelative(ms: number, now: number): string {
  return `${utc(ms)} (${relative(ms, now)})`;
}

export interface ApproverRecheck {
  /** Logins whose approval was counted at merge. */
  approvers: readonly string[];
  /** The role's approvers entries in today's policy ("@org/team" or logins, lowercase). */
  policyApprovers: readonly string[];
  required: number;
  /** Per recorded approver (lowercase): the teams of policyApprovers they belong to now; undefined when unreadable. */
  teamsOf: ReadonlyMap<string, ReadonlySet<string> | undefined>;
}

/**
 * An approval does not outlive a policy change that removed eligibility: the approvers counted at
 * merge must still satisfy today's approvers entries (login or current team membership), and still
 * be as many as today's policy requires. Unknown membership never counts.
 */
export function recheckApprovers(r: ApproverRecheck): { still: string[]; problem: Problem | null } {
  const entries = r.policyApprovers.map((a) => a.toLowerCase());
  const still = r.approvers.filter((login) => {
    const l = login.toLowerCase();
    if (entries.includes(l)) return true;
    const teams = r.teamsOf.get(l);
    return teams !== undefined && entries.some((e) => e.startsWith("@") && teams.has(e));
  });
  if (still.length >= r.required) return { still, problem: null };
  return {
    still,
    problem: problem("JIT_APPROVAL_NO_LONGER_ELIGIBLE", `at the scheduled start ${still.length} of the ${r.approvers.length} approval${r.approvers.length === 1 ? "" : "s"} recorded at merge still count${still.length === 1 ? "s" : ""} under today's policy, which requires ${r.required}`, {
      hint: "the policy or team membership changed after the merge; open a new request",
    }),
  };
}
