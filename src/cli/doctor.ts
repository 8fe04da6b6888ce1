// `jit doctor [--repo DIR] [--database KEY] [--format text|json]`: checks, in each target database
// the policies name, the app's role (invariant I5) and every grantable role with every role it is a
// member of (invariants I4, I14), plus logins whose settings start their sessions as one, and
// prints the SQL that fixes each problem. Read-only: it never changes a database.
// Exit 0 healthy, 1 problems found, 2 usage/configuration error or a database it cannot connect to.
import type { Policy } from "../core/types.ts";
import type { Finding } from "../db/finding.ts";
import { formerAppGrants } from "../db/former-grants.ts";
import { clusterGrantors } from "../db/ledger.ts";
import { createPool } from "../db/state.ts";
import { inspectAppRole } from "../db/inspect-app.ts";
import { inspectGrantableRole } from "../db/inspect-role.ts";
import { inspectRoleSettings } from "../db/window-residue.ts";
import { appRoleScope } from "../db/scope.ts";
import { TargetError, Targets } from "../db/targets.ts";
import { parseCommand } from "./args.ts";
import { backstopStatusOf, describeBackstop } from "./backstop.ts";
import type { CliIo } from "./io.ts";
import { loadPoliciesForCli } from "./load-policies.ts";

const USAGE = `usage: jit doctor [--repo DIR] [--database KEY] [--format text|json]

Checks the app's database role and every grantable role of the policies in each target database,
and prints the SQL that fixes each problem. Connects with the variables the policies name; with
DATABASE_URL it also reports memberships granted by a former app role the ledger recorded (I15).
Exit status: 0 healthy, 1 problems found, 2 usage error or a database that cannot be reached.`;

export interface DatabaseReport {
  database: string;
  env: string;
  connected: boolean;
  error?: { code: string; message: string };
  pgMajor?: number;
  appRole?: string;
  app: Finding[];
  roles: { role: string; findings: Finding[] }[];
  /** I15: memberships granted by a former app role the ledger recorded (needs DATABASE_URL). */
  formerGrants: Finding[];
  /** The in-database expiry backstop (pg_cron) on this cluster, and so the revoke lag's bound. Information, not a problem. */
  backstop?: string;
}

export async function diagnose(policy: Policy, env: NodeJS.ProcessEnv, keys: string[]): Promise<DatabaseReport[]> {
  const targets = new Targets(policy, env, 1);
  // The ledger says which app roles ever granted on each cluster; without DATABASE_URL that check is skipped.
  const state = env.DATABASE_URL ? createPool({ connectionString: env.DATABASE_URL, max: 1, application_name: "jit-doctor" }) : null;
  const out: DatabaseReport[] = [];
  try {
    for (const key of keys) {
      const report: DatabaseReport = { database: key, env: targets.envName(key), connected: false, app: [], roles: [], formerGrants: [] };
      out.push(report);
      try {
        const info = await targets.info(key);
        Object.assign(report, { connected: true, pgMajor: info.pgMajor, appRole: info.appRole });
        const scope = await appRoleScope(targets, key);
        const client = await targets.connect(key);
        try {
          report.app = await inspectAppRole(client, info, scope);
          for (const role of Object.keys(policy.databases[key]!.roles).sort()) {
            // I4/I14 on the role and its closure, plus logins set to start their sessions as it.
            report.roles.push({ role, findings: [...await inspectGrantableRole(client, role, info.pgMajor), ...await inspectRoleSettings(client, role)] });
          }
          if (state) report.formerGrants = await formerAppGrants(client, info, await clusterGrantors(state, info.clusterId));
        } finally {
          client.release();
        }
        report.backstop = await backstopStatusOf(env[report.env]!).then(describeBackstop, (e: unknown) => `unknown (${(e as Error).message})`);
      } catch (e) {
        report.connected = report.connected && !(e instanceof TargetError);
        report.error = { code: e instanceof TargetError ? e.code : "JIT_DB_UNREACHABLE", message: (e as Error).message };
      }
    }
  } finally {
    await targets.close();
    await state?.end();
  }
  return out;
}

function printFindings(io: CliIo, label: string, findings: Finding[]): void {
  if (!findings.length) {
    io.out(`  ok   ${label}`);
    return;
  }
  for (const f of findings) {
    io.out(`  FAIL ${label}: ${f.code}: ${f.message}`);
    if (f.fix.length) {
      io.out("       fix:");
      for (const line of f.fix) io.out(`         ${line}`);
    }
  }
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parseCommand(argv, io, {
    command: "doctor", usage: USAGE, options: { repo: { type: "string" }, database: { type: "string" } }, formats: ["text", "json"],
  });
  if (typeof args === "number") return args;
  const { values } = args;
  const policy = await loadPoliciesForCli(io, "doctor", values.repo ?? io.cwd);
  if (policy === 2) return 2;
  const all = Object.keys(policy.databases).sort();
  if (values.database !== undefined && !all.includes(values.database)) {
    io.err(`jit doctor: no policy defines database "${values.database}" (known: ${all.join(", ") || "none"})`);
    return 2;
  }
  const reports = await diagnose(policy, io.env, values.database !== undefined ? [values.database] : all);
  const unreachable = reports.some((r) => r.error);
  const problems = reports.some((r) => r.app.length || r.roles.some((x) => x.findings.length) || r.formerGrants.length);

  if (args.format === "json") {
    io.out(JSON.stringify({ ok: !unreachable && !problems, databases: reports }, null, 2));
  } else {
    for (const r of reports) {
      io.out(`database ${r.database} (${r.env}${r.connected ? `, PostgreSQL ${r.pgMajor}, app role "${r.appRole}"` : ""})`);
      if (r.error) {
        io.out(`  FAIL cannot check: ${r.error.code}: ${r.error.message}`);
        continue;
      }
      printFindings(io, `app role "${r.appRole}"`, r.app);
      for (const x of r.roles) printFindings(io, `grantable role "${x.role}"`, x.findings);
      if (r.formerGrants.length) printFindings(io, "memberships granted by a former app role", r.formerGrants);
      if (r.backstop) io.out(`  info expiry backstop: ${r.backstop}`);
    }
    io.out(unreachable ? "doctor: some databases could not be checked" : problems ? "doctor: problems found; run the fix SQL above as a superuser" : "doctor: healthy");
  }
  return unreachable ? 2 : problems ? 1 : 0;
}
