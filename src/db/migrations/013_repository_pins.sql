-- I10: the GitHub id of each access repository the operator named, pinned the first time the app
-- sees it. A repository deleted and re-created under the same name (or a transfer that frees the
-- name) has another id and is refused (JIT_REPO_ID_CHANGED) until an operator deletes the pin.
CREATE TABLE repository_pins (
  name      text        PRIMARY KEY,   -- owner/name, lowercase
  repo_id   bigint      NOT NULL,
  pinned_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
