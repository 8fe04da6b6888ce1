// Invariant I4: a grantable role is a pure privilege bundle. Checked before every grant and by
// `jit doctor`. During a window an INHERIT member can turn anything the role owns, any grant option
// or default ACL it holds, or any schema it may create in, into permanent access; and a membership
// in a predefined or privileged role hands out far more than the bundle's name says.
// Invariant I14: the same holds for every role the bundle is a member of, transitively (a grantee
// inherits or can SET ROLE along the chain), on PG15 (one row per membership) and PG16+ (one row
// per grantor, with INHERIT/SET options: an INHERIT FALSE edge is still followed, fail closed).
//
// Ownership is read from pg_shdepend, which covers every database of the cluster. Grant options,
// default ACLs and schema CREATE are per database: they are checked in the target's database
// (plus shared catalogs); other databases show up only as counts from pg_shdepend, and any
// privilege held there refuses the role (what it is cannot be read from here).
import type pg from "pg";
import { quoteIdent } from "../core/sql.ts";
import { query } from "./executor.ts";
import { finding, type Finding } from "./finding.ts";

type Client = Pick<pg.PoolClient, "query">;

const ATTRIBUTES = [
  ["rolsuper", "SUPERUSER", "NOSUPERUSER"],
  ["rolcreaterole", "CREATEROLE", "NOCREATEROLE"],
  ["rolcreatedb", "CREATEDB", "NOCREATEDB"],
  ["rolreplication", "REPLICATION", "NOREPLICATION"],
  ["rolbypassrls", "BYPASSRLS", "NOBYPASSRLS"],
] as const;

type RoleRow = { oid: string; rolcanlogin: boolean } & Record<(typeof ATTRIBUTES)[number][0], boolean>;

export async function roleOid(client: Client, name: string): Promise<string | undefined> {
  const { rows } = await query<{ oid: string }>(client, "SELECT oid::text AS oid FROM pg_roles WHERE rolname = $1", [name]);
  return rows[0]?.oid;
}

const DEFACL_OBJECTS: Record<string, string> = { r: "TABLES", S: "SEQUENCES", f: "FUNCTIONS", T: "TYPES", n: "SCHEMAS", L: "LARGE OBJECTS" };

/** Findings for a grantable role; empty when it is a pure bundle. */
export async function inspectGrantableRole(client: Client, role: string, pgMajor: number): Promise<Finding[]> {
  const q = quoteIdent(role);
  const { rows } = await query<RoleRow>(client,
    `SELECT oid::text AS oid, rolcanlogin, ${ATTRIBUTES.map((a) => a[0]).join(", ")} FROM pg_roles WHERE rolname = $1`, [role]);
  const r = rows[0];
  if (!r) return [finding("JIT_ROLE_MISSING", `role "${role}" does not exist`, [`CREATE ROLE ${q} NOLOGIN;`])];
  const out: Finding[] = [];

  if (role.startsWith("pg_")) {
    out.push(finding("JIT_ROLE_NOT_PURE", `"${role}" is a predefined role; grant a role of your own that holds only the privileges needed`,
      ["-- create a NOLOGIN role with exactly the needed privileges and allowlist it instead"]));
  }
  const bad = ATTRIBUTES.filter(([col]) => r[col]);
  if (r.rolcanlogin || bad.length) {
    const names = [...(r.rolcanlogin ? ["LOGIN"] : []), ...bad.map((a) => a[1])];
    const fixes = [...(r.rolcanlogin ? ["NOLOGIN"] : []), ...bad.map((a) => a[2])];
    out.push(finding("JIT_ROLE_NOT_PURE", `role "${role}" has ${names.join(", ")}`, [`ALTER ROLE ${q} ${fixes.join(" ")};`]));
  }

  // I14: the closure. Every role the bundle is a member of, directly or transitively, hands its
  // powers to the bundle's members (inherited, or through SET ROLE along the chain). Predefined or
  // privileged ancestors (and login roles: a person's or an application's identity) are refused
  // at the direct edge; every other ancestor must hold nothing either.
  const closure = await roleClosure(client, r.oid);
  const cut = (a: Ancestor) => pgMajor >= 16 ? `REVOKE ${a.via_q} FROM ${q} GRANTED BY ${a.grantor_q};` : `REVOKE ${a.via_q} FROM ${q};`;
  const through = (a: Ancestor) => a.via === a.name ? "" : ` through "${a.via}"`;
  const clean: Holder[] = [{ oid: r.oid, name: role, label: `role "${role}"`, alternative: [] }];
  for (const a of closure) {
    if (a.why) {
      out.push(finding("JIT_ROLE_NOT_PURE", `role "${role}" is a member of "${a.name}" (${a.why})${through(a)}`, [cut(a)]));
    } else if (!clean.some((h) => h.oid === a.oid)) {
      clean.push({ oid: a.oid, name: a.name, label: `role "${a.name}" (which "${role}" is a member of${through(a)})`,
        alternative: [`-- or cut the membership instead: ${cut(a)}`] });
    }
  }
  for (const h of clean) out.push(...await heldPowers(client, h, pgMajor));
  out.push(...await createRights(client, clean));
  return out;
}

