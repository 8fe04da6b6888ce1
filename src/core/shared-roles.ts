// Invariant I16: one membership, one set of rules. Membership is cluster-wide, so a role that two
// database keys on the same cluster both allowlist is one membership reachable under two sets of
// rules (durations, approvers, requesters, standing access). Refused unless the rules are equal.
// Pure: how two keys are known to reach the same cluster is the caller's (connection variable,
// its value, or the cluster's system identifier); the reason given never holds a value.
import { problem, type Problem } from "./problem.ts";
import type { Policy } from "./types.ts";

/** Why keys `a` and `b` reach the same cluster, or null when they do not (or it is unknown). */
export type SameCluster = (a: string, b: string) => string | null;

function rulesOf(policy: Policy, key: string, role: string): string {
  const db = policy.databases[key]!;
  const r = db.roles[role]!;
  return JSON.stringify([r.maxDurationMs, r.approvals, [...r.approvers].sort(), r.requesters ? [...r.requesters].sort() : null,
    r.requireTicket, db.standingAccess?.[role] ? [...db.standingAccess[role]].sort() : null]);
}

/** JIT_ROLE_SHARED_ACROSS_KEYS for each role two same-cluster keys allow under different rules; `only` narrows to one key and role. */
export function sharedRoleProblems(policy: Policy, same: SameCluster, only?: { key: string; role: string }): Problem[] {
  const keys = Object.keys(policy.databases).sort();
  const out: Problem[] = [];
  for (let i = 0; i < keys.length; i++) {
    for (let j = i + 1; j < keys.length; j++) {
      const [a, b] = [keys[i]!, keys[j]!];
      if (only && only.key !== a && only.key !== b) continue;
      const roles = Object.keys(policy.databases[a]!.roles).filter((r) => Object.hasOwn(policy.databases[b]!.roles, r) && (!only || only.role === r));
      if (!roles.length) continue;
      const why = same(a, b);
      if (why === null) continue;
      for (const role of roles.sort()) {
        if (rulesOf(policy, a, role) === rulesOf(policy, b, role)) continue;
        out.push(problem("JIT_ROLE_SHARED_ACROSS_KEYS",
          `role "${role}" is grantable under database keys "${a}" and "${b}" with different rules, and both reach ${why}: membership is cluster-wide, so either key's rules would grant the other's access`,
          { path: policy.databases[b]!.source, line: 1, column: 1, hint: `allowlist "${role}" under one key only, or give it the same rules under both` }));
      }
    }
  }
  return out;
}

/** Host and port of a postgres:// URL or a libpq `key=value` string (default port 5432), or null. */
function serverOf(value: string): string | null {
  if (!/^[a-z]+:\/\//i.test(value)) {
    const pick = (k: string) => new RegExp(`(?:^|\\s)${k}\\s*=\\s*'?([^'\\s]+)`).exec(value)?.[1];
    const host = pick("host") ?? pick("hostaddr");
    return host ? `${hostKey(host)}:${pick("port") ?? "5432"}` : null;
  }
  try {
    const u = new URL(value);
    if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") return null;
    const host = u.hostname || u.searchParams.get("host");
    return host ? `${hostKey(host)}:${u.port || u.searchParams.get("port") || "5432"}` : null;
  } catch {
    return null;
  }
}

/**
 * One spelling per host: case, a trailing dot, IPv6 brackets, and the usual loopback names
 * (localhost, 127.0.0.1, ::1) fold together. Other spellings are left to the system identifier.
 */
function hostKey(host: string): string {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "");
  return h === "localhost" || h === "127.0.0.1" || h === "::1" ? "loopback" : h;
}

/**
 * Same cluster as far as the configuration tells: the same connection variable, variables with the
 * same value, or URLs naming the same host and port (another database of one server is still the
 * same cluster). Only variable names appear in the reason.
 */
export function sameConnection(policy: Policy, env: Readonly<Record<string, string | undefined>>): SameCluster {
  return (a, b) => {
    const [ea, eb] = [policy.databases[a]!.connectionEnv, policy.databases[b]!.connectionEnv];
    if (ea === eb) return `the same connection variable ${ea}`;
    const [va, vb] = [env[ea], env[eb]];
    if (!va || !vb) return null;
    if (va === vb) return `the same connection (${ea} and ${eb} hold the same value)`;
    const [sa, sb] = [serverOf(va), serverOf(vb)];
    return sa !== null && sa === sb ? `the same server (${ea} and ${eb} name the same host and port)` : null;
  };
}
