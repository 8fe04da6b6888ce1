-- Who changed a pull request's head or base (I13): the sender of each pull_request delivery with
-- action opened, reopened, synchronize, or edited with a new base. They are never eligible
-- approvers of that pull request. One row per (PR, login, action, head), so redeliveries add nothing.
CREATE TABLE pushers (
  repository  text        NOT NULL,   -- owner/name
  pr_number   integer     NOT NULL,
  login       text        NOT NULL,   -- lowercase
  action      text        NOT NULL,
  head_sha    text        NOT NULL,
  delivery_id text        NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (repository, pr_number, login, action, head_sha)
);