interface Ancestor {
  oid: string;
  name: string;
  via: string;
  via_q: string;
  grantor_q: string;
  /** Why the ancestor alone makes the bundle impure (predefined, an attribute, LOGIN), or "". */
  why: string;
}

/** A role whose powers a grantee of the bundle gets: the bundle itself or one of its ancestors. */
interface Holder {
  oid: string;
  name: string;
  label: string;
  /** Extra fix lines for an ancestor: cutting the edge is the other way out. */
  alternative: string[];
}

/** Every role the given role is a member of, with the direct edge that leads there (PG15 and PG16+ rows alike). */
export async function roleClosure(client: Client, oid: string): Promise<Ancestor[]> {
  const { rows } = await query<Ancestor>(client, `
    WITH RECURSIVE up(roleid, via, grantor) AS (
      SELECT am.roleid, am.roleid, am.grantor FROM pg_auth_members am WHERE am.member = $1::oid
      UNION
      SELECT am.roleid, up.via, up.grantor FROM pg_auth_members am JOIN up ON am.member = up.roleid
    )
    SELECT r.oid::text AS oid, r.rolname::text AS name, v.rolname::text AS via, quote_ident(v.rolname) AS via_q, quote_ident(g.rolname) AS grantor_q,
           concat_ws(' ', CASE WHEN r.rolname LIKE 'pg\\_%' THEN 'predefined' END,
             CASE WHEN r.rolsuper THEN 'SUPERUSER' END, CASE WHEN r.rolcreaterole THEN 'CREATEROLE' END,
             CASE WHEN r.rolcreatedb THEN 'CREATEDB' END, CASE WHEN r.rolreplication THEN 'REPLICATION' END,
             CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' END, CASE WHEN r.rolcanlogin THEN 'LOGIN' END) AS why
      FROM up JOIN pg_roles r ON r.oid = up.roleid JOIN pg_roles v ON v.oid = up.via JOIN pg_roles g ON g.oid = up.grantor
     WHERE r.oid <> $1::oid
     ORDER BY 2, 3, 5`, [oid]);
  return rows;
}

