// `jit backstop install|status <database>`: the in-database expiry backstop on the cluster of a
// database key (docs/actions-mode.md). Install runs as the app's role with the key's connection
// variable, in pg_cron's database: a table mirrored from the ledger, a SECURITY DEFINER function
// owned by the app role (search_path pinned) and a pg_cron job that runs it every minute.
// Exit 0: installed (status: installed and active); 1: pg_cron or a DBA step is missing (the SQL is
// printed); 2: usage, configuration, or a database that cannot be reached.
import { backstopDbaSql, BACKSTOP_SCHEDULE } from "../db/backstop-sql.ts";
import { backstopStatus, connectBackstop, currentRole, installBackstop, type BackstopStatus } from "../db/backstop.ts";
import { parseCommand } from "./args.ts";
import type { CliIo } from "./io.ts";
import { loadPoliciesForCli } from "./load-policies.ts";

const USAGE = `usage: jit backstop install|status <database> [--repo DIR] [--format text|json]

The in-database expiry backstop: where pg_cron runs on the database's cluster, a job revokes every
app-made membership past its expiry each minute, with the app role's rights only; the app's next
sweep ends the sessions, verifies, closes the ledger and opens the revert PR.
  install    creates (or replaces) the backstop's table, function and pg_cron job as the app role
  status     says whether it is installed, active, and when it last ran
  --repo DIR checkout holding policies/ (default: current directory)
Connects with the connection variable the policies name for <database>.
Exit status: 0 installed, 1 pg_cron or a DBA step is missing (the SQL is printed), 2 usage or
configuration error or an unreachable database.`;

/** One line for `jit doctor` and the status command. */
export function describeBackstop(s: BackstopStatus): string {
  switch (s.kind) {
    case "no-pg-cron":
      return `not available (${s.why}): the revoke lag is bounded by the schedule (the app's sweep every 30 s; in actions mode jit-sweep every 15 minutes, when GitHub runs it)`;
    case "not-installed":
      return `not installed (missing: ${s.missing.join(", ")}; see jit backstop install): the revoke lag is bounded by the schedule (the app's sweep every 30 s; in actions mode jit-sweep every 15 minutes, when GitHub runs it)`;
    case "installed":
      return `installed in database "${s.cronDatabase}", job ${s.active ? "active" : "INACTIVE"} (${s.schedule}), ${s.pending} grant(s) watched, last run ${s.lastRun ?? "never"}: revoke lag at most about a minute past expiry`;
  }
}

/** The backstop's status on the cluster a connection string reaches. */
export async function backstopStatusOf(url: string): Promise<BackstopStatus> {
  const c = await connectBackstop(url);
  try {
    return await backstopStatus(c);
  } finally {
    await c.close().catch(() => {});
  }
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parseCommand(argv, io, { command: "backstop", usage: USAGE, positionals: true, options: { repo: { type: "string" } }, formats: ["text", "json"] });
  if (typeof args === "number") return args;
  const [action, database, ...rest] = args.positionals;
  if ((action !== "install" && action !== "status") || !database || rest.length) return args.usageError("give install or status, and one database key");
  const policy = await loadPoliciesForCli(io, "backstop", args.values.repo ?? io.cwd);
  if (policy === 2) return 2;
  const db = Object.hasOwn(policy.databases, database) ? policy.databases[database] : undefined;
  if (!db) return args.usageError(`no policy defines database "${database}"`);
  const url = io.env[db.connectionEnv];
  if (!url) {
    io.err(`jit backstop: JIT_CONFIG_MISSING_ENV: ${db.connectionEnv} is not set`);
    return 2;
  }
  let c;
  try {
    c = await connectBackstop(url);
  } catch (e) {
    io.err(`jit backstop: JIT_DB_UNREACHABLE: ${(e as Error).message}`);
    return 2;
  }
  try {
    let status = await backstopStatus(c);
    // Installed already: replaced by this version's function and job.
    if (action === "install" && (status.kind === "installed" || (status.kind === "not-installed" && !status.needsDba))) {
      await installBackstop(c);
      status = await backstopStatus(c);
    }
    const ok = status.kind === "installed" && status.active && status.schedule === BACKSTOP_SCHEDULE;
    if (args.format === "json") io.out(JSON.stringify({ ok, database, ...status }, null, 2));
    else {
      io.out(`backstop for ${database}: ${describeBackstop(status)}`);
      if (status.kind === "not-installed" && status.needsDba) {
        io.out("a superuser runs once:");
        for (const l of backstopDbaSql(await currentRole(c), status.cronDatabase)) io.out(`  ${l}`);
      }
      if (status.kind === "no-pg-cron") {
        io.out("with pg_cron (Debian: postgresql-<major>-cron) a superuser runs once:");
        for (const l of backstopDbaSql("<app role>", "<database>")) io.out(`  ${l}`);
      }
    }
    return ok ? 0 : 1;
  } catch (e) {
    io.err(`jit backstop: ${(e as Error).message}`);
    return 2;
  } finally {
    await c.close().catch(() => {});
  }
}
