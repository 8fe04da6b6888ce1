// Everything checked in the target database right before a GRANT, in order of importance:
// the app role (I5), the login the check showed (I16), the grantable role and its closure (I4,
// I14), the grantee, and pre-existing access (I7).
import type pg from "pg";
import { decide, type Decision } from "../core/problem.ts";
import { quoteIdent } from "../core/sql.ts";
import { query } from "./executor.ts";
import { finding, type Finding } from "./finding.ts";
import { inspectAppRole, type AppRoleScope } from "./inspect-app.ts";
import { inspectGrantableRole, roleOid } from "./inspect-role.ts";
import type { TargetBinding } from "./target-binding.ts";
import type { TargetInfo } from "./targets.ts";

type Client = Pick<pg.PoolClient, "query">;

/** The grantee must be a plain LOGIN role: not a superuser, CREATEROLE, the app, or a group with members. */
export async function inspectTargetUser(client: Client, user: string, appRole: string): Promise<Finding[]> {
  const { rows } = await query<{ rolcanlogin: boolean; rolsuper: boolean; rolcreaterole: boolean; members: number }>(client, `
    SELECT r.rolcanlogin, r.rolsuper, r.rolcreaterole, (SELECT count(*) FROM pg_auth_members am WHERE am.roleid = r.oid)::int AS members
      FROM pg_roles r WHERE r.rolname = $1`, [user]);
  const u = rows[0];
  if (!u) return [finding("JIT_USER_MISSING", `database user "${user}" does not exist`, [`CREATE ROLE ${quoteIdent(user)} LOGIN;  -- with the authentication your site uses`])];
  const out: Finding[] = [];
  const no = (why: string) => out.push(finding("JIT_USER_NOT_ELIGIBLE", `database user "${user}" ${why}`));
  if (user === appRole) no("is the app's own role");
  if (user.startsWith("pg_")) no("is a predefined role");
  if (u.rolsuper) no("is a superuser");
  if (u.rolcreaterole) no("has CREATEROLE");
  if (!u.rolcanlogin) no("cannot log in (NOLOGIN): granting to a group role gives access to all its members");
  if (u.members > 0) no(`is a group role with ${u.members} member(s): they would all get the access`);
  return out;
}

/** I7: any membership by any path (direct, through another role, any grantor) refuses the grant. */
export async function inspectExistingAccess(client: Client, user: string, role: string): Promise<Finding[]> {
  const { rows } = await query<{ member: boolean; path: boolean; grantors: string | null }>(client, `
    WITH RECURSIVE up(id) AS (
      SELECT am.roleid FROM pg_auth_members am WHERE am.member = (SELECT oid FROM pg_roles WHERE rolname = $1)
      UNION
      SELECT am.roleid FROM pg_auth_members am JOIN up ON am.member = up.id
    )
    SELECT pg_has_role(u.oid, g.oid, 'MEMBER') AS member,
           EXISTS (SELECT 1 FROM up WHERE up.id = g.oid) AS path,
           (SELECT string_agg(gr.rolname, ', ' ORDER BY gr.rolname) FROM pg_auth_members am JOIN pg_roles gr ON gr.oid = am.grantor
             WHERE am.roleid = g.oid AND am.member = u.oid) AS grantors
      FROM pg_roles u, pg_roles g WHERE u.rolname = $1 AND g.rolname = $2`, [user, role]);
  const r = rows[0];
  if (!r || !(r.member || r.path)) return [];
  const how = r.grantors ? `directly (granted by ${r.grantors})` : "through another role";
  return [finding("JIT_ALREADY_HAS_ACCESS",
    `"${user}" already has "${role}" ${how}; pre-existing access is never touched, so nothing is granted or revoked`)];
}

export interface PreflightInput {
  role: string;
  dbUser: string;
  info: TargetInfo;
  scope: AppRoleScope;
  /** I16: the login the check showed for this head SHA, when a check recorded one. */
  expected?: TargetBinding;
}

/** I16: the login must still be the role (OID, cluster) the check showed; a recreated login is someone else. */
export async function inspectBinding(client: Client, info: TargetInfo, user: string, expected: TargetBinding): Promise<Finding[]> {
  const now = (await roleOid(client, user)) ?? null;
  if (expected.clusterId === info.clusterId && expected.memberOid === now) return [];
  const shown = (oid: string | null) => (oid === null ? "no such login" : `OID ${oid}`);
  const what = expected.clusterId !== info.clusterId
    ? `the connection now reaches another cluster than the one the check read`
    : `database user "${user}" was ${shown(expected.memberOid)} when the check ran and is ${shown(now)} now: a dropped and recreated login is a different person`;
  return [finding("JIT_TARGET_CHANGED", `${what}; push a commit so the check runs again and the approvers see the login they approve`)];
}

export interface PreflightDetails {
  findings: Finding[];
}

/**
 * All checks before a GRANT. The app role's lack of power (JIT_DB_ROLE_INSUFFICIENT) only blocks
 * when it concerns this grant (the role itself or pg_signal_backend, without which revoke cannot end
 * sessions).
 */
export async function preflight(client: Client, input: PreflightInput): Promise<Decision<PreflightDetails>> {
  const app = await inspectAppRole(client, input.info, input.scope);
  const tooPowerful = app.filter((f) => f.code === "JIT_DB_ROLE_TOO_POWERFUL");
  const changed = input.expected ? await inspectBinding(client, input.info, input.dbUser, input.expected) : [];
  const role = await inspectGrantableRole(client, input.role, input.info.pgMajor);
  const user = await inspectTargetUser(client, input.dbUser, input.info.appRole);
  const existing = role.some((f) => f.code === "JIT_ROLE_MISSING") || user.some((f) => f.code === "JIT_USER_MISSING")
    ? [] : await inspectExistingAccess(client, input.dbUser, input.role);
  const insufficient = app.filter((f) => f.code === "JIT_DB_ROLE_INSUFFICIENT"
    && (f.subject === input.role || f.subject === "pg_signal_backend"));
  const ordered = [
    ...tooPowerful,
    ...changed,
    ...role.filter((f) => f.code === "JIT_ROLE_MISSING"),
    ...role.filter((f) => f.code !== "JIT_ROLE_MISSING"),
    ...user.filter((f) => f.code === "JIT_USER_MISSING"),
    ...user.filter((f) => f.code !== "JIT_USER_MISSING"),
    ...existing,
    ...insufficient,
  ];
  return decide({ findings: ordered }, ordered, `"${input.dbUser}" may receive "${input.role}"`);
}