/** What one holder owns or may pass on: objects, default ACLs, grant options, ADMIN, CREATE. */
async function heldPowers(client: Client, h: Holder, pgMajor: number): Promise<Finding[]> {
  const out: Finding[] = [];
  const q = quoteIdent(h.name);
  // Owned objects in any database (pg_shdepend is cluster-wide); default ACLs are listed below.
  const owned = await query<{ db: string; here: boolean; n: number; objects: string | null }>(client, `
    SELECT coalesce(d.datname::text, '(cluster)') AS db, (s.dbid = 0 OR d.datname = current_database()) AS here,
           count(*)::int AS n,
           string_agg(CASE WHEN s.dbid = 0 OR d.datname = current_database()
                           THEN pg_describe_object(s.classid, s.objid, s.objsubid) END, ', ' ORDER BY s.objid) AS objects
      FROM pg_shdepend s LEFT JOIN pg_database d ON d.oid = s.dbid
     WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = $1::oid AND s.deptype = 'o'
       AND s.classid <> 'pg_default_acl'::regclass
     GROUP BY 1, 2 ORDER BY 1`, [h.oid]);
  for (const o of owned.rows) {
    const where = o.db === "(cluster)" ? "shared objects" : `database "${o.db}"`;
    out.push(finding("JIT_ROLE_NOT_PURE", `${h.label} owns ${o.n} object(s) in ${where}${o.objects ? `: ${o.objects}` : ""}`,
      [`-- in ${where}, as a superuser (pick the owner; the database owner is usual):`, `REASSIGN OWNED BY ${q} TO <owner>;`, ...h.alternative]));
  }

  // Default ACLs: in this database with exact fix statements, elsewhere as counts.
  for (const e of await defaultAclEntries(client, h.oid, h.name)) {
    out.push(finding("JIT_ROLE_NOT_PURE",
      `${h.label} has default privileges (ALTER DEFAULT PRIVILEGES FOR ROLE) on ${e.objects.toLowerCase()}${e.schema ? ` in schema ${e.schema}` : ""}`,
      [...e.fix, ...h.alternative]));
  }
  const elsewhere = await query<{ db: string; n: number }>(client, `
    SELECT d.datname::text AS db, count(*)::int AS n FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid
     WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = $1::oid AND s.deptype = 'o'
       AND s.classid = 'pg_default_acl'::regclass AND d.datname <> current_database()
     GROUP BY 1 ORDER BY 1`, [h.oid]);
  for (const d of elsewhere.rows) {
    out.push(finding("JIT_ROLE_NOT_PURE", `${h.label} has ${d.n} default privilege entr(ies) in database "${d.db}"`,
      [`-- in database "${d.db}": SELECT * FROM pg_default_acl WHERE defaclrole = ${literal(h.name)}::regrole;  then ALTER DEFAULT PRIVILEGES FOR ROLE ${q} … REVOKE`, ...h.alternative]));
  }

  // Privileges in other databases: membership reaches every database of the cluster, but grant
  // options, CREATE and default privileges can only be read in the database the app connects to.
  // pg_shdepend shows that such entries exist, not what they are: fail closed.
  const acls = await query<{ db: string; n: number }>(client, `
    SELECT d.datname::text AS db, count(*)::int AS n FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid
     WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = $1::oid AND s.deptype = 'a' AND d.datname <> current_database()
     GROUP BY 1 ORDER BY 1`, [h.oid]);
  for (const d of acls.rows) {
    out.push(finding("JIT_ROLE_NOT_PURE",
      `${h.label} holds privileges in database "${d.db}" (${d.n} object(s)), which the app cannot inspect for grant options or CREATE from here; membership reaches every database of the cluster`,
      [`-- in database "${d.db}": revoke them, or allowlist a role whose privileges are all in the database the app connects to`,
        `-- SELECT pg_describe_object(classid, objid, objsubid) FROM pg_shdepend WHERE refobjid = ${literal(h.name)}::regrole AND deptype = 'a' AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database());`,
        ...h.alternative]));
  }

  // Grant options held (WITH GRANT OPTION / ADMIN OPTION).
  const options = await query<{ kind: string; object: string; privilege: string; grantor: string }>(client, GRANT_OPTIONS_SQL, [h.oid]);
  for (const g of options.rows) {
    if (g.kind === "ROLE") {
      out.push(finding("JIT_ROLE_NOT_PURE", `${h.label} holds ADMIN OPTION on role ${g.object}`,
        [pgMajor >= 16 ? `REVOKE ADMIN OPTION FOR ${g.object} FROM ${q} GRANTED BY ${g.grantor};` : `REVOKE ADMIN OPTION FOR ${g.object} FROM ${q};`, ...h.alternative]));
    } else {
      out.push(finding("JIT_ROLE_NOT_PURE", `${h.label} holds ${g.privilege} WITH GRANT OPTION on ${g.kind.toLowerCase()} ${g.object}`,
        [`REVOKE GRANT OPTION FOR ${g.privilege} ON ${g.kind} ${g.object} FROM ${q} CASCADE;`, ...h.alternative]));
    }
  }

  return out;
}

/**
 * CREATE on a schema (directly, through PUBLIC or a parent role) or on the database, for the bundle
 * and each ancestor. An ancestor reached over an INHERIT FALSE edge still counts: on PG15 and with
 * SET TRUE, SET ROLE reaches it. Each object is reported once, by the holder that has the right
 * directly (so the fix is a statement), else by the first holder that sees it.
 */
