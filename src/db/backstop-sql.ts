// The in-database expiry backstop (docs/actions-mode.md): a table of the memberships the app
// granted, mirrored from the ledger at grant and extension time, and a pg_cron job that revokes
// every one past its expiry each minute, as the app's role and with nothing more than its rights.
// Static text only: no request data, no identifier from outside is ever spliced into it; names are
// resolved from OIDs inside the function at revoke time (a rename cannot make it skip, I15).

/** The pg_cron job's name; cron.schedule with an existing name of the same user replaces it. */
export const BACKSTOP_JOB = "jit-backstop";
export const BACKSTOP_SCHEDULE = "* * * * *";

/** What a DBA runs once (as a superuser) before `jit backstop install`; printed when it is missing. */
export function backstopDbaSql(appRole: string, cronDatabase: string): string[] {
  const app = `"${appRole.replace(/"/g, '""')}"`;
  return [
    `-- postgresql.conf: shared_preload_libraries = 'pg_cron', cron.database_name = '${cronDatabase}'; then restart`,
    `-- in database ${cronDatabase}:`,
    "CREATE EXTENSION IF NOT EXISTS pg_cron;",
    `GRANT USAGE ON SCHEMA cron TO ${app};`,
    `CREATE SCHEMA IF NOT EXISTS jit_backstop AUTHORIZATION ${app};`,
  ];
}

/**
 * Statements `jit backstop install` runs as the app's role in pg_cron's database, in order; each is
 * one statement (a function body is one). Idempotent: a second install replaces the function and job.
 */
export const BACKSTOP_INSTALL: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS jit_backstop.grants (
     ledger_id      bigint      PRIMARY KEY,
     role_oid       oid         NOT NULL,
     member_oid     oid         NOT NULL,
     grantor_oid    oid         NOT NULL,
     expires_at     timestamptz NOT NULL,
     mirrored_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
     revoked_at     timestamptz,
     outcome        text,
     sessions_ended integer
   )`,
  "CREATE INDEX IF NOT EXISTS grants_due ON jit_backstop.grants (expires_at) WHERE revoked_at IS NULL",
  "REVOKE ALL ON SCHEMA jit_backstop FROM PUBLIC",
  "REVOKE ALL ON TABLE jit_backstop.grants FROM PUBLIC",
  `CREATE OR REPLACE FUNCTION jit_backstop.revoke_expired() RETURNS integer
     LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
   DECLARE
     g record;
     n integer := 0;
     ended integer;
     role_name name;
     member_name name;
   BEGIN
     FOR g IN SELECT b.ledger_id, b.role_oid, b.member_oid, b.grantor_oid FROM jit_backstop.grants b
               WHERE b.revoked_at IS NULL AND b.expires_at <= now() ORDER BY b.expires_at FOR UPDATE SKIP LOCKED LOOP
       BEGIN
         -- I7, I8: only a membership this very role granted (PG15 keeps one row per role and member).
         IF NOT EXISTS (SELECT 1 FROM pg_auth_members am WHERE am.roleid = g.role_oid AND am.member = g.member_oid AND am.grantor = g.grantor_oid) THEN
           UPDATE jit_backstop.grants SET revoked_at = now(), outcome = 'absent', sessions_ended = 0 WHERE ledger_id = g.ledger_id;
           CONTINUE;
         END IF;
         -- I15: a membership granted by a former app role is not this role's to revoke: the app reports it.
         IF g.grantor_oid <> (SELECT oid FROM pg_roles WHERE rolname = current_user) THEN
           UPDATE jit_backstop.grants SET outcome = 'former grantor' WHERE ledger_id = g.ledger_id;
           CONTINUE;
         END IF;
         -- I16: another grant of the same membership that has not expired keeps it.
         IF EXISTS (SELECT 1 FROM jit_backstop.grants o WHERE o.role_oid = g.role_oid AND o.member_oid = g.member_oid
                     AND o.ledger_id <> g.ledger_id AND o.revoked_at IS NULL AND o.expires_at > now()) THEN
           UPDATE jit_backstop.grants SET revoked_at = now(), outcome = 'held by another grant', sessions_ended = 0 WHERE ledger_id = g.ledger_id;
           CONTINUE;
         END IF;
         SELECT rolname INTO role_name FROM pg_roles WHERE oid = g.role_oid;
         SELECT rolname INTO member_name FROM pg_roles WHERE oid = g.member_oid;
         EXECUTE format('REVOKE %I FROM %I GRANTED BY %I', role_name, member_name, current_user);
         ended := 0;
         -- PG16+: the app role inherits pg_signal_backend; on PG15 (NOINHERIT) the app's next sweep
         -- ends the sessions. The function call sits in the select list, filtered by user and pid.
         IF pg_has_role(current_user, 'pg_signal_backend', 'USAGE') THEN
           SELECT count(*) INTO ended FROM (SELECT pg_terminate_backend(a.pid) AS t FROM pg_stat_activity a
                                              WHERE a.usename = member_name AND a.pid <> pg_backend_pid()) s WHERE s.t;
         END IF;
         UPDATE jit_backstop.grants SET revoked_at = now(), outcome = 'revoked', sessions_ended = ended WHERE ledger_id = g.ledger_id;
         n := n + 1;
       EXCEPTION WHEN OTHERS THEN
         UPDATE jit_backstop.grants SET outcome = left('error: ' || SQLERRM, 300) WHERE ledger_id = g.ledger_id;
       END;
     END LOOP;
     RETURN n;
   END
   $fn$`,
  "REVOKE ALL ON FUNCTION jit_backstop.revoke_expired() FROM PUBLIC",
  `SELECT cron.schedule('${BACKSTOP_JOB}', '${BACKSTOP_SCHEDULE}', 'SELECT jit_backstop.revoke_expired()')`,
];
