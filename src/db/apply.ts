// Applies the plans of src/core/sql.ts to a target database and verifies the outcome. The grant
// plan and the revoke plan are executed statement by statement exactly as built (and as a check
// run shows them); what this module adds is reading pg_auth_members before and after.
import { JitError } from "../core/errors.ts";
import type pg from "pg";
import { buildGrantPlan, buildRevokeManyPlan, TERMINATE_MANY_SQL, TERMINATE_SQL, type Statement } from "../core/sql.ts";
import { execute, query } from "./executor.ts";
import type { ExecutedSql } from "./ledger.ts";
import type { TargetInfo } from "./targets.ts";

type Client = Pick<pg.PoolClient, "query">;

export interface MembershipState {
  roleExists: boolean;
  userExists: boolean;
  /** A pg_auth_members row (role, user) whose grantor is the app role. */
  appGranted: boolean;
  admin: boolean;
  roleOid: string | null;
  memberOid: string | null;
  inherit: boolean | null;
  set: boolean | null;
}

export async function membershipState(client: Client, info: TargetInfo, role: string, user: string): Promise<MembershipState> {
  const modern = info.pgMajor >= 16;
  const { rows } = await query<{ role_oid: string | null; member_oid: string | null; admin: boolean | null; inherit: boolean | null; set: boolean | null }>(client, `
    SELECT (SELECT oid FROM pg_roles WHERE rolname = $1)::text AS role_oid,
           (SELECT oid FROM pg_roles WHERE rolname = $2)::text AS member_oid,
           am.admin_option AS admin, ${modern ? "am.inherit_option AS inherit, am.set_option AS set" : "NULL::boolean AS inherit, NULL::boolean AS set"}
      FROM (SELECT 1) one
      LEFT JOIN pg_auth_members am
        ON am.roleid = (SELECT oid FROM pg_roles WHERE rolname = $1)
       AND am.member = (SELECT oid FROM pg_roles WHERE rolname = $2)
       AND am.grantor = (SELECT oid FROM pg_roles WHERE rolname = current_user)`, [role, user]);
  const r = rows[0]!;
  return {
    roleExists: r.role_oid !== null, userExists: r.member_oid !== null, appGranted: r.admin !== null, admin: r.admin === true, inherit: r.inherit, set: r.set,
    roleOid: r.role_oid, memberOid: r.member_oid,
  };
}

function recordOf(s: Statement, error?: unknown): ExecutedSql {
  return error === undefined ? { text: s.text, params: s.params } : { text: s.text, params: s.params, error: (error as Error).message };
}

/** A GRANT or REVOKE that failed or did not verify; `sql` is what ran (recorded in the ledger). */
export class ApplyError extends JitError {
  readonly sql: ExecutedSql[];
  constructor(code: "JIT_GRANT_FAILED" | "JIT_REVOKE_FAILED", message: string, sql: ExecutedSql[], options?: { cause?: unknown }) {
    super(code, message, options);
    this.sql = sql;
  }
}

export interface AppliedGrant {
  sql: ExecutedSql[];
  verification: Record<string, unknown>;
  /** I15: the membership by OIDs, recorded in the ledger for the revoke. */
  roleOid: string;
  memberOid: string;
}

/** Runs the grant plan, then verifies a membership row with grantor = app role and no ADMIN. */
export async function applyGrant(client: Client, info: TargetInfo, role: string, user: string): Promise<AppliedGrant> {
  const plan = buildGrantPlan({ role, dbUser: user, appRole: info.appRole, pgMajor: info.pgMajor });
  const sql: ExecutedSql[] = [];
  for (const s of plan) {
    try {
      await execute(client, s);
      sql.push(recordOf(s));
    } catch (e) {
      sql.push(recordOf(s, e));
      throw new ApplyError("JIT_GRANT_FAILED", `GRANT failed: ${(e as Error).message}`, sql, { cause: e });
    }
  }
  const m = await membershipState(client, info, role, user);
  const ok = m.appGranted && !m.admin && (info.pgMajor < 16 || (m.inherit === true && m.set === false));
  const verification = { membership: { grantor: info.appRole, present: m.appGranted, admin: m.admin, inherit: m.inherit, set: m.set } };
  if (!ok) throw new ApplyError("JIT_GRANT_FAILED", `GRANT did not produce the expected membership: ${JSON.stringify(verification.membership)}`, sql);
  return { sql, verification, roleOid: m.roleOid!, memberOid: m.memberOid! };
}

