// I16: the target login is bound by OID from check to grant. The check records which role the
// login name denotes (and on which cluster); the grant compares (src/db/preflight.ts).
import type { Queryable } from "./state.ts";

export interface BindingKey {
  repository: string;
  headSha: string;
  database: string;
  dbUser: string;
}

export interface TargetBinding {
  clusterId: string;
  /** The login's OID; null when it did not exist. */
  memberOid: string | null;
}

/** Records the binding unless one exists for this head; returns the one that counts (the first). */
export async function recordBinding(q: Queryable, key: BindingKey, b: TargetBinding): Promise<TargetBinding> {
  await q.query(
    `INSERT INTO target_bindings (repository, head_sha, database, db_user, cluster_id, member_oid)
     VALUES ($1, $2, $3, $4, $5, $6::oid) ON CONFLICT DO NOTHING`,
    [key.repository, key.headSha, key.database, key.dbUser, b.clusterId, b.memberOid]);
  return (await recordedBinding(q, key))!;
}

export async function recordedBinding(q: Queryable, key: BindingKey): Promise<TargetBinding | undefined> {
  const { rows } = await q.query<{ cluster_id: string; member_oid: string | null }>(
    `SELECT cluster_id, member_oid::text AS member_oid FROM target_bindings
      WHERE repository = $1 AND head_sha = $2 AND database = $3 AND db_user = $4`,
    [key.repository, key.headSha, key.database, key.dbUser]);
  const r = rows[0];
  return r ? { clusterId: r.cluster_id, memberOid: r.member_oid } : undefined;
}