async function createRights(client: Client, holders: Holder[]): Promise<Finding[]> {
  const found = new Map<string, { h: Holder; c: { object: string; kind: string; direct: boolean; public: boolean } }>();
  for (const h of holders) {
    const create = await query<{ object: string; kind: string; direct: boolean; public: boolean }>(client, `
      SELECT 'SCHEMA' AS kind, quote_ident(n.nspname) AS object,
             EXISTS (SELECT 1 FROM aclexplode(n.nspacl) a WHERE a.grantee = $1::oid AND a.privilege_type = 'CREATE') AS direct,
             EXISTS (SELECT 1 FROM aclexplode(n.nspacl) a WHERE a.grantee = 0 AND a.privilege_type = 'CREATE') AS public
        FROM pg_namespace n WHERE has_schema_privilege($1::oid, n.oid, 'CREATE')
      UNION ALL
      SELECT 'DATABASE', quote_ident(d.datname),
             EXISTS (SELECT 1 FROM aclexplode(d.datacl) a WHERE a.grantee = $1::oid AND a.privilege_type = 'CREATE'),
             EXISTS (SELECT 1 FROM aclexplode(d.datacl) a WHERE a.grantee = 0 AND a.privilege_type = 'CREATE')
        FROM pg_database d WHERE d.datname = current_database() AND has_database_privilege($1::oid, d.oid, 'CREATE')
      ORDER BY 1, 2`, [h.oid]);
    for (const c of create.rows) {
      const key = `${c.kind} ${c.object}`;
      const seen = found.get(key);
      if (!seen || (!(seen.c.direct || seen.c.public) && (c.direct || c.public))) found.set(key, { h, c });
    }
  }
  return [...found.values()].map(({ h, c }) => {
    const q = quoteIdent(h.name);
    const fix = [
      ...(c.direct ? [`REVOKE CREATE ON ${c.kind} ${c.object} FROM ${q};`] : []),
      ...(c.public ? [`REVOKE CREATE ON ${c.kind} ${c.object} FROM PUBLIC;`] : []),
    ];
    if (!fix.length) fix.push(`-- "${h.name}" gets CREATE on ${c.kind.toLowerCase()} ${c.object} through a parent role or ownership; revoke it there`);
    return finding("JIT_ROLE_NOT_PURE", `${h.label} can CREATE in ${c.kind.toLowerCase()} ${c.object}`, [...fix, ...h.alternative]);
  });
}

export interface DefaultAclEntry {
  schema: string | null;
  objects: string;
  /** Statements (quoted from the catalog) that remove the entry in this database. */
  fix: string[];
}

/**
 * The role's default ACL entries in this database, each with the statements that remove it: revoke
 * every grantee, and reset a global entry to the built-in defaults, which makes PostgreSQL drop it.
 */
export async function defaultAclEntries(client: Client, oid: string, role: string): Promise<DefaultAclEntry[]> {
  const q = quoteIdent(role);
  const defacl = await query<{ schema: string | null; objtype: string; grantee: string | null; is_owner: boolean | null }>(client, `
    SELECT quote_ident(n.nspname) AS schema, d.defaclobjtype::text AS objtype,
           CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.rolname) END AS grantee, a.grantee = d.defaclrole AS is_owner
      FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
      LEFT JOIN LATERAL aclexplode(d.defaclacl) a ON true LEFT JOIN pg_roles g ON g.oid = a.grantee
     WHERE d.defaclrole = $1::oid ORDER BY 1 NULLS FIRST, 2, 3`, [oid]);
  const entries = new Map<string, { schema: string | null; objtype: string; grantees: Set<string> }>();
  for (const d of defacl.rows) {
    const k = `${d.schema ?? ""}/${d.objtype}`;
    const e = entries.get(k) ?? { schema: d.schema, objtype: d.objtype, grantees: new Set<string>() };
    if (d.grantee && (d.schema !== null || !d.is_owner)) e.grantees.add(d.grantee);
    entries.set(k, e);
  }
  return [...entries.values()].map((e) => {
    const objects = DEFACL_OBJECTS[e.objtype] ?? e.objtype;
    const prefix = `ALTER DEFAULT PRIVILEGES FOR ROLE ${q}${e.schema ? ` IN SCHEMA ${e.schema}` : ""}`;
    const fix = [...e.grantees].map((g) => `${prefix} REVOKE ALL ON ${objects} FROM ${g};`);
    if (!e.schema) {
      fix.push(`${prefix} GRANT ALL ON ${objects} TO ${q};`);
      if (e.objtype === "f") fix.push(`${prefix} GRANT EXECUTE ON FUNCTIONS TO PUBLIC;`);
      if (e.objtype === "T") fix.push(`${prefix} GRANT USAGE ON TYPES TO PUBLIC;`);
    }
    return { schema: e.schema, objects, fix };
  });
}

