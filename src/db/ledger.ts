// The ledger: one row per granted request, keyed (repository, database, request_id) so a request id
// is single-use. Status moves intent -> active -> revoked, or intent -> failed. Every time is the
// state database's clock (clock_timestamp()), never the app's.
import type pg from "pg";
import type { Queryable } from "./state.ts";
import { windowEndSql } from "./window.ts";

export type LedgerStatus = "intent" | "active" | "revoked" | "failed";

export interface LedgerKey {
  repository: string;
  database: string;
  requestId: string;
}

/** A statement as run, with its parameters and the database clock time it ran at. */
export interface ExecutedSql {
  text: string;
  params: string[];
  at?: string;
  error?: string;
}

export interface LedgerIntent extends LedgerKey {
  path: string;
  prNumber: number | null;
  headSha: string | null;
  mergeSha: string | null;
  approvers: string[];
  clusterId: string;
  role: string;
  dbUser: string;
  durationMs: number;
  actor: string;
}

export interface LedgerRow extends LedgerIntent {
  id: number;
  status: LedgerStatus;
  createdAt: Date;
  grantedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  revokeReason: string | null;
  revokedBy: string | null;
  failureCode: string | null;
  sqlExecuted: ExecutedSql[];
  sessionsEnded: number;
  verification: Record<string, unknown>;
  /** I15: recorded at grant time (null on rows from before migration 008). */
  connectionEnv: string | null;
  grantorRole: string | null;
  grantorOid: string | null;
  roleOid: string | null;
  memberOid: string | null;
}

const COLUMNS = `id::int8 AS id, repository, path, request_id, pr_number, head_sha, merge_sha, approvers, database, cluster_id, role,
  db_user, duration_ms::int8 AS duration_ms, status, created_at, granted_at, expires_at, revoked_at, revoke_reason, revoked_by,
  failure_code, sql_executed, sessions_ended, verification, actor,
  connection_env, grantor_role, grantor_oid::text AS grantor_oid, role_oid::text AS role_oid, member_oid::text AS member_oid`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function toRow(r: any): LedgerRow {
  return {
    id: Number(r.id), repository: r.repository, path: r.path, requestId: r.request_id, prNumber: r.pr_number,
    headSha: r.head_sha, mergeSha: r.merge_sha, approvers: r.approvers, database: r.database, clusterId: r.cluster_id,
    role: r.role, dbUser: r.db_user, durationMs: Number(r.duration_ms), status: r.status, createdAt: r.created_at,
    grantedAt: r.granted_at, expiresAt: r.expires_at, revokedAt: r.revoked_at, revokeReason: r.revoke_reason,
    revokedBy: r.revoked_by, failureCode: r.failure_code, sqlExecuted: r.sql_executed, sessionsEnded: r.sessions_ended,
    verification: r.verification, actor: r.actor, connectionEnv: r.connection_env ?? null, grantorRole: r.grantor_role ?? null,
    grantorOid: r.grantor_oid ?? null, roleOid: r.role_oid ?? null, memberOid: r.member_oid ?? null,
  };
}

const KEY_WHERE = "repository = $1 AND database = $2 AND request_id = $3";
const keyParams = (k: LedgerKey) => [k.repository, k.database, k.requestId];

/** Records the intent to grant; a second call for the same key returns the existing row. */
export async function insertIntent(q: Queryable, i: LedgerIntent): Promise<{ row: LedgerRow; created: boolean }> {
  const ins = await q.query(
    `INSERT INTO ledger (repository, path, request_id, pr_number, head_sha, merge_sha, approvers, database, cluster_id, role, db_user,
                         duration_ms, status, actor)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'intent', $13)
     ON CONFLICT ON CONSTRAINT ledger_request_once DO NOTHING
     RETURNING ${COLUMNS}`,
    [i.repository, i.path, i.requestId, i.prNumber, i.headSha, i.mergeSha, i.approvers, i.database, i.clusterId, i.role, i.dbUser,
      i.durationMs, i.actor]);
  if (ins.rows[0]) return { row: toRow(ins.rows[0]), created: true };
  const existing = await getByKey(q, i);
  if (!existing) throw new Error("ledger row vanished after a conflicting insert");
  return { row: existing, created: false };
}

/**
 * I15: what the revoke will use, recorded before the GRANT (the intent is committed first, so a
 * crash after the GRANT still leaves the grantor and the connection variable on record). The
 * grantor is also kept per cluster in app_grantors: verification covers every app role ever used.
 */
export async function recordGrantor(q: Queryable, id: number, f: { clusterId: string; connectionEnv: string; grantorRole: string; grantorOid: string }): Promise<void> {
  await q.query(
    `WITH g AS (INSERT INTO app_grantors (cluster_id, grantor_oid, grantor_role) VALUES ($2, $4::bigint, $5)
                ON CONFLICT (cluster_id, grantor_oid) DO UPDATE SET grantor_role = excluded.grantor_role RETURNING 1)
     UPDATE ledger SET connection_env = $3, grantor_oid = $4::bigint, grantor_role = $5 WHERE id = $1 AND status = 'intent'`,
    [id, f.clusterId, f.connectionEnv, f.grantorOid, f.grantorRole]);
}

