-- I15: what a revoke needs, recorded at grant time, so no later change of configuration (a rotated
-- app role, a renamed connection variable, an edited or deleted policy) can make it skip or lie.
-- OIDs are stored as bigint (oid is unsigned 32-bit). Rows from before this migration keep NULLs
-- and are revoked by name through their database key, as before.
ALTER TABLE ledger
  ADD COLUMN connection_env text,      -- the variable's NAME, never its value
  ADD COLUMN grantor_role   text,
  ADD COLUMN grantor_oid    bigint,
  ADD COLUMN role_oid       bigint,
  ADD COLUMN member_oid     bigint;

-- Every app role that ever granted on a cluster: a revoke verifies that no membership granted by
-- any of them remains, and `jit doctor` reports memberships held through a former one. One row
-- per (cluster, role), so the look-up does not grow with the ledger.
CREATE TABLE app_grantors (
  cluster_id   text        NOT NULL,
  grantor_oid  bigint      NOT NULL,
  grantor_role text        NOT NULL,
  first_seen   timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (cluster_id, grantor_oid)
);
