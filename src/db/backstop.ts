// The in-database backstop's client side: where it lives (pg_cron's database on the target cluster),
// whether it is installed, installing it, and mirroring the ledger's active grants into it. Mirroring
// is level-triggered: every call writes the current expiry of every active grant of the cluster and
// drops rows the app closed, so an extension moves the backstop's deadline and a missed call is
// caught up by the next one. What the backstop revoked is reported back; the app's next sweep then
// ends the sessions, verifies, closes the ledger row and opens the revert PR (the grant is overdue).
import pg from "pg";
import type { Queryable } from "./state.ts";
import { BACKSTOP_INSTALL, BACKSTOP_JOB } from "./backstop-sql.ts";

export type BackstopStatus =
  | { kind: "no-pg-cron"; why: string }
  | { kind: "not-installed"; cronDatabase: string; missing: string[]; /** a superuser's step is missing (else jit backstop install does it) */ needsDba: boolean }
  | { kind: "installed"; cronDatabase: string; schedule: string; active: boolean; pending: number; lastRun: string | null };

export interface BackstopConnection {
  client: pg.Client;
  /** The database holding the pg_cron extension (and the backstop); null: none found. */
  cronDatabase: string | null;
  /** The pg_cron package is on the server (pg_available_extensions). */
  available: boolean;
  close(): Promise<void>;
}

/** pg_cron's default database; cron.database_name itself is readable by superusers only. */
const DEFAULT_CRON_DATABASE = "postgres";

async function open(connectionString: string, database?: string): Promise<pg.Client> {
  let cs = connectionString;
  if (database !== undefined) {
    const url = new URL(connectionString); // same server and role, another database
    url.pathname = `/${encodeURIComponent(database)}`;
    cs = url.toString();
  }
  // Bounded: a mirror runs after grants and a shutdown waits for it, so a silent target must not hang either.
  const c = new pg.Client({ connectionString: cs, application_name: "jit-backstop", connectionTimeoutMillis: 10_000, query_timeout: 30_000 });
  c.on("error", () => {});
  await c.connect();
  return c;
}

/**
 * Connects to the database of the cluster `connectionString` reaches that holds the pg_cron
 * extension: `cronDatabase` when given, else the connection's own database, else "postgres".
 */
export async function connectBackstop(connectionString: string, cronDatabase?: string): Promise<BackstopConnection> {
  const first = await open(connectionString);
  try {
    const { rows: [here] } = await first.query<{ db: string; ext: boolean; available: boolean }>(`
      SELECT current_database() AS db, EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') AS ext,
             EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_cron') AS available`);
    const wanted = cronDatabase ?? (here!.ext ? here!.db : DEFAULT_CRON_DATABASE);
    const wrap = (client: pg.Client, db: string | null): BackstopConnection => ({ client, cronDatabase: db, available: here!.available, close: () => client.end() });
    if (wanted === here!.db) return wrap(first, here!.available ? here!.db : null);
    if (!here!.available) return wrap(first, null);
    const second = await open(connectionString, wanted).catch(() => null);
    if (!second) return wrap(first, null);
    await first.end();
    return wrap(second, wanted);
  } catch (e) {
    await first.end().catch(() => {});
    throw e;
  }
}

export async function backstopStatus(c: BackstopConnection): Promise<BackstopStatus> {
  if (!c.available) return { kind: "no-pg-cron", why: "the pg_cron package is not installed on this server" };
  if (!c.cronDatabase) return { kind: "not-installed", cronDatabase: DEFAULT_CRON_DATABASE, missing: ["CREATE EXTENSION pg_cron"], needsDba: true };
  const q = c.client;
  const { rows: [facts] } = await q.query<{ ext: boolean; usage: boolean; schema_owner: boolean; table: boolean; fn: boolean }>(`
    SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') AS ext,
           EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'cron' AND has_schema_privilege(oid, 'USAGE')) AS usage,
           EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'jit_backstop' AND nspowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)) AS schema_owner,
           to_regclass('jit_backstop.grants') IS NOT NULL AS table,
           to_regprocedure('jit_backstop.revoke_expired()') IS NOT NULL AS fn`);
  const missing: string[] = [];
  if (!facts!.ext) missing.push("CREATE EXTENSION pg_cron");
  else if (!facts!.usage) missing.push("USAGE on schema cron");
  if (!facts!.schema_owner) missing.push("schema jit_backstop owned by the app role");
  if (missing.length) return { kind: "not-installed", cronDatabase: c.cronDatabase, missing, needsDba: true };
  if (!facts!.table || !facts!.fn) return { kind: "not-installed", cronDatabase: c.cronDatabase, missing: ["jit backstop install"], needsDba: false };
  const { rows: jobs } = await q.query<{ schedule: string; active: boolean; last: Date | null }>(`
    SELECT j.schedule, j.active, (SELECT max(d.end_time) FROM cron.job_run_details d WHERE d.jobid = j.jobid) AS last
      FROM cron.job j WHERE j.jobname = $1 AND j.username = current_user`, [BACKSTOP_JOB]);
  if (!jobs[0]) return { kind: "not-installed", cronDatabase: c.cronDatabase, missing: ["the pg_cron job (jit backstop install)"], needsDba: false };
  const { rows: [p] } = await q.query<{ n: number }>("SELECT count(*)::int AS n FROM jit_backstop.grants WHERE revoked_at IS NULL");
  return { kind: "installed", cronDatabase: c.cronDatabase, schedule: jobs[0].schedule, active: jobs[0].active, pending: p!.n, lastRun: jobs[0].last?.toISOString() ?? null };
}

