// policies/*.yaml -> one Policy. Each file is read as strictly as a request (policies decide who
// gets what), validated against schemas/policy.schema.json, then merged. Merging never overrides:
// the same database or identity in two places is a conflict, because "which one wins" is exactly
// the kind of question a reviewer of a policy change would not think to ask.
import policySchema from "../../schemas/policy.schema.json" with { type: "json" };
import { readAutoApproveRules, type RawAutoApproveRule } from "./auto-approve.ts";
import { parseDuration } from "./duration.ts";
import { checkIdentifier } from "./identifier.ts";
import { compileSchema, schemaProblem } from "./json-schema.ts";
import { decide, problem, type Decision, type Problem } from "./problem.ts";
import { byPosition } from "./problem-order.ts";
import { didYouMean } from "./suggest.ts";
import { DEFAULT_REVOKE_BY } from "./revoke-authority.ts";
import type { DatabasePolicy, Policy, RevokeBy, RolePolicy } from "./types.ts";
import { parseStrictYaml, type Locate } from "./yaml-strict.ts";

export const POLICY_MAX_BYTES = 256 * 1024;
const POLICY_MAX_DEPTH = 16;
export const POLICY_PATH_PATTERN = /^policies\/[^/]+\.yaml$/;

export function isPolicyPath(path: string): boolean {
  return POLICY_PATH_PATTERN.test(path);
}

/**
 * Variables the app itself reads. A policy naming one would make the app hand its own secret to a
 * database driver (whose errors may echo it) or connect the grantor to the state database.
 */
const APP_ENV_NAMES: ReadonlySet<string> = new Set([
  "DATABASE_URL", "WEBHOOK_SECRET", "PRIVATE_KEY", "PRIVATE_KEY_PATH", "APP_ID", "GITHUB_TOKEN", "GH_TOKEN",
  "WEBHOOK_PROXY_URL", "GITHUB_CLIENT_SECRET", "CLIENT_SECRET", "NODE_ENV", "LOG_LEVEL", "HOST", "PORT", "PATH", "HOME",
]);

const checkSchema = compileSchema(policySchema);

interface RawRole {
  max_duration: string;
  approvals: number;
  approvers: string[];
  requesters?: string[];
  require_ticket?: boolean;
  max_approval_age?: string;
  revoke_by?: RevokeBy[];
  auto_approve?: RawAutoApproveRule[];
  pending_ttl?: string;
  max_lead_time?: string;
  break_glass?: { requesters: string[]; max_duration: string; retro_approval_within: string };
}
interface RawDatabase {
  connection_env: string;
  roles: Record<string, RawRole>;
  standing_access?: Record<string, string[]>;
  pending_ttl?: string;
}
interface RawPolicy {
  databases?: Record<string, RawDatabase>;
  identities?: Record<string, string>;
}

export interface PolicyFile {
  path: string;
  bytes: Uint8Array;
}

