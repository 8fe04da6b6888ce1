// Invariant I5: the app's own database role is minimal. Never superuser or CREATEROLE (on PG15
// CREATEROLE is nearly superuser), no other elevated attribute, ADMIN only on allowlisted grantable
// roles, plus pg_signal_backend; and it must not be able to use the privileges it hands out
// (PG15: NOINHERIT; PG16+: its memberships INHERIT FALSE, SET FALSE). More power than that is
// JIT_DB_ROLE_TOO_POWERFUL and stops the app at start; less is JIT_DB_ROLE_INSUFFICIENT.
import type pg from "pg";
import { quoteIdent } from "../core/sql.ts";
import { query } from "./executor.ts";
import { finding, type Finding } from "./finding.ts";
import type { TargetInfo } from "./targets.ts";

type Client = Pick<pg.PoolClient, "query">;

interface AppAttributes {
  rolsuper: boolean;
  rolcreaterole: boolean;
  rolcreatedb: boolean;
  rolreplication: boolean;
  rolbypassrls: boolean;
  rolinherit: boolean;
}

interface Membership {
  role: string;
  role_q: string;
  grantor_q: string;
  admin_option: boolean;
  inherit_option: boolean | null;
  set_option: boolean | null;
}

export interface AppRoleScope {
  /** Every grantable role the policies allow on this cluster: ADMIN on these is expected. */
  allowlist: readonly string[];
  /** Allowlisted roles that exist and that this database key grants: ADMIN on these is required. */
  required: readonly string[];
}