export type RevokeOutcome = "revoked" | "already_absent" | "user_missing";

export interface AppliedRevoke {
  outcome: RevokeOutcome;
  sql: ExecutedSql[];
  sessionsEnded: number;
  verified: boolean;
  verification: { outcome: RevokeOutcome; membershipGone: boolean; sessionsLeft: number; terminatedPids: number[]; rounds: number };
}

const TERMINATE_ROUNDS = 3;
const TERMINATE_WAIT_MS = 5000;

/** Waits until the signalled backends have exited (left pg_stat_activity), up to 5 s. */
async function waitGone(client: Client, pids: number[]): Promise<void> {
  const deadline = Date.now() + TERMINATE_WAIT_MS;
  for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
    const { rows } = await query<{ n: number }>(client,
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1::int[])", [pids.map(String)]);
    if (rows[0]!.n === 0 || Date.now() >= deadline) return;
    await new Promise((r) => setTimeout(r, pause));
  }
}

/**
 * REVOKE the app's own grant if it is still there (never another grantor's), then end every
 * session of the grantee — a session that ran SET ROLE keeps the role's privileges after a REVOKE —
 * then verify. One member of applyRevokeMany, by name, with today's app role as the only grantor
 * (compensation and drift, where the grant was just made or is found by today's grantor).
 */
export async function applyRevoke(client: Client, info: TargetInfo, role: string, user: string): Promise<AppliedRevoke> {
  const { results, sql } = await applyRevokeMany(client, info, { role, roleOid: null, members: [{ name: user, oid: null }], grantors: [info.appRoleOid] });
  const r = results[0]!;
  if (r.error !== undefined) throw new ApplyError("JIT_REVOKE_FAILED", r.error, sql);
  return r;
}

export interface RevokeMember {
  /** The login as the ledger recorded it (used when no OID was recorded). */
  name: string;
  /** Recorded member OID (I15): a login dropped and recreated under the same name is another person. */
  oid: string | null;
}

export interface RevokeSet {
  role: string;
  roleOid: string | null;
  members: RevokeMember[];
  /** OIDs of every app role on record for this cluster, today's included (I15). */
  grantors: string[];
}

export interface MemberRevoke extends AppliedRevoke {
  member: string;
  /** Why this membership could not be revoked (the others of the batch were). */
  error?: string;
  code?: "JIT_REVOKE_FAILED" | "JIT_REVOKE_FORMER_GRANTOR";
}

interface Before {
  i: number;
  member_oid: string | null;
  member: string | null;
  role_oid: string | null;
  role: string | null;
  grantors: string[];
}

/**
 * I6/I15 for many members of one role at once (a backlog is revoked per (cluster, role)): reads
 * which of them hold a membership granted by any app role on record, by OIDs; REVOKEs those with one
 * statement per grantor (SET ROLE to a former grantor on PG16+, which only works where the operator
 * allowed it); ends every session of every member with one statement per round (the function in
 * the select list, filtered by usename = ANY and pid <> pg_backend_pid()); verifies all members
 * with one catalog query. A statement that fails is retried member by member, so one membership
 * that cannot be revoked does not stop the rest: it comes back with an error and verified = false.
 */