/** Creates or replaces the table, the function and the job, in one transaction, as the app's role. */
export async function installBackstop(c: BackstopConnection): Promise<void> {
  await c.client.query("BEGIN");
  try {
    // Our own static statements, one per query (a function body is one statement).
    for (const text of BACKSTOP_INSTALL) await c.client.query({ text, queryMode: "extended" } as pg.QueryConfig);
    await c.client.query("COMMIT");
  } catch (e) {
    await c.client.query("ROLLBACK").catch(() => {});
    throw e;
  }
}

export interface ActiveGrant {
  ledgerId: string;
  roleOid: string;
  memberOid: string;
  grantorOid: string;
  expiresAt: Date;
}

/** Active grants of one cluster from the state database (I15: by recorded OIDs, not today's names). */
export async function activeGrantsOf(state: Queryable, clusterId: string): Promise<ActiveGrant[]> {
  const { rows } = await state.query<{ id: string; role_oid: string; member_oid: string; grantor_oid: string; expires_at: Date }>(
    `SELECT id::text, role_oid::text, member_oid::text, grantor_oid::text, expires_at FROM ledger
      WHERE status = 'active' AND cluster_id = $1 AND expires_at IS NOT NULL
        AND role_oid IS NOT NULL AND member_oid IS NOT NULL AND grantor_oid IS NOT NULL`, [clusterId]);
  return rows.map((r) => ({ ledgerId: r.id, roleOid: r.role_oid, memberOid: r.member_oid, grantorOid: r.grantor_oid, expiresAt: r.expires_at }));
}

/** Clusters with an active grant or one closed in the last day (its row is dropped), and their connection variables. */
export async function activeClusters(state: Queryable): Promise<{ clusterId: string; connectionEnv: string }[]> {
  const { rows } = await state.query<{ cluster_id: string; connection_env: string }>(
    `SELECT DISTINCT ON (cluster_id) cluster_id, connection_env FROM ledger
      WHERE (status = 'active' OR revoked_at > now() - interval '1 day') AND connection_env IS NOT NULL
      ORDER BY cluster_id, (status = 'active') DESC, granted_at DESC`);
  return rows.map((r) => ({ clusterId: r.cluster_id, connectionEnv: r.connection_env }));
}

export interface MirrorResult {
  mirrored: number;
  dropped: number;
  /** Grants the backstop revoked that the ledger still shows active: the next sweep closes them. */
  revokedByBackstop: { ledgerId: string; revokedAt: string; outcome: string | null }[];
}

/** Writes the cluster's active grants into the backstop table and drops the rows the app closed. */
export async function mirrorGrants(c: BackstopConnection, grants: readonly ActiveGrant[]): Promise<MirrorResult> {
  const q = c.client;
  await q.query("BEGIN");
  try {
    const ids = grants.map((g) => g.ledgerId);
    const { rowCount: dropped } = await q.query("DELETE FROM jit_backstop.grants WHERE NOT (ledger_id = ANY($1::bigint[]))", [ids]);
    for (const g of grants) {
      // An extension moves the deadline and re-arms a row; a row the backstop already revoked stays revoked.
      await q.query(`
        INSERT INTO jit_backstop.grants (ledger_id, role_oid, member_oid, grantor_oid, expires_at) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (ledger_id) DO UPDATE SET expires_at = EXCLUDED.expires_at, role_oid = EXCLUDED.role_oid, member_oid = EXCLUDED.member_oid,
          grantor_oid = EXCLUDED.grantor_oid, mirrored_at = clock_timestamp()
          WHERE jit_backstop.grants.revoked_at IS NULL`,
      [g.ledgerId, g.roleOid, g.memberOid, g.grantorOid, g.expiresAt]);
    }
    const { rows } = await q.query<{ ledger_id: string; revoked_at: Date; outcome: string | null }>(
      "SELECT ledger_id::text, revoked_at, outcome FROM jit_backstop.grants WHERE revoked_at IS NOT NULL ORDER BY revoked_at");
    await q.query("COMMIT");
    return { mirrored: grants.length, dropped: dropped ?? 0, revokedByBackstop: rows.map((r) => ({ ledgerId: r.ledger_id, revokedAt: r.revoked_at.toISOString(), outcome: r.outcome })) };
  } catch (e) {
    await q.query("ROLLBACK").catch(() => {});
    throw e;
  }
}

/** pg_control_system's identifier: the ledger's cluster_id. */
export async function clusterIdOf(c: BackstopConnection): Promise<string | null> {
  try {
    const { rows } = await c.client.query<{ id: string }>("SELECT system_identifier::text AS id FROM pg_control_system()");
    return rows[0]?.id ?? null;
  } catch {
    return null; // pg_control_system needs pg_read_all_settings-like rights on some hosts; the caller uses its own id then
  }
}

/** The role the backstop connection acts as (the app role): named in the DBA's one-time SQL. */
export async function currentRole(c: BackstopConnection): Promise<string> {
  const { rows } = await c.client.query<{ me: string }>("SELECT current_user::text AS me");
  return rows[0]!.me;
}
