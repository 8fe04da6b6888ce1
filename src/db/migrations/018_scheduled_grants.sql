-- Scheduled start: a merged request whose `start` lies ahead is recorded here, not in the ledger
-- (nothing is granted yet). At starts_at the scheduler re-verifies and grants through the engine
-- (a ledger row then exists); a merged deletion before that cancels it. One row per request id,
-- so a scheduled, cancelled or refused id is used up like a ledger one (I9).
CREATE TABLE scheduled_grants (
  id           bigserial   PRIMARY KEY,
  repository   text        NOT NULL,
  path         text        NOT NULL,
  database     text        NOT NULL,
  request_id   text        NOT NULL,
  pr_number    integer     NOT NULL,
  head_sha     text        NOT NULL,
  merge_sha    text,
  merged_at    timestamptz NOT NULL,
  requester    text        NOT NULL,
  approvers    text[]      NOT NULL DEFAULT '{}',
  role         text        NOT NULL,
  db_user      text        NOT NULL,
  duration_ms  bigint      NOT NULL CHECK (duration_ms > 0),
  duration     text        NOT NULL,          -- as the request wrote it, e.g. "2h"
  reason       text        NOT NULL,
  ticket       text,
  starts_at    timestamptz NOT NULL,
  status       text        NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'activated', 'cancelled', 'refused')),
  closed_at    timestamptz,
  close_code   text,
  close_reason text,
  actor        text        NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  CONSTRAINT scheduled_request_once UNIQUE (repository, database, request_id),
  CONSTRAINT scheduled_closed_has_time CHECK (status = 'scheduled' OR closed_at IS NOT NULL)
);
-- The activation pass and the timer read only pending rows: cost does not grow with history.
CREATE INDEX scheduled_due ON scheduled_grants (starts_at) WHERE status = 'scheduled';

-- Break-glass: a grant made from an open pull request without approval. One row per request id;
-- status open until an eligible approval and merge confirm it, or the deadline passes (expired:
-- revoked, PR closed, incident filed). One open break-glass per person, enforced here so two
-- concurrent requests cannot both pass.
CREATE TABLE break_glass_grants (
  id          bigserial   PRIMARY KEY,
  repository  text        NOT NULL,
  database    text        NOT NULL,
  request_id  text        NOT NULL,
  pr_number   integer     NOT NULL,
  requester   text        NOT NULL,
  db_user     text        NOT NULL,
  head_sha    text        NOT NULL,
  deadline    timestamptz NOT NULL,
  status      text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'confirmed', 'expired')),
  closed_at   timestamptz,
  created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  CONSTRAINT break_glass_request_once UNIQUE (repository, database, request_id)
);
CREATE UNIQUE INDEX break_glass_one_open ON break_glass_grants (lower(requester)) WHERE status = 'open';
CREATE INDEX break_glass_due ON break_glass_grants (deadline) WHERE status = 'open';
