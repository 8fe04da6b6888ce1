// Invariant I14: what a grantee can change about the bundle during a window, and what is done
// about it after the revoke. Verified on PostgreSQL 15, 16 and 18 with the grant the app makes
// (PG15 plain membership; PG16+ INHERIT TRUE, SET FALSE):
//  - `ALTER DEFAULT PRIVILEGES FOR ROLE <bundle> … TO <grantee>` succeeds on every major (INHERIT
//    suffices; SET FALSE does not stop it). Inert while the bundle creates nothing, but it makes the
//    bundle impure, so the next grant would be refused. Undone here after the revoke: on PG15 the
//    app (a NOINHERIT member) may alter them directly; on PG16+ only inside one transaction that
//    grants the bundle to the app itself (GRANTED BY the app, INHERIT TRUE, SET FALSE), runs the
//    fix and revokes that row again before COMMIT, so the app never keeps the bundle's privileges.
//  - `ALTER ROLE <grantee> SET role = <bundle>` succeeds on every major (it is the grantee's own
//    setting). After the revoke it only warns at login; the app cannot reset another role's
//    settings (that needs CREATEROLE, which I5 forbids), so it is reported with the fix.
//  - Objects owned by the bundle (PG15: created or handed over after SET ROLE; impossible while
//    the bundle has no CREATE anywhere, which the preflight checks) are reported with the fix.
import type pg from "pg";
import { quoteRole } from "../core/sql.ts";
import { query } from "./executor.ts";
import { finding, type Finding } from "./finding.ts";
import { defaultAclEntries, roleOid } from "./inspect-role.ts";
import type { TargetInfo } from "./targets.ts";

type Client = Pick<pg.PoolClient, "query">;

export interface ResidueReport {
  /** Residue the app removed, each with the statements it ran. */
  undone: Finding[];
  /** Residue left for a DBA: JIT_WINDOW_RESIDUE findings with the fix SQL. */
  remaining: Finding[];
  /** Why the undo was rolled back, when it was. */
  undoError?: string;
}

/**
 * Read-only: what is left on the bundle that a member could have put there. `member` narrows the
 * role-setting check to one grantee; without it every role's settings are read (`jit doctor`).
 */
export async function inspectWindowResidue(client: Client, role: string, member?: string): Promise<Finding[]> {
  const oid = await roleOid(client, role);
  if (!oid) return [];
  const q = quoteRole(role);
  const out: Finding[] = [];
  for (const e of await defaultAclEntries(client, oid, role)) {
    out.push(finding("JIT_WINDOW_RESIDUE",
      `default privileges FOR ROLE "${role}" on ${e.objects.toLowerCase()}${e.schema ? ` in schema ${e.schema}` : ""} (a member can add these during a window)`,
      e.fix, role));
  }
  const owned = await query<{ db: string; n: number }>(client, `
    SELECT coalesce(d.datname::text, '(cluster)') AS db, count(*)::int AS n
      FROM pg_shdepend s LEFT JOIN pg_database d ON d.oid = s.dbid
     WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = $1::oid AND s.deptype = 'o'
       AND NOT (s.classid = 'pg_default_acl'::regclass AND d.datname = current_database())
     GROUP BY 1 ORDER BY 1`, [oid]);
  for (const o of owned.rows) {
    out.push(finding("JIT_WINDOW_RESIDUE", `"${role}" owns ${o.n} object(s) or default privilege entr(ies) in ${o.db === "(cluster)" ? "shared catalogs" : `database "${o.db}"`}`,
      [`-- in database "${o.db}", as a superuser: drop what is not needed, or hand it to its proper owner`, `REASSIGN OWNED BY ${q} TO <owner>;`], role));
  }
  out.push(...await inspectRoleSettings(client, role, member));
  return out;
}

/** `role` settings (ALTER ROLE … SET role) that start a login's sessions as the bundle. */
export async function inspectRoleSettings(client: Client, role: string, member?: string): Promise<Finding[]> {
  // Stored as `role=<name>`: unquoted for the identifiers the policies allow.
  const settings = await query<{ name: string; who: string; db: string | null }>(client, `
    SELECT r.rolname::text AS name, quote_ident(r.rolname) AS who, quote_ident(d.datname) AS db
      FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole LEFT JOIN pg_database d ON d.oid = s.setdatabase
     WHERE ('role=' || $1) = ANY (s.setconfig) AND ($2::text IS NULL OR r.rolname = $2)
     ORDER BY 1, 2 NULLS FIRST`, [role, member ?? null]);
  return settings.rows.map((s) => finding("JIT_WINDOW_RESIDUE",
    `role "${s.name}" has the setting role = "${role}"${s.db ? ` in database ${s.db}` : ""}: its sessions would start as the bundle`,
    [`ALTER ROLE ${s.who}${s.db ? ` IN DATABASE ${s.db}` : ""} RESET role;`], role));
}

/**
 * After a verified revoke: removes the default privileges FOR ROLE the bundle (the only residue the
 * app has the right to undo), then reports what is left. Never throws for a failed undo: the
 * revoke already happened; what could not be undone is reported.
 */
/** `member` omitted: every login whose settings start it as the role is reported (a batch revoke). */
export async function cleanWindowResidue(client: Client, info: TargetInfo, role: string, member?: string): Promise<ResidueReport> {
  try {
    return await clean(client, info, role, member);
  } catch (e) {
    // The revoke is verified already; a failed inspection must not turn it into a failure.
    return { undone: [], remaining: [finding("JIT_WINDOW_RESIDUE", `could not inspect "${role}" after the revoke: ${(e as Error).message}; run jit doctor`, [], role)] };
  }
}

async function clean(client: Client, info: TargetInfo, role: string, member: string | undefined): Promise<ResidueReport> {
  const before = await inspectWindowResidue(client, role, member);
  const undoable = before.filter((f) => f.fix.length && f.fix.every((s) => s.startsWith("ALTER DEFAULT PRIVILEGES FOR ROLE ")));
  const undone: Finding[] = [];
  let undoError: string | undefined;
  if (undoable.length) {
    const app = quoteRole(info.appRole);
    const bundle = quoteRole(role);
    try {
      await query(client, "BEGIN");
      // PG16+: the app's own membership is INHERIT FALSE, SET FALSE; it cannot alter the bundle's
      // default privileges without a row that lends them, which never outlives this transaction.
      if (info.pgMajor >= 16) await query(client, `GRANT ${bundle} TO ${app} WITH ADMIN FALSE, INHERIT TRUE, SET FALSE GRANTED BY ${app}`);
      for (const f of undoable) for (const s of f.fix) await query(client, s.replace(/;$/, ""));
      if (info.pgMajor >= 16) await query(client, `REVOKE ${bundle} FROM ${app} GRANTED BY ${app}`);
      await query(client, "COMMIT");
      undone.push(...undoable);
    } catch (e) {
      await query(client, "ROLLBACK").catch(() => {});
      undoError = (e as Error).message;
    }
  }
  const remaining = await inspectWindowResidue(client, role, member);
  return undoError === undefined ? { undone, remaining } : { undone, remaining, undoError };
}