/** I15: the OIDs of the membership as verified after the GRANT (a recreated login is another person). */
export async function recordMembership(q: Queryable, id: number, m: { roleOid: string; memberOid: string }): Promise<void> {
  await q.query("UPDATE ledger SET role_oid = $2::bigint, member_oid = $3::bigint WHERE id = $1", [id, m.roleOid, m.memberOid]);
}

/** Every app role that granted on this cluster, by OID (I15). */
export async function clusterGrantors(q: Queryable, clusterId: string): Promise<{ oid: string; role: string }[]> {
  const { rows } = await q.query<{ oid: string; role: string }>(
    "SELECT grantor_oid::text AS oid, grantor_role AS role FROM app_grantors WHERE cluster_id = $1 ORDER BY first_seen", [clusterId]);
  return rows;
}

/**
 * I16: serializes grants of one (cluster, role, member) for the rest of the caller's transaction.
 * Two request ids for the same membership queue here, so the second one's preflight sees the
 * first one's GRANT (and refuses) instead of both passing before either grants.
 */
export async function lockMembership(client: pg.PoolClient, m: { clusterId: string; role: string; dbUser: string }): Promise<void> {
  await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 16))", [JSON.stringify([m.clusterId, m.role, m.dbUser])]);
}

/** Other rows that hold (or may be about to hold) this membership: compensation must leave it alone (I16). */
export async function otherHolders(q: Queryable, id: number, m: { clusterId: string; role: string; dbUser: string }): Promise<number[]> {
  const { rows } = await q.query<{ id: string }>(
    `SELECT id FROM ledger WHERE cluster_id = $1 AND role = $2 AND db_user = $3 AND status = 'active' AND id <> $4`,
    [m.clusterId, m.role, m.dbUser, id]);
  return rows.map((r) => Number(r.id));
}

/** Locks the still-open rows among `ids` for the caller's transaction (a batch revoke). */
export async function lockOpenByIds(client: pg.PoolClient, ids: number[]): Promise<LedgerRow[]> {
  const { rows } = await client.query(`SELECT ${COLUMNS} FROM ledger WHERE id = ANY($1::int8[]) AND status = 'active' ORDER BY expires_at, id FOR UPDATE`, [ids]);
  return rows.map(toRow);
}

export async function getByKey(q: Queryable, k: LedgerKey): Promise<LedgerRow | undefined> {
  const { rows } = await q.query(`SELECT ${COLUMNS} FROM ledger WHERE ${KEY_WHERE}`, keyParams(k));
  return rows[0] ? toRow(rows[0]) : undefined;
}

/** Locks the row for the rest of the caller's transaction; concurrent grants and revokes queue here. */
export async function lockByKey(client: pg.PoolClient, k: LedgerKey): Promise<LedgerRow | undefined> {
  const { rows } = await client.query(`SELECT ${COLUMNS} FROM ledger WHERE ${KEY_WHERE} FOR UPDATE`, keyParams(k));
  return rows[0] ? toRow(rows[0]) : undefined;
}

export async function findByRequest(q: Queryable, database: string, requestId: string): Promise<LedgerRow[]> {
  const { rows } = await q.query(`SELECT ${COLUMNS} FROM ledger WHERE database = $1 AND request_id = $2 ORDER BY id`, [database, requestId]);
  return rows.map(toRow);
}

/** `windowStart`: the merge time the window opened at (I17, src/db/window.ts); absent: the grant time. */
export async function markActive(q: Queryable, id: number, u: { sql: ExecutedSql[]; verification: Record<string, unknown>; windowStart?: string | null }): Promise<LedgerRow> {
  const { rows } = await q.query(
    `UPDATE ledger SET status = 'active', granted_at = c.at, expires_at = ${windowEndSql("c.at", "$4")},
            sql_executed = sql_executed || $2::jsonb, verification = verification || $3::jsonb
       FROM (SELECT clock_timestamp() AS at) c
      WHERE id = $1 AND status = 'intent' RETURNING ${COLUMNS}`,
    [id, JSON.stringify(u.sql), JSON.stringify(u.verification), u.windowStart ?? null]);
  if (!rows[0]) throw new Error(`ledger row ${id} is no longer an intent`);
  return toRow(rows[0]);
}

export async function markFailed(q: Queryable, id: number, u: { code: string; sql: ExecutedSql[]; verification: Record<string, unknown> }): Promise<LedgerRow | undefined> {
  const { rows } = await q.query(
    `UPDATE ledger SET status = 'failed', failure_code = $2, sql_executed = sql_executed || $3::jsonb, verification = verification || $4::jsonb
      WHERE id = $1 AND status = 'intent' RETURNING ${COLUMNS}`,
    [id, u.code, JSON.stringify(u.sql), JSON.stringify(u.verification)]);
  return rows[0] ? toRow(rows[0]) : undefined;
}