function literal(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

// Every ACL column of this database and of the shared catalogs, exploded, for entries the role
// received WITH GRANT OPTION; plus role memberships it holds WITH ADMIN OPTION.
const GRANT_OPTIONS_SQL = `
  SELECT kind, object, privilege, grantor FROM (
    SELECT CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind, c.oid::regclass::text AS object,
           a.privilege_type AS privilege, a.grantee, a.is_grantable, a.grantor::regrole::text AS grantor
      FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
    UNION ALL
    SELECT 'TABLE', att.attrelid::regclass::text, format('%s (%s)', a.privilege_type, quote_ident(att.attname)), a.grantee, a.is_grantable, a.grantor::regrole::text
      FROM pg_attribute att CROSS JOIN LATERAL aclexplode(att.attacl) a
    UNION ALL
    SELECT 'SCHEMA', quote_ident(n.nspname), a.privilege_type, a.grantee, a.is_grantable, a.grantor::regrole::text
      FROM pg_namespace n CROSS JOIN LATERAL aclexplode(n.nspacl) a
    UNION ALL
    SELECT 'ROUTINE', p.oid::regprocedure::text, a.privilege_type, a.grantee, a.is_grantable, a.grantor::regrole::text
      FROM pg_proc p CROSS JOIN LATERAL aclexplode(p.proacl) a
    UNION ALL
    SELECT 'DATABASE', quote_ident(d.datname), a.privilege_type, a.grantee, a.is_grantable, a.grantor::regrole::text
      FROM pg_database d CROSS JOIN LATERAL aclexplode(d.datacl) a
    UNION ALL
    SELECT CASE WHEN t.typtype = 'd' THEN 'DOMAIN' ELSE 'TYPE' END, t.oid::regtype::text, a.privilege_type, a.grantee, a.is_grantable, a.grantor::regrole::text
      FROM pg_type t CROSS JOIN LATERAL aclexplode(t.typacl) a
    UNION ALL
    SELECT 'LANGUAGE', quote_ident(l.lanname), a.privilege_type, a.grantee, a.is_grantable, a.grantor::regrole::text
      FROM pg_language l CROSS JOIN LATERAL aclexplode(l.lanacl) a
    UNION ALL
    SELECT 'FOREIGN DATA WRAPPER', quote_ident(w.fdwname), a.privilege_type, a.grantee, a.is_grantable, a.grantor::regrole::text
      FROM pg_foreign_data_wrapper w CROSS JOIN LATERAL aclexplode(w.fdwacl) a
    UNION ALL
    SELECT 'FOREIGN SERVER', quote_ident(s.srvname), a.privilege_type, a.grantee, a.is_grantable, a.grantor::regrole::text
      FROM pg_foreign_server s CROSS JOIN LATERAL aclexplode(s.srvacl) a
    UNION ALL
    SELECT 'TABLESPACE', quote_ident(s.spcname), a.privilege_type, a.grantee, a.is_grantable, a.grantor::regrole::text
      FROM pg_tablespace s CROSS JOIN LATERAL aclexplode(s.spcacl) a
    UNION ALL
    SELECT 'LARGE OBJECT', m.oid::text, a.privilege_type, a.grantee, a.is_grantable, a.grantor::regrole::text
      FROM pg_largeobject_metadata m CROSS JOIN LATERAL aclexplode(m.lomacl) a
    UNION ALL
    SELECT 'PARAMETER', p.parname, a.privilege_type, a.grantee, a.is_grantable, a.grantor::regrole::text
      FROM pg_parameter_acl p CROSS JOIN LATERAL aclexplode(p.paracl) a
    UNION ALL
    SELECT 'ROLE', quote_ident(r.rolname), 'ADMIN', am.member, am.admin_option, quote_ident(g.rolname)
      FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles g ON g.oid = am.grantor
  ) x
  WHERE grantee = $1::oid AND is_grantable
  ORDER BY kind, object, privilege`;
