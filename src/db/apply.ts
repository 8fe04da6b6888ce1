// Applies the plans of src/core/sql.ts to a target database and verifies the outcome. The grant
// plan and the revoke plan are executed statement by statement exactly as built (and as a check
// run shows them); what this module adds is reading pg_auth_members before and after.
import type pg from "pg";
import { buildGrantPlan, buildRevokePlan, type Statement } from "../core/sql.ts";
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
  inherit: boolean | null;
  set: boolean | null;
}

export async function membershipState(client: Client, info: TargetInfo, role: string, user: string): Promise<MembershipState> {
  const modern = info.pgMajor >= 16;
  const { rows } = await query<{ role_exists: boolean; user_exists: boolean; admin: boolean | null; inherit: boolean | null; set: boolean | null }>(client, `
    SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS role_exists,
           EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $2) AS user_exists,
           am.admin_option AS admin, ${modern ? "am.inherit_option AS inherit, am.set_option AS set" : "NULL::boolean AS inherit, NULL::boolean AS set"}
      FROM (SELECT 1) one
      LEFT JOIN pg_auth_members am
        ON am.roleid = (SELECT oid FROM pg_roles WHERE rolname = $1)
       AND am.member = (SELECT oid FROM pg_roles WHERE rolname = $2)
       AND am.grantor = (SELECT oid FROM pg_roles WHERE rolname = current_user)`, [role, user]);
  const r = rows[0]!;
  return { roleExists: r.role_exists, userExists: r.user_exists, appGranted: r.admin !== null, admin: r.admin === true, inherit: r.inherit, set: r.set };
}

function recordOf(s: Statement, error?: unknown): ExecutedSql {
  return error === undefined ? { text: s.text, params: s.params } : { text: s.text, params: s.params, error: (error as Error).message };
}

export class ApplyError extends Error {
  readonly sql: ExecutedSql[];
  constructor(message: string, sql: ExecutedSql[], options?: { cause?: unknown }) {
    super(message, options);
    this.sql = sql;
  }
}

export interface AppliedGrant {
  sql: ExecutedSql[];
  verification: Record<string, unknown>;
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
      throw new ApplyError(`GRANT failed: ${(e as Error).message}`, sql, { cause: e });
    }
  }
  const m = await membershipState(client, info, role, user);
  const ok = m.appGranted && !m.admin && (info.pgMajor < 16 || (m.inherit === true && m.set === false));
  const verification = { membership: { grantor: info.appRole, present: m.appGranted, admin: m.admin, inherit: m.inherit, set: m.set } };
  if (!ok) throw new ApplyError(`GRANT did not produce the expected membership: ${JSON.stringify(verification.membership)}`, sql);
  return { sql, verification };
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
 * then verify. Repeats termination until no session is found, so a login racing the revoke is
 * ended too (it holds no membership any more, but a check that "no session is left" must hold).
 */
export async function applyRevoke(client: Client, info: TargetInfo, role: string, user: string): Promise<AppliedRevoke> {
  const plan = buildRevokePlan({ role, dbUser: user, appRole: info.appRole, pgMajor: info.pgMajor });
  const revoke = plan.filter((s) => s.kind === "revoke");
  const terminate = plan.filter((s) => s.kind !== "revoke");
  const sql: ExecutedSql[] = [];
  const before = await membershipState(client, info, role, user);
  const outcome: RevokeOutcome = !before.userExists ? "user_missing" : before.appGranted ? "revoked" : "already_absent";

  const run = async (s: Statement) => {
    try {
      const r = await execute<{ pid: number; terminated: boolean }>(client, s);
      sql.push(recordOf(s));
      return r;
    } catch (e) {
      sql.push(recordOf(s, e));
      throw new ApplyError(`${s.kind} failed: ${(e as Error).message}`, sql, { cause: e });
    }
  };

  if (outcome === "revoked") for (const s of revoke) await run(s);

  const terminatedPids: number[] = [];
  let rounds = 0;
  if (before.userExists) {
    for (; rounds < TERMINATE_ROUNDS; ) {
      rounds++;
      const signalled: number[] = [];
      let inRole = false;
      try {
        for (const s of terminate) {
          const r = await run(s);
          if (s.kind === "set_role") inRole = true;
          if (s.kind === "reset_role") inRole = false;
          if (s.kind === "terminate") for (const row of r.rows) if (row.terminated) signalled.push(Number(row.pid));
        }
      } finally {
        // Never hand a connection back to the pool still acting as pg_signal_backend.
        if (inRole) await query(client, "RESET ROLE");
      }
      if (signalled.length === 0) break;
      terminatedPids.push(...signalled);
      await waitGone(client, signalled);
    }
  }

  const after = await query<{ member: boolean; sessions: number }>(client, `
    SELECT EXISTS (SELECT 1 FROM pg_auth_members am
                    WHERE am.roleid = (SELECT oid FROM pg_roles WHERE rolname = $1)
                      AND am.member = (SELECT oid FROM pg_roles WHERE rolname = $2)
                      AND am.grantor = (SELECT oid FROM pg_roles WHERE rolname = current_user)) AS member,
           (SELECT count(*) FROM pg_stat_activity WHERE usename = $2 AND pid <> pg_backend_pid())::int AS sessions`, [role, user]);
  const { member, sessions } = after.rows[0]!;
  const verification = { outcome, membershipGone: !member, sessionsLeft: sessions, terminatedPids, rounds };
  return { outcome, sql, sessionsEnded: terminatedPids.length, verified: !member && sessions === 0, verification };
}
