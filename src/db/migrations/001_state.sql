-- State database: what the app granted (ledger), every transition (events), webhook deliveries
-- seen, and GitHub side effects still to do (outbox). Times are the database's own clock.

CREATE TABLE ledger (
  id             bigserial PRIMARY KEY,
  repository     text        NOT NULL,
  path           text        NOT NULL,
  request_id     text        NOT NULL,
  pr_number      integer,
  head_sha       text,
  merge_sha      text,
  approvers      text[]      NOT NULL DEFAULT '{}',
  database       text        NOT NULL,
  -- system_identifier of the target cluster: memberships are cluster-wide, drift is per cluster
  cluster_id     text        NOT NULL,
  role           text        NOT NULL,
  db_user        text        NOT NULL,
  duration_ms    bigint      NOT NULL CHECK (duration_ms > 0),
  status         text        NOT NULL CHECK (status IN ('intent', 'active', 'revoked', 'failed')),
  created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  granted_at     timestamptz,
  expires_at     timestamptz,
  revoked_at     timestamptz,
  revoke_reason  text,
  revoked_by     text,
  failure_code   text,
  sql_executed   jsonb       NOT NULL DEFAULT '[]',
  sessions_ended integer     NOT NULL DEFAULT 0,
  verification   jsonb       NOT NULL DEFAULT '{}',
  actor          text        NOT NULL,
  -- request ids are single-use: one row per (repository, database, request id), whatever git does
  CONSTRAINT ledger_request_once UNIQUE (repository, database, request_id),
  CONSTRAINT ledger_active_has_times CHECK (status <> 'active' OR (granted_at IS NOT NULL AND expires_at IS NOT NULL)),
  CONSTRAINT ledger_revoked_has_time CHECK (status <> 'revoked' OR revoked_at IS NOT NULL)
);

-- The sweep reads only active rows: its cost does not grow with history.
CREATE INDEX ledger_due ON ledger (expires_at) WHERE status = 'active';
-- Drift checks: is this (cluster, role, member) covered by an active or in-flight row?
CREATE INDEX ledger_open_member ON ledger (cluster_id, role, db_user) WHERE status IN ('active', 'intent');

CREATE TABLE events (
  id          bigserial   PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT clock_timestamp(),
  ledger_id   bigint,
  kind        text        NOT NULL,
  code        text,
  repository  text,
  database    text,
  request_id  text,
  actor       text,
  details     jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX events_ledger ON events (ledger_id);
CREATE INDEX events_kind_at ON events (kind, at);

CREATE FUNCTION jit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'events are append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION jit_events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION jit_events_append_only();

CREATE TABLE deliveries (
  delivery_id  text        PRIMARY KEY,   -- X-GitHub-Delivery
  event        text        NOT NULL,
  action       text,
  received_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  processed_at timestamptz,
  outcome      text
);

CREATE TABLE outbox (
  id              bigserial   PRIMARY KEY,
  kind            text        NOT NULL,           -- e.g. revert_pr, comment
  dedupe_key      text        NOT NULL UNIQUE,    -- one side effect per key, however often enqueued
  payload         jsonb       NOT NULL,
  attempts        integer     NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  last_error      text,
  created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  done            boolean     NOT NULL DEFAULT false,
  done_at         timestamptz
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE NOT done;
