// The shapes the core passes around. Parsing produces these; nothing downstream sees raw YAML.
import type { AutoApproveRule } from "./auto-approve.ts";

/** A validated request file: access-requests/<database>/<requestId>.yaml */
export interface AccessRequest {
  path: string;
  database: string;
  requestId: string;
  role: string;
  /** Exactly as written, e.g. "2h". */
  duration: string;
  durationMs: number;
  reason: string;
  ticket?: string;
  /** Database login asked for; absent means the requester's mapped login. */
  user?: string;
  /** Scheduled start exactly as written (RFC 3339 with offset) and in ms since the epoch. */
  start?: string;
  startMs?: number;
  /** break_glass: true (the only value the schema accepts): an emergency request; never auto-approved. */
  breakGlass?: true;
  /** 1-based position of each field's value in the file, so later checks can point at the line. */
  positions?: Record<string, { line: number; column: number }>;
}

export interface RolePolicy {
  maxDuration: string;
  maxDurationMs: number;
  /** Number of distinct eligible approvals required (>= 1). */
  approvals: number;
  /** "@org/team" or "login" entries; an approver must match one of them. */
  approvers: string[];
  /** "@org/team" or "login" entries; absent means anyone with a mapped identity may request. */
  requesters?: string[];
  requireTicket: boolean;
  /** max_approval_age: an approval older than this (at merge: than merged_at) does not count (I13). */
  maxApprovalAgeMs?: number;
  /** Who may end someone's active grant early by deleting its file (revoke_by); default requester and approvers. */
  revokeBy?: RevokeBy[];
  /** auto_approve: rules under which no human review is needed (src/core/auto-approve.ts). */
  autoApprove?: AutoApproveRule[];
  /** pending_ttl (the role's, else its database's): an open request PR older than this is closed by the app. */
  pendingTtlMs?: number;
  /** max_lead_time: how far ahead a request's start may be; absent: scheduling is not allowed. */
  maxLeadTimeMs?: number;
  /** break_glass: emergency access without prior approval; absent: not for this role. */
  breakGlass?: BreakGlassPolicy;
}

export interface BreakGlassPolicy {
  /** "@org/team" or login entries, lowercase. */
  requesters: string[];
  maxDuration: string;
  maxDurationMs: number;
  retroApprovalWithinMs: number;
}

export type RevokeBy = "requester" | "approvers" | "anyone";

export interface DatabasePolicy {
  /** Name of the environment variable holding the connection string (never the value). */
  connectionEnv: string;
  roles: Record<string, RolePolicy>;
  /** Database logins allowed to hold a grantable role outside the app (reported, not revoked). */
  standingAccess?: Record<string, string[]>;
  /** pending_ttl of the database: applies to request PRs whose role has none (or cannot be read). */
  pendingTtlMs?: number;
  /** Policy file that defined this database. */
  source: string;
}

export interface Policy {
  databases: Record<string, DatabasePolicy>;
  /** GitHub login (lowercase) -> database login. */
  identities: Record<string, string>;
}

/** Repository files as bytes, keyed by repository-relative path. */
export type FileMap = ReadonlyMap<string, Uint8Array>;

/** What policy evaluation decided for a request (src/core/evaluate-policy.ts). */
export interface PolicyEvaluation {
  database: string;
  role: string;
  /** The database login that gets the role: the requester's mapped login. */
  dbUser: string;
  durationMs: number;
  /** Name of the environment variable with the connection string (never the value). */
  connectionEnv: string;
  /** Distinct eligible approvals required, the policy's approver entries (lowercase), and the optional max_approval_age. */
  approvalRequirement: { count: number; approvers: string[]; maxApprovalAgeMs?: number };
  rolePolicy: RolePolicy;
}
