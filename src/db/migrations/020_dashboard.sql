-- The dashboard issue of each access repository (src/jobs/dashboard.ts): its number, remembered so
-- it is edited in place and never re-created while it exists, and a fingerprint of what it last
-- showed, so an unchanged dashboard costs no GitHub call.
CREATE TABLE dashboard_issues (
  repository   text        PRIMARY KEY,   -- owner/name as the ledger spells it
  issue_number integer,
  fingerprint  text,
  written_at   timestamptz,
  updated_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Open request pull requests as their last check saw them (src/usecases/check.ts), for the
-- dashboard's "pending" section: the app's own conclusion and whom the request waits for. Rows go
-- when the pull request closes.
CREATE TABLE pending_requests (
  repository  text        NOT NULL,
  pr_number   integer     NOT NULL,
  database    text,
  request_id  text,
  requester   text        NOT NULL,
  role        text,
  conclusion  text        NOT NULL,
  code        text        NOT NULL,
  approvals   integer     NOT NULL DEFAULT 0,
  required    integer     NOT NULL DEFAULT 0,
  waiting_for text[]      NOT NULL DEFAULT '{}',
  head_sha    text,
  checked_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (repository, pr_number)
);

-- What the grantee did during a window (src/db/activity.ts): samples of pg_stat_activity and
-- pg_stat_statements for the login, taken at grant and at revoke on the target, so the revert PR
-- and `jit audit` can summarize the window. Only what the app role may see is stored: pids,
-- application names (and backend start and client address where visible), and statement counts
-- and rows (normalized statement text only where visible). Append-only by convention.
CREATE TABLE activity_samples (
  id         bigserial   PRIMARY KEY,
  ledger_id  bigint      NOT NULL,
  phase      text        NOT NULL CHECK (phase IN ('grant', 'tick', 'revoke')),
  at         timestamptz NOT NULL DEFAULT clock_timestamp(),
  sample     jsonb       NOT NULL
);
CREATE INDEX activity_samples_ledger ON activity_samples (ledger_id, id);