export async function markRevoked(q: Queryable, id: number, u: {
  reason: string; actor: string; sql: ExecutedSql[]; sessionsEnded: number; verification: Record<string, unknown>;
}): Promise<LedgerRow> {
  const [row] = await markRevokedMany(q, [{ id, ...u }]);
  if (!row) throw new Error(`ledger row ${id} is not open`);
  return row;
}

/** markRevoked for many rows in one statement (a batch revoke); returns the rows it closed. */
export async function markRevokedMany(q: Queryable, items: { id: number; reason: string; actor: string; sql: ExecutedSql[]; sessionsEnded: number; verification: Record<string, unknown> }[]): Promise<LedgerRow[]> {
  if (items.length === 0) return [];
  const { rows } = await q.query(
    `UPDATE ledger SET status = 'revoked', revoked_at = clock_timestamp(), revoke_reason = u.r_reason, revoked_by = u.r_actor,
            sql_executed = sql_executed || u.r_sql, sessions_ended = sessions_ended + u.r_ended, verification = verification || u.r_verification
       FROM unnest($1::int8[], $2::text[], $3::text[], $4::jsonb[], $5::int[], $6::jsonb[]) AS u(r_id, r_reason, r_actor, r_sql, r_ended, r_verification)
      WHERE ledger.id = u.r_id AND ledger.status IN ('active', 'intent')
      RETURNING ${COLUMNS}`,
    [items.map((i) => i.id), items.map((i) => i.reason), items.map((i) => i.actor), items.map((i) => JSON.stringify(i.sql)),
      items.map((i) => i.sessionsEnded), items.map((i) => JSON.stringify(i.verification))]);
  return rows.map(toRow);
}

/** Records statements of an attempt that did not close the row (e.g. a revoke that must be retried). */
export async function appendSql(q: Queryable, id: number, sql: ExecutedSql[], verification: Record<string, unknown>): Promise<void> {
  await q.query(`UPDATE ledger SET sql_executed = sql_executed || $2::jsonb, verification = verification || $3::jsonb WHERE id = $1`,
    [id, JSON.stringify(sql), JSON.stringify(verification)]);
}

/** Active grants past their expiry, oldest first. Served by the partial index ledger_due. */
export const DUE_SQL = `SELECT ${COLUMNS} FROM ledger WHERE status = 'active' AND expires_at <= now() ORDER BY expires_at LIMIT $1`;

export async function findDue(q: Queryable, limit: number): Promise<LedgerRow[]> {
  const { rows } = await q.query(DUE_SQL, [limit]);
  return rows.map(toRow);
}

/** The earliest expiry among active grants (for a timer), by the same index. */
export async function nextExpiry(q: Queryable): Promise<Date | null> {
  const { rows } = await q.query(`SELECT expires_at FROM ledger WHERE status = 'active' ORDER BY expires_at LIMIT 1`);
  return rows[0]?.expires_at ?? null;
}

export interface ActiveGrant extends LedgerRow {
  /** Milliseconds left by the database clock (0 when overdue). */
  remainingMs: number;
}

export async function listActive(q: Queryable): Promise<ActiveGrant[]> {
  const { rows } = await q.query(
    `SELECT ${COLUMNS}, (extract(epoch FROM greatest(expires_at - now(), interval '0')) * 1000)::int8 AS remaining_ms
       FROM ledger WHERE status = 'active' ORDER BY expires_at, id`);
  return rows.map((r) => ({ ...toRow(r), remainingMs: Number(r.remaining_ms) }));
}

/** Rows that account for app-granted memberships on a cluster: active grants and grants in flight. */
export async function openRows(q: Queryable, clusterId: string): Promise<Pick<LedgerRow, "id" | "role" | "dbUser" | "status">[]> {
  const { rows } = await q.query(
    `SELECT id::int8 AS id, role, db_user, status FROM ledger WHERE cluster_id = $1 AND status IN ('active', 'intent')`, [clusterId]);
  return rows.map((r) => ({ id: Number(r.id), role: r.role, dbUser: r.db_user, status: r.status }));
}

/** Intents nobody holds a lock on, i.e. not in flight: left behind by a crash (or about to be locked). */
export async function lockIdleIntents(client: pg.PoolClient, clusterId: string): Promise<(LedgerRow & { stale: boolean })[]> {
  const { rows } = await client.query(
    `SELECT ${COLUMNS}, clock_timestamp() - created_at > interval '10 minutes' AS stale FROM ledger
      WHERE cluster_id = $1 AND status = 'intent' FOR UPDATE SKIP LOCKED`, [clusterId]);
  return rows.map((r) => ({ ...toRow(r), stale: r.stale as boolean }));
}
