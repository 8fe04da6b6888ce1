-- Audit facts (docs/audit.md): what `jit audit` and `jit report` need and the grant path did not
-- keep, recorded right after a grant or extension from the same merge evaluation. Rows from before
-- this migration keep NULLs / empty arrays, and the audit says "not recorded".
ALTER TABLE ledger
  ADD COLUMN request_blob_sha text,                        -- the reviewed (and merged) blob of the request file
  ADD COLUMN reason           text,
  ADD COLUMN ticket           text,
  ADD COLUMN requester        text,                        -- the PR author (GitHub login)
  ADD COLUMN merged_at        timestamptz,                 -- GitHub's merge time
  ADD COLUMN approvals        jsonb NOT NULL DEFAULT '[]', -- [{login, reviewId, commitId, submittedAt}]
  ADD COLUMN decision         jsonb,                       -- the merge re-verification: {ok, code, message}
  ADD COLUMN extensions       jsonb NOT NULL DEFAULT '[]', -- per extension PR: {prNumber, mergeSha, mergedAt, blobSha, approvals}
  -- `jit rebuild` (docs/operations.md): rows reconstructed from GitHub after the state was lost, and
  -- which of their facts GitHub cannot prove (e.g. the verification after a GRANT or REVOKE).
  ADD COLUMN rebuilt_at       timestamptz,
  ADD COLUMN unproven         text[] NOT NULL DEFAULT '{}';

-- Reports read a period by creation time; the index keeps that independent of history's length.
CREATE INDEX ledger_created_at ON ledger (created_at);
