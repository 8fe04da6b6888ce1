// May this person have this role on this database for this long? Pure: the requester's team
// memberships come in as data (fetched by an adapter at evaluation time), and unknown membership
// never counts as membership. Every failing check is reported, not just the first.
import { formatDuration } from "./duration.ts";
import { decide, problem, type Decision, type Problem } from "./problem.ts";
import { didYouMean } from "./suggest.ts";
import type { AccessRequest, DatabasePolicy, Policy, PolicyEvaluation, RolePolicy } from "./types.ts";

export type { PolicyEvaluation } from "./types.ts";

export interface EvaluatePolicyInput {
  request: AccessRequest;
  policy: Policy;
  /** GitHub login of the pull request author. */
  requester: string;
  /** The requester's teams as "@org/team", lowercase; undefined when they could not be read. */
  requesterTeams?: ReadonlySet<string>;
}

type Pos = { line: number; column: number };

function pos(request: AccessRequest, field: string): Pos {
  return request.positions?.[field] ?? { line: 1, column: 1 };
}

interface Resolved {
  db?: DatabasePolicy;
  rolePolicy?: RolePolicy;
}

/**
 * The checks that do not depend on who asks: database known, role grantable there, duration
 * within the role's maximum, ticket present where required. `jit validate` without --requester
 * runs only these.
 */
export function evaluateRequestAgainstPolicy(request: AccessRequest, policy: Policy): Decision<null> {
  const problems: Problem[] = [];
  resolve(request, policy, problems);
  return decide(null, problems, `${request.path} fits the policy of ${request.database}`);
}

export function evaluatePolicy(input: EvaluatePolicyInput): Decision<PolicyEvaluation | null> {
  const { request, policy, requesterTeams } = input;
  const requester = input.requester.toLowerCase();
  const problems: Problem[] = [];
  const { db, rolePolicy } = resolve(request, policy, problems);
  const at = (field: string) => ({ path: request.path, ...pos(request, field) });

  if (rolePolicy) {
    const denial = requesterDenial(requester, rolePolicy, requesterTeams);
    if (denial) {
      problems.push(problem("JIT_REQUESTER_NOT_ALLOWED", `${input.requester} may not request ${request.role} on ${request.database}: ${denial}`, {
        ...at("role"), hint: `requesters for this role: ${(rolePolicy.requesters ?? []).join(", ")}`,
      }));
    }
  }

  const dbUser = Object.hasOwn(policy.identities, requester) ? policy.identities[requester] : undefined;
  if (dbUser === undefined) {
    problems.push(problem("JIT_IDENTITY_UNKNOWN", `${input.requester} has no database login in the policies' identities map`, {
      path: request.path, line: 1, column: 1, hint: `ask the policy owners to add "${requester}: <database login>" under identities`,
    }));
  } else if (request.user !== undefined && request.user !== dbUser) {
    problems.push(problem("JIT_USER_NOT_ALLOWED", `user ${request.user} is not ${input.requester}'s own database login (${dbUser}); nobody requests access for someone else`, {
      ...at("user"), hint: `remove the user field, or set it to ${dbUser}`,
    }));
  }

  if (problems.length > 0 || !db || !rolePolicy || dbUser === undefined) return decide(null, problems, "");
  const evaluation: PolicyEvaluation = {
    database: request.database,
    role: request.role,
    dbUser,
    durationMs: request.durationMs,
    connectionEnv: db.connectionEnv,
    approvalRequirement: {
      count: rolePolicy.approvals, approvers: [...rolePolicy.approvers],
      ...(rolePolicy.maxApprovalAgeMs !== undefined ? { maxApprovalAgeMs: rolePolicy.maxApprovalAgeMs } : {}),
    },
    rolePolicy,
  };
  return decide(evaluation, [], `${input.requester} may request ${request.role} on ${request.database} as ${dbUser} for ${request.duration}`);
}

function resolve(request: AccessRequest, policy: Policy, problems: Problem[]): Resolved {
  const at = (field: string) => ({ path: request.path, ...pos(request, field) });
  // hasOwn, never `in` or a bare lookup: "constructor" or "toString" must not find Object's.
  const db = Object.hasOwn(policy.databases, request.database) ? policy.databases[request.database] : undefined;
  if (!db) {
    problems.push(problem("JIT_DATABASE_UNKNOWN", `no policy defines the database "${request.database}"`, {
      path: request.path, line: 1, column: 1,
      hint: `${didYouMean(request.database, Object.keys(policy.databases))}put the file under access-requests/<database>/ for one of: ${Object.keys(policy.databases).sort().join(", ") || "(none)"}`,
    }));
    return {};
  }
  const rolePolicy = Object.hasOwn(db.roles, request.role) ? db.roles[request.role] : undefined;
  if (!rolePolicy) {
    const elsewhere = Object.keys(policy.databases).filter((k) => k !== request.database && Object.hasOwn(policy.databases[k]?.roles ?? {}, request.role));
    const note = elsewhere.length > 0 ? ` (it is a role of ${elsewhere.sort().join(", ")}, not of ${request.database})` : "";
    problems.push(problem("JIT_ROLE_NOT_ALLOWED", `role ${request.role} is not grantable on ${request.database}${note}`, {
      ...at("role"), hint: `${didYouMean(request.role, Object.keys(db.roles))}grantable roles on ${request.database}: ${Object.keys(db.roles).sort().join(", ")}`,
    }));
    return { db };
  }
  if (request.durationMs > rolePolicy.maxDurationMs) {
    problems.push(problem("JIT_DURATION_TOO_LONG", `duration ${request.duration} is over the maximum of ${rolePolicy.maxDuration} for ${request.role}`, {
      ...at("duration"), hint: `ask for at most ${rolePolicy.maxDuration} (${formatDuration(rolePolicy.maxDurationMs)}); extend later with a new pull request if needed`,
    }));
  }
  if (rolePolicy.requireTicket && (request.ticket === undefined || request.ticket === "")) {
    problems.push(problem("JIT_TICKET_REQUIRED", `the policy for ${request.role} on ${request.database} requires a ticket`, {
      path: request.path, line: 1, column: 1, hint: "add a line such as: ticket: INC-1234",
    }));
  }
  return { db, rolePolicy };
}

/** Why the requester may not ask, or null when they may. */
function requesterDenial(requester: string, role: RolePolicy, teams: ReadonlySet<string> | undefined): string | null {
  if (role.requesters === undefined) return null; // the policy lets anyone with an identity ask
  const logins = role.requesters.filter((r) => !r.startsWith("@"));
  const teamEntries = role.requesters.filter((r) => r.startsWith("@"));
  if (logins.includes(requester)) return null;
  const mine = teams ? new Set([...teams].map((t) => t.toLowerCase())) : undefined;
  if (mine && teamEntries.some((t) => mine.has(t))) return null;
  if (teams === undefined && teamEntries.length > 0) {
    return `team membership could not be checked, and only ${teamEntries.join(", ")} could allow it`;
  }
  return "not listed among the role's requesters, directly or through a team";
}
