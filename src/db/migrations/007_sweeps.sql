-- Expiry sweeps (src/scheduler/): when each kind of sweeper last ran and succeeded, for the health
-- endpoint and the JIT_SWEEP_STALE alert. Shared by every replica and by `jit expire`, so "no sweep
-- succeeded for N minutes" means no sweeper anywhere, not "this process is not the leader".
CREATE TABLE sweeps (
  sweeper         text        PRIMARY KEY,   -- 'app' or 'cli'
  last_started_at timestamptz,
  last_success_at timestamptz,
  last_failure_at timestamptz,
  last_error      text,
  last_report     jsonb       NOT NULL DEFAULT '{}'
);

-- Recently expired grants whose revert PR was never queued (a crash between the revoke and the
-- outbox insert) are found by revoked_at; the index keeps that look-up independent of history.
CREATE INDEX ledger_revoked_at ON ledger (revoked_at) WHERE status = 'revoked';