export async function inspectAppRole(client: Client, info: TargetInfo, scope: AppRoleScope): Promise<Finding[]> {
  const app = quoteIdent(info.appRole);
  const modern = info.pgMajor >= 16;
  const out: Finding[] = [];
  const attrs = (await query<AppAttributes>(client,
    "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolinherit FROM pg_roles WHERE rolname = current_user")).rows[0];
  if (!attrs) return [finding("JIT_DB_ROLE_TOO_POWERFUL", "cannot read the app role's attributes")];

  const elevated = ([["rolsuper", "SUPERUSER"], ["rolcreaterole", "CREATEROLE"], ["rolcreatedb", "CREATEDB"],
    ["rolreplication", "REPLICATION"], ["rolbypassrls", "BYPASSRLS"]] as const).filter(([k]) => attrs[k]).map(([, n]) => n);
  if (elevated.length) {
    // Never advise stripping the bootstrap superuser or the cluster's only one: that locks the DBA
    // out. The fix is then a dedicated app role, and the connection variable pointed at it.
    const { rows } = await query<{ bootstrap: boolean; others: number }>(client, `
      SELECT (SELECT oid FROM pg_roles WHERE rolname = current_user) = 10 AS bootstrap,
             (SELECT count(*) FROM pg_roles WHERE rolsuper AND rolname <> current_user)::int AS others`);
    const keep = attrs.rolsuper && (rows[0]!.bootstrap || rows[0]!.others === 0);
    out.push(finding("JIT_DB_ROLE_TOO_POWERFUL", `app role "${info.appRole}" has ${elevated.join(", ")}`, keep
      ? [`-- "${info.appRole}" is ${rows[0]!.bootstrap ? "the bootstrap superuser" : "the only superuser"}: keep it, and give the app a dedicated role instead`,
        ...dedicatedAppRole(modern, scope.allowlist),
        "-- then point the database's connection_env variable at jit_app"]
      : [`ALTER ROLE ${app} ${elevated.map((n) => `NO${n}`).join(" ")};`]));
    if (keep) return out;
  }
  if (!modern && attrs.rolinherit) {
    out.push(finding("JIT_DB_ROLE_TOO_POWERFUL", `app role "${info.appRole}" is INHERIT: on PostgreSQL 15 it would hold the privileges of every role it grants`,
      [`ALTER ROLE ${app} NOINHERIT;`]));
  }

  const members = (await query<Membership>(client, `
    SELECT r.rolname::text AS role, quote_ident(r.rolname) AS role_q, quote_ident(g.rolname) AS grantor_q, am.admin_option,
           ${modern ? "am.inherit_option, am.set_option" : "NULL::boolean AS inherit_option, NULL::boolean AS set_option"}
      FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles g ON g.oid = am.grantor
     WHERE am.member = (SELECT oid FROM pg_roles WHERE rolname = current_user)
     ORDER BY 1, 3`)).rows;

  const allowed = new Set(scope.allowlist);
  for (const m of members) {
    const by = modern ? ` GRANTED BY ${m.grantor_q}` : "";
    if (m.role === "pg_signal_backend") {
      if (m.admin_option) out.push(finding("JIT_DB_ROLE_TOO_POWERFUL", `app role holds ADMIN on pg_signal_backend`, [`REVOKE ADMIN OPTION FOR pg_signal_backend FROM ${app}${by};`]));
      continue;
    }
    if (allowed.has(m.role)) {
      if (modern && m.inherit_option) {
        out.push(finding("JIT_DB_ROLE_TOO_POWERFUL", `app role inherits the privileges of "${m.role}" (INHERIT TRUE)`, [`REVOKE INHERIT OPTION FOR ${m.role_q} FROM ${app}${by};`]));
      }
      if (modern && m.set_option) {
        out.push(finding("JIT_DB_ROLE_TOO_POWERFUL", `app role can SET ROLE to "${m.role}" (SET TRUE)`, [`REVOKE SET OPTION FOR ${m.role_q} FROM ${app}${by};`]));
      }
      continue;
    }
    // Not allowlisted: ADMIN lets it hand the role out; on PG15 any membership allows SET ROLE;
    // on PG16+ INHERIT or SET lets it use the role's privileges.
    if (m.admin_option || !modern || m.inherit_option || m.set_option) {
      const what = m.admin_option ? "holds ADMIN on" : "is a member of";
      out.push(finding("JIT_DB_ROLE_TOO_POWERFUL", `app role ${what} "${m.role}", which no policy allowlists on this cluster`,
        [`REVOKE ${m.role_q} FROM ${app}${by};`]));
    }
  }

  // What the app needs to work: ADMIN on each grantable role of this database, pg_signal_backend.
  for (const role of scope.required) {
    if (!members.some((m) => m.role === role && m.admin_option)) {
      out.push(finding("JIT_DB_ROLE_INSUFFICIENT", `app role lacks ADMIN on grantable role "${role}"`,
        [modern ? `GRANT ${quoteIdent(role)} TO ${app} WITH ADMIN TRUE, INHERIT FALSE, SET FALSE;` : `GRANT ${quoteIdent(role)} TO ${app} WITH ADMIN OPTION;`], role));
    }
  }
  const signal = members.filter((m) => m.role === "pg_signal_backend");
  if (!signal.length || (modern && !signal.some((m) => m.inherit_option))) {
    out.push(finding("JIT_DB_ROLE_INSUFFICIENT", "app role cannot end sessions: it needs pg_signal_backend" + (modern ? " WITH INHERIT TRUE" : ""),
      [modern ? `GRANT pg_signal_backend TO ${app} WITH INHERIT TRUE, SET FALSE;` : `GRANT pg_signal_backend TO ${app};`], "pg_signal_backend"));
  }
  return out;
}

/** The minimal app role of docs/database.md, for a cluster whose app connects as a superuser it must keep. */
function dedicatedAppRole(modern: boolean, roles: readonly string[]): string[] {
  const attrs = "NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS";
  return modern
    ? [`CREATE ROLE jit_app LOGIN PASSWORD '<new password>' ${attrs};`,
      ...roles.map((r) => `GRANT ${quoteIdent(r)} TO jit_app WITH ADMIN TRUE, INHERIT FALSE, SET FALSE;`),
      "GRANT pg_signal_backend TO jit_app WITH INHERIT TRUE, SET FALSE;"]
    : [`CREATE ROLE jit_app LOGIN PASSWORD '<new password>' NOINHERIT ${attrs};`,
      ...roles.map((r) => `GRANT ${quoteIdent(r)} TO jit_app WITH ADMIN OPTION;`),
      "GRANT pg_signal_backend TO jit_app;"];
}
