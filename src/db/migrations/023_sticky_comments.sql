-- The sticky comment this App made on a pull request (I19: only an App-authored comment is ever
-- edited) and a hash of the body it last wrote: an unchanged body is not written again, a changed
-- one is edited by id without listing the PR's comments first.
CREATE TABLE sticky_comments (
  repository  text        NOT NULL,   -- owner/name
  pr_number   integer     NOT NULL,
  comment_id  bigint      NOT NULL,
  body_sha256 text        NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (repository, pr_number)
);