export function parsePolicies(files: readonly PolicyFile[]): Decision<Policy | null> {
  const problems: Problem[] = [];
  if (files.length === 0) {
    problems.push(problem("JIT_POLICY_INVALID", "no policy files were found", { hint: "add policies/<name>.yaml; see schemas/policy.schema.json" }));
  }
  // Null-prototype maps: a request for database "constructor" must find nothing, not Object's.
  const databases = Object.create(null) as Record<string, DatabasePolicy>;
  const identities = Object.create(null) as Record<string, string>;
  const identitySource = new Map<string, string>(); // github login (lowercase) -> file
  const loginOwner = new Map<string, { github: string; path: string }>(); // db login -> github login

  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    const { path } = file;
    const parsed = parseStrictYaml(file.bytes, { maxBytes: POLICY_MAX_BYTES, maxDepth: POLICY_MAX_DEPTH });
    if (!parsed.ok) {
      problems.push(...parsed.problems.map((p) => ({ ...p, path })));
      continue;
    }
    const errors = checkSchema(parsed.value);
    if (errors.length > 0) {
      problems.push(...errors.map((e) => schemaProblem(e, parsed.locate, path)));
      continue;
    }
    const raw = parsed.value as RawPolicy;
    const at = (ptr: string[], key = false) => ({ path, ...parsed.locate(ptr, { key }) });

    for (const [dbKey, rawDb] of Object.entries(raw.databases ?? {})) {
      const db = readDatabase(dbKey, rawDb, path, parsed.locate, problems);
      const existing = databases[dbKey];
      if (existing) {
        problems.push(problem("JIT_POLICY_CONFLICT", `database "${dbKey}" is defined in both ${existing.source} and ${path}`, {
          ...at(["databases", dbKey], true), hint: "define each database in exactly one policy file",
        }));
      } else {
        databases[dbKey] = db;
      }
    }

    for (const [github, dbLogin] of Object.entries(raw.identities ?? {})) {
      const login = github.toLowerCase();
      const first = identitySource.get(login);
      if (first !== undefined) {
        const where = first === path ? `twice in ${path}` : `in both ${first} and ${path}`;
        problems.push(problem("JIT_POLICY_CONFLICT", `identity "${github}" is defined ${where} (GitHub logins ignore case)`, {
          ...at(["identities", github], true), hint: "map each GitHub login exactly once",
        }));
        continue;
      }
      const id = checkIdentifier(dbLogin, "database login");
      if (!id.ok) {
        problems.push({ ...id.problem, ...at(["identities", github]) });
        continue;
      }
      // One database login, one person: otherwise "the beneficiary" of a grant is ambiguous and
      // one of them could approve a grant they benefit from.
      const owner = loginOwner.get(dbLogin);
      if (owner) {
        problems.push(problem("JIT_POLICY_CONFLICT", `database login "${dbLogin}" is mapped from both "${owner.github}" (${owner.path}) and "${github}" (${path})`, {
          ...at(["identities", github]), hint: "give every person their own database login",
        }));
        continue;
      }
      identitySource.set(login, path);
      loginOwner.set(dbLogin, { github, path });
      identities[login] = dbLogin;
    }
  }

  const sorted = byFile(problems);
  const count = Object.keys(databases).length;
  return decide(sorted.length > 0 ? null : { databases, identities }, sorted, `policies define ${count} database${count === 1 ? "" : "s"}`);
}