export async function applyRevokeMany(client: Client, info: TargetInfo, set: RevokeSet): Promise<{ results: MemberRevoke[]; sql: ExecutedSql[] }> {
  const sql: ExecutedSql[] = [];
  const names = set.members.map((m) => m.name);
  const oids = set.members.map((m) => m.oid ?? "");
  const grantors = [...new Set([...set.grantors, info.appRoleOid])];
  // Roles by recorded OID (or, for rows from before OIDs were recorded, by name): one index probe
  // each, then the memberships of just those members.
  const { rows: before } = await query<Before>(client, `
    WITH c AS (SELECT * FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS c(name, oid, i)),
         r AS (SELECT oid, rolname FROM pg_roles WHERE oid = nullif($3, '')::oid OR ($3 = '' AND rolname = $5)),
         m AS (SELECT oid, rolname FROM pg_roles WHERE oid = ANY($6::oid[]) OR rolname = ANY($7::text[]))
    SELECT c.i::int AS i, m.oid::text AS member_oid, m.rolname::text AS member, r.oid::text AS role_oid, r.rolname::text AS role,
           coalesce((SELECT array_agg(am.grantor::text ORDER BY am.grantor) FROM pg_auth_members am
                      WHERE am.roleid = r.oid AND am.member = m.oid AND am.grantor = ANY($4::oid[])), '{}') AS grantors
      FROM c LEFT JOIN r ON true
      LEFT JOIN m ON (c.oid <> '' AND m.oid = c.oid::oid) OR (c.oid = '' AND m.rolname = c.name)
     ORDER BY c.i`,
  [names, oids, set.roleOid ?? "", grantors, set.role, oids.filter((o) => o !== ""), set.members.filter((m) => !m.oid).map((m) => m.name)]);

  const errors = new Map<number, { code: MemberRevoke["code"]; message: string }>();
  const run = async (s: Statement) => {
    try {
      const r = await execute(client, s);
      sql.push(recordOf(s));
      return r;
    } catch (e) {
      sql.push(recordOf(s, e));
      throw e;
    }
  };
  /** Runs one plan; SET ROLE never outlives it on a pooled connection. */
  const runPlan = async (plan: Statement[]) => {
    let inRole = false;
    try {
      for (const s of plan) {
        await run(s);
        if (s.kind === "set_role") inRole = true;
        if (s.kind === "reset_role") inRole = false;
      }
    } finally {
      if (inRole) await query(client, "RESET ROLE");
    }
  };

  // Which grantors hold rows, and what today's role may do about each (names resolved by OID).
  const held = [...new Set(before.flatMap((b) => b.grantors))].filter((g) => g !== info.appRoleOid);
  const grantorNames = new Map<string, { name: string; canSet: boolean }>();
  if (held.length && info.pgMajor >= 16) {
    const { rows } = await query<{ oid: string; name: string; can_set: boolean }>(client,
      `SELECT oid::text AS oid, rolname::text AS name, ${info.pgMajor >= 16 ? "pg_has_role(current_user, oid, 'SET')" : "false"} AS can_set
         FROM pg_roles WHERE oid = ANY($1::oid[])`, [held]);
    for (const r of rows) grantorNames.set(r.oid, { name: r.name, canSet: r.can_set });
  }
  // PG15: one row per (role, member) whoever granted it; one REVOKE covers every grantor.
  const byGrantor = new Map<string, Before[]>();
  for (const b of before) {
    for (const g of info.pgMajor < 16 ? b.grantors.slice(0, 1) : b.grantors) {
      const k = info.pgMajor < 16 ? info.appRoleOid : g;
      byGrantor.set(k, [...(byGrantor.get(k) ?? []), b]);
    }
  }
  for (const [g, members] of byGrantor) {
    const grantor = g === info.appRoleOid ? { name: info.appRole, canSet: true } : grantorNames.get(g);
    if (!grantor || !grantor.canSet) {
      const who = grantor ? `"${grantor.name}"` : `OID ${g}`;
      for (const b of members) {
        errors.set(b.i, { code: "JIT_REVOKE_FORMER_GRANTOR", message: `the membership was granted by the former app role ${who}, which "${info.appRole}" cannot act for; see jit doctor` });
      }
      continue;
    }
    const plan = (ms: Before[]) => buildRevokeManyPlan({ role: ms[0]!.role!, members: ms.map((b) => b.member!), grantor: grantor.name, appRole: info.appRole, pgMajor: info.pgMajor });
    try {
      await runPlan(plan(members));
    } catch (e) {
      if (members.length === 1) {
        errors.set(members[0]!.i, { code: "JIT_REVOKE_FAILED", message: `revoke failed: ${(e as Error).message}` });
        continue;
      }
      // Isolate the membership that cannot be revoked; the others still are.
      for (const b of members) {
        try {
          await runPlan(plan([b]));
        } catch (e1) {
          errors.set(b.i, { code: "JIT_REVOKE_FAILED", message: `revoke failed: ${(e1 as Error).message}` });
        }
      }
    }
  }

  // End every session of every member that exists (also when the membership was already gone:
  // a SET ROLE session may outlive a REVOKE someone else made).
  const users = before.filter((b) => b.member !== null).map((b) => b.member!);
  const terminated = new Map<string, number[]>();
  let rounds = 0;
  if (users.length) {
    const wrap = info.pgMajor < 16;
    for (; rounds < TERMINATE_ROUNDS; ) {
      rounds++;
      const signalled: number[] = [];
      let inRole = false;
      try {
        if (wrap) {
          await run({ kind: "set_role", text: "SET ROLE pg_signal_backend", params: [] });
          inRole = true;
        }
        // One grantee: the planned statement exactly as a check run shows it; many: the list form.
        type Ended = { pid: number; usename?: string; terminated: boolean };
        let r: pg.QueryResult<Ended>;
        if (users.length === 1) {
          r = await run({ kind: "terminate", text: TERMINATE_SQL, params: [users[0]!] }) as pg.QueryResult<Ended>;
        } else {
          try {
            r = await query<Ended>(client, TERMINATE_MANY_SQL, [users]);
            sql.push({ text: TERMINATE_MANY_SQL, params: users });
          } catch (e) {
            sql.push({ text: TERMINATE_MANY_SQL, params: users, error: (e as Error).message });
            throw e;
          }
        }
        for (const row of r.rows) {
          if (!row.terminated) continue;
          const who = row.usename ?? users[0]!;
          signalled.push(Number(row.pid));
          terminated.set(who, [...(terminated.get(who) ?? []), Number(row.pid)]);
        }
        if (wrap) {
          await run({ kind: "reset_role", text: "RESET ROLE", params: [] });
          inRole = false;
        }
      } catch (e) {
        for (const b of before) if (!errors.has(b.i)) errors.set(b.i, { code: "JIT_REVOKE_FAILED", message: `ending sessions failed: ${(e as Error).message}` });
        break;
      } finally {
        // Never hand a connection back to the pool still acting as pg_signal_backend.
        if (inRole) await query(client, "RESET ROLE");
      }
      if (signalled.length === 0) break;
      await waitGone(client, signalled);
    }
  }

  // One catalog query verifies every member: no row by any app role on record, no session left.
  const { rows: after } = await query<{ i: number; member: boolean; sessions: number }>(client, `
    WITH c AS (SELECT * FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS c(name, oid, i)),
         held AS (SELECT am.member FROM pg_auth_members am
                   WHERE am.roleid = nullif($3, '')::oid AND am.member = ANY($5::oid[]) AND am.grantor = ANY($4::oid[])),
         s AS (SELECT usename, count(*) AS n FROM pg_stat_activity WHERE usename = ANY($1::text[]) AND pid <> pg_backend_pid() GROUP BY usename)
    SELECT c.i::int AS i, EXISTS (SELECT 1 FROM held WHERE c.oid <> '' AND held.member = c.oid::oid) AS member,
           coalesce((SELECT s.n FROM s WHERE s.usename = c.name), 0)::int AS sessions
      FROM c ORDER BY c.i`,
  [before.map((b) => b.member ?? ""), before.map((b) => b.member_oid ?? ""), before[0]?.role_oid ?? "", grantors,
    before.flatMap((b) => (b.member_oid ? [b.member_oid] : []))]);

  const results = before.map((b, k): MemberRevoke => {
    const outcome: RevokeOutcome = b.member === null ? "user_missing" : b.grantors.length > 0 ? "revoked" : "already_absent";
    const { member, sessions } = after[k]!;
    const pids = b.member ? terminated.get(b.member) ?? [] : [];
    const verification = { outcome, membershipGone: !member, sessionsLeft: sessions, terminatedPids: pids, rounds };
    const err = errors.get(b.i);
    const r: MemberRevoke = { member: b.member ?? names[k]!, outcome, sql, sessionsEnded: pids.length, verified: !member && sessions === 0 && !err, verification };
    if (err) Object.assign(r, { error: err.message, code: err.code });
    return r;
  });
  return { results, sql };
}
