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
//  - Objects owned by the bundle (PG15: a member lets the bundle CREATE in a schema of her own,
//    then hands it a SECURITY DEFINER function or a view) are defused here as their owner and
//    reported with the fix; CREATE given to the bundle is reported (only its grantor can revoke it).
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

/**
 * After a window: CREATE on a schema granted to the bundle. The bundle had none when it was
 * granted (the preflight checks), so a member gave it, e.g. on a schema of their own; the app
 * cannot revoke another grantor's grant, and the next grant is refused until it is gone.
 */
async function schemaCreateGiven(client: Client, oid: string, role: string): Promise<Finding[]> {
  const { rows } = await query<{ schema: string; grantor: string }>(client, `
    SELECT quote_ident(n.nspname) AS schema, quote_ident(g.rolname) AS grantor
      FROM pg_namespace n CROSS JOIN LATERAL aclexplode(n.nspacl) a JOIN pg_roles g ON g.oid = a.grantor
     WHERE a.grantee = $1::oid AND a.privilege_type = 'CREATE' ORDER BY 1, 2`, [oid]);
  return rows.map((r) => finding("JIT_WINDOW_RESIDUE",
    `"${role}" was given CREATE on schema ${r.schema} by ${r.grantor}: the next grant of the role is refused until it is revoked`,
    [`-- as ${r.grantor}, the schema owner or a superuser:`, `REVOKE CREATE ON SCHEMA ${r.schema} FROM ${quoteRole(role)};`], role));
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
 * Statements that take away what objects the bundle owns in this database could still do for
 * someone else after the revoke. On PG15 a member may give the bundle ownership of a SECURITY
 * DEFINER function or a view in a schema the member lets the bundle CREATE in, then (as the
 * bundle) grant itself access to it: after the revoke it would still read as the bundle. The app
 * cannot take ownership away (that needs a superuser), but as the owner it can make routines
 * SECURITY INVOKER, views security_invoker, and revoke every privilege other roles hold on them.
 */
async function defuseOwnedSql(client: Client, oid: string): Promise<string[]> {
  const { rows } = await query<{ s: string }>(client, `
    WITH grantees AS (
      SELECT 'TABLE' AS kind, c.oid::regclass::text AS object, a.grantee
        FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a WHERE c.relowner = $1::oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
      UNION
      SELECT 'TABLE', att.attrelid::regclass::text, a.grantee
        FROM pg_attribute att JOIN pg_class c ON c.oid = att.attrelid CROSS JOIN LATERAL aclexplode(att.attacl) a WHERE c.relowner = $1::oid
      UNION
      SELECT 'SEQUENCE', c.oid::regclass::text, a.grantee
        FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a WHERE c.relowner = $1::oid AND c.relkind = 'S'
      UNION
      SELECT 'ROUTINE', p.oid::regprocedure::text, a.grantee
        FROM pg_proc p CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a WHERE p.proowner = $1::oid
      UNION
      SELECT 'LARGE OBJECT', m.oid::text, a.grantee
        FROM pg_largeobject_metadata m CROSS JOIN LATERAL aclexplode(m.lomacl) a WHERE m.lomowner = $1::oid
    )
    SELECT s FROM (
      SELECT 1 AS o, p.oid::regprocedure::text AS k, format('ALTER ROUTINE %s SECURITY INVOKER', p.oid::regprocedure) AS s
        FROM pg_proc p WHERE p.proowner = $1::oid AND p.prosecdef
      UNION ALL
      SELECT 2, c.oid::regclass::text, format('ALTER VIEW %s SET (security_invoker = true)', c.oid::regclass)
        FROM pg_class c WHERE c.relowner = $1::oid AND c.relkind = 'v' AND NOT ('security_invoker=true' = ANY (coalesce(c.reloptions, '{}')))
      UNION ALL
      SELECT DISTINCT 3, g.object, format('REVOKE ALL ON %s %s FROM %s', g.kind, g.object, CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END)
        FROM grantees g LEFT JOIN pg_roles r ON r.oid = g.grantee WHERE g.grantee <> $1::oid
    ) x ORDER BY o, k, s`, [oid]);
  return rows.map((r) => `${r.s};`);
}

/**
 * After a verified revoke: removes the default privileges FOR ROLE the bundle and defuses objects
 * the bundle owns here (the residue the app has the right to undo), then reports what is left.
 * Never throws for a failed undo: the revoke already happened; what could not be undone is reported.
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
  const oid = await roleOid(client, role);
  const inert = oid ? await defuseOwnedSql(client, oid) : [];
  if (inert.length) {
    undoable.push(finding("JIT_WINDOW_RESIDUE",
      `objects "${role}" came to own in this database were made inert (SECURITY INVOKER, no privileges for other roles); they stay owned by it until a DBA reassigns them`,
      inert, role));
  }
  const undone: Finding[] = [];
  let undoError: string | undefined;
  if (undoable.length) {
    const app = quoteRole(info.appRole);
    const bundle = quoteRole(role);
    try {
      await query(client, "BEGIN");
      // PG16+: the app's own membership is INHERIT FALSE, SET FALSE; it cannot act as the bundle
      // (alter its default privileges, or its objects as their owner) without a row that lends
      // the bundle's rights, which never outlives this transaction. PG15: the app is a NOINHERIT
      // member, which may SET ROLE to the bundle for the length of this transaction.
      if (info.pgMajor >= 16) await query(client, `GRANT ${bundle} TO ${app} WITH ADMIN FALSE, INHERIT TRUE, SET FALSE GRANTED BY ${app}`);
      else if (inert.length) await query(client, `SET LOCAL ROLE ${bundle}`);
      for (const f of undoable) for (const s of f.fix) await query(client, s.replace(/;$/, ""));
      if (info.pgMajor >= 16) await query(client, `REVOKE ${bundle} FROM ${app} GRANTED BY ${app}`);
      await query(client, "COMMIT");
      undone.push(...undoable);
    } catch (e) {
      await query(client, "ROLLBACK").catch(() => {});
      undoError = (e as Error).message;
    }
  }
  const remaining = [...await inspectWindowResidue(client, role, member), ...(oid ? await schemaCreateGiven(client, oid, role) : [])];
  return undoError === undefined ? { undone, remaining } : { undone, remaining, undoError };
}
