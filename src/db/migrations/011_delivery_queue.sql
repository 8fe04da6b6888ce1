-- Webhook deliveries become jobs (src/queue/): the HTTP request only verifies, stores and answers
-- 202; workers on any replica claim stored deliveries and run the handlers. A delivery id is stored
-- once, so a redelivery or a second replica never queues the same work twice.
--   recorded  seen outside the queue (rows from before this migration)
--   queued    waiting to run (next_attempt_at: not before; after a failure, the backoff)
--   running   claimed by a worker (locked_by) until lease_until; an expired lease is claimable again
--   done      handled; dead: failed max attempts, waits for `jit deliveries retry`
ALTER TABLE deliveries
  ADD COLUMN seq             bigserial,
  ADD COLUMN payload         jsonb,
  ADD COLUMN repository      text,
  -- deliveries with the same key run one at a time in arrival order (one pull request, or one repository)
  ADD COLUMN ordering_key    text,
  ADD COLUMN state           text NOT NULL DEFAULT 'recorded'
                             CHECK (state IN ('recorded', 'queued', 'running', 'done', 'dead')),
  ADD COLUMN attempts        integer NOT NULL DEFAULT 0,
  ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  ADD COLUMN lease_until     timestamptz,
  ADD COLUMN locked_by       text,
  ADD COLUMN last_error      text,
  ADD COLUMN finished_at     timestamptz;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_job_has_payload CHECK (state IN ('recorded') OR payload IS NOT NULL);
CREATE UNIQUE INDEX deliveries_seq ON deliveries (seq);
-- Claims and health read only open jobs: their cost does not grow with history.
CREATE INDEX deliveries_open ON deliveries (seq) WHERE state IN ('queued', 'running');
CREATE INDEX deliveries_open_key ON deliveries (ordering_key, seq) WHERE state IN ('queued', 'running');
CREATE INDEX deliveries_dead ON deliveries (seq) WHERE state = 'dead';

-- The lost-merge reconciler (src/jobs/lost-merges.ts): per access repository, closed pull requests
-- updated before the watermark were all handled.
CREATE TABLE merge_watermarks (
  repository text        PRIMARY KEY,
  watermark  timestamptz NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
