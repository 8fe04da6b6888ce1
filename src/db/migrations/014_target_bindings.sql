-- I16: the target login a check run showed, bound by OID, per head SHA. The merge of that head
-- refuses (JIT_TARGET_CHANGED) when the login is another role by then: a dropped and recreated
-- login is a different person. The first recording for a head wins: a re-run cannot launder a swap.
CREATE TABLE target_bindings (
  repository  text        NOT NULL,
  head_sha    text        NOT NULL,
  database    text        NOT NULL,
  db_user     text        NOT NULL,
  cluster_id  text        NOT NULL,
  member_oid  oid,                    -- NULL: the login did not exist when the check ran
  recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (repository, head_sha, database, db_user)
);