function readDatabase(dbKey: string, raw: RawDatabase, path: string, locate: Locate, problems: Problem[]): DatabasePolicy {
  const at = (ptr: string[], key = false) => ({ path, ...locate(["databases", dbKey, ...ptr], { key }) });
  if (APP_ENV_NAMES.has(raw.connection_env)) {
    problems.push(problem("JIT_POLICY_INVALID", `connection_env ${raw.connection_env} is a variable the app itself uses`, {
      ...at(["connection_env"]), hint: "name a variable of its own, e.g. ORDERS_PROD_DATABASE_URL",
    }));
  }
  const roles = Object.create(null) as Record<string, RolePolicy>;
  // pending_ttl: the database's applies to every role that has none of its own.
  let dbPendingTtlMs: number | undefined;
  if (raw.pending_ttl !== undefined) {
    const ttl = parseDuration(raw.pending_ttl);
    if (ttl.ok) dbPendingTtlMs = ttl.ms;
    else problems.push({ ...ttl.problem, ...at(["pending_ttl"]) });
  }
  for (const [name, r] of Object.entries(raw.roles)) {
    const id = checkIdentifier(name, "role");
    if (!id.ok) {
      problems.push({ ...id.problem, ...at(["roles", name], true) });
      continue;
    }
    const max = parseDuration(r.max_duration);
    if (!max.ok) {
      problems.push({ ...max.problem, ...at(["roles", name, "max_duration"]) });
      continue;
    }
    const approvers = unique(r.approvers.map((a) => a.toLowerCase()));
    // With logins only, more approvals than approvers can never be met: fail at review, not at 3 a.m.
    if (approvers.every((a) => !a.startsWith("@")) && r.approvals > approvers.length) {
      problems.push(problem("JIT_POLICY_INVALID", `role ${name} needs ${r.approvals} approvals but lists only ${approvers.length} approver${approvers.length === 1 ? "" : "s"}`, {
        ...at(["roles", name, "approvals"]), hint: "lower approvals or add approvers (a team counts as many)",
      }));
    }
    let maxApprovalAgeMs: number | undefined;
    if (r.max_approval_age !== undefined) {
      const age = parseDuration(r.max_approval_age);
      if (!age.ok) {
        problems.push({ ...age.problem, ...at(["roles", name, "max_approval_age"]) });
        continue;
      }
      maxApprovalAgeMs = age.ms;
    }
    let maxLeadTimeMs: number | undefined;
    if (r.max_lead_time !== undefined) {
      const lead = parseDuration(r.max_lead_time);
      if (!lead.ok) {
        problems.push({ ...lead.problem, ...at(["roles", name, "max_lead_time"]) });
        continue;
      }
      maxLeadTimeMs = lead.ms;
    }
    let breakGlass: RolePolicy["breakGlass"];
    if (r.break_glass !== undefined) {
      const bgMax = parseDuration(r.break_glass.max_duration);
      const retro = parseDuration(r.break_glass.retro_approval_within);
      if (!bgMax.ok || !retro.ok) {
        problems.push(...(bgMax.ok ? [] : [{ ...bgMax.problem, ...at(["roles", name, "break_glass", "max_duration"]) }]),
          ...(retro.ok ? [] : [{ ...retro.problem, ...at(["roles", name, "break_glass", "retro_approval_within"]) }]));
        continue;
      }
      if (bgMax.ms > max.ms) {
        problems.push(problem("JIT_POLICY_INVALID", `break_glass.max_duration of ${name} (${r.break_glass.max_duration}) is longer than its max_duration (${r.max_duration})`, {
          ...at(["roles", name, "break_glass", "max_duration"]), hint: "keep break-glass shorter than normal access",
        }));
        continue;
      }
      breakGlass = { requesters: unique(r.break_glass.requesters.map((q) => q.toLowerCase())), maxDuration: r.break_glass.max_duration, maxDurationMs: bgMax.ms, retroApprovalWithinMs: retro.ms };
    }
    let pendingTtlMs = dbPendingTtlMs;
    if (r.pending_ttl !== undefined) {
      const ttl = parseDuration(r.pending_ttl);
      if (!ttl.ok) {
        problems.push({ ...ttl.problem, ...at(["roles", name, "pending_ttl"]) });
        continue;
      }
      pendingTtlMs = ttl.ms;
    }
    roles[name] = {
      maxDuration: r.max_duration,
      maxDurationMs: max.ms,
      approvals: r.approvals,
      approvers,
      ...(r.requesters ? { requesters: unique(r.requesters.map((q) => q.toLowerCase())) } : {}),
      requireTicket: r.require_ticket === true,
      ...(maxApprovalAgeMs !== undefined ? { maxApprovalAgeMs } : {}),
      revokeBy: r.revoke_by ? [...r.revoke_by] : [...DEFAULT_REVOKE_BY],
      ...(r.auto_approve ? { autoApprove: readAutoApproveRules(r.auto_approve, { name, approvals: r.approvals, maxDurationMs: max.ms, maxDuration: r.max_duration }, (ptr) => at(["roles", name, ...ptr]), problems) } : {}),
      ...(pendingTtlMs !== undefined ? { pendingTtlMs } : {}),
      ...(maxLeadTimeMs !== undefined ? { maxLeadTimeMs } : {}),
      ...(breakGlass ? { breakGlass } : {}),
    };
  }
  let standingAccess: Record<string, string[]> | undefined;
  if (raw.standing_access) {
    standingAccess = Object.create(null) as Record<string, string[]>;
    for (const [role, logins] of Object.entries(raw.standing_access)) {
      if (!Object.hasOwn(raw.roles, role)) {
        problems.push(problem("JIT_POLICY_INVALID", `standing_access names ${role}, which is not a role of ${dbKey}`, {
          ...at(["standing_access", role], true), hint: `${didYouMean(role, Object.keys(raw.roles))}list only roles defined under databases.${dbKey}.roles`,
        }));
        continue;
      }
      logins.forEach((login, i) => {
        const id = checkIdentifier(login, "database login");
        if (!id.ok) problems.push({ ...id.problem, ...at(["standing_access", role, String(i)]) });
      });
      standingAccess[role] = [...logins];
    }
  }
  return { connectionEnv: raw.connection_env, roles, ...(standingAccess ? { standingAccess } : {}), ...(dbPendingTtlMs !== undefined ? { pendingTtlMs: dbPendingTtlMs } : {}), source: path };
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

function byFile(problems: Problem[]): Problem[] {
  const files = [...new Set(problems.map((p) => p.path ?? ""))].sort();
  return files.flatMap((f) => byPosition(problems.filter((p) => (p.path ?? "") === f)));
}
