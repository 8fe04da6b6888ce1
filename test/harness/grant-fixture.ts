// A target database prepared as docs/database.md says (app role per docs/database.md for the major
// under test, pure grantable roles, ordinary logins), a state database on the same test cluster,
// and a GrantEngine wired to both. One per test file, on that file's cluster.
import pg from "pg";
import type { DatabasePolicy, Policy, RolePolicy } from "../../src/core/types.ts";
import { GrantEngine, type EngineHooks, type GrantInput } from "../../src/db/grantor.ts";
import { migrate } from "../../src/db/migrations.ts";
import { createPool } from "../../src/db/state.ts";
import { Targets } from "../../src/db/targets.ts";
import type { TestCluster } from "./postgres.ts";

export const DB_KEY = "orders-prod";
export const ENV_NAME = "ORDERS_PROD_DATABASE_URL";
export const TARGET_DB = "orders";
export const STATE_DB = "jit_state";
export const APP = "jit_app";

export function rolePolicy(maxDuration = "8h", maxDurationMs = 8 * 3_600_000): RolePolicy {
  return { maxDuration, maxDurationMs, approvals: 1, approvers: ["@acme/dba"], requireTicket: false };
}

export function makePolicy(roles: string[], extra: Partial<DatabasePolicy> = {}): Policy {
  return {
    databases: {
      [DB_KEY]: { connectionEnv: ENV_NAME, roles: Object.fromEntries(roles.map((r) => [r, rolePolicy()])), source: "policies/orders.yaml", ...extra },
    },
    identities: {},
  };
}

/** SQL creating the app role for a major, exactly as docs/database.md prints it. */
export function appRoleSql(major: number, app: string, grantable: string[]): string[] {
  if (major >= 16) {
    return [
      `CREATE ROLE ${app} LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS`,
      ...grantable.map((r) => `GRANT ${r} TO ${app} WITH ADMIN TRUE, INHERIT FALSE, SET FALSE`),
      `GRANT pg_signal_backend TO ${app} WITH INHERIT TRUE, SET FALSE`,
    ];
  }
  return [
    `CREATE ROLE ${app} LOGIN NOINHERIT NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS`,
    ...grantable.map((r) => `GRANT ${r} TO ${app} WITH ADMIN OPTION`),
    `GRANT pg_signal_backend TO ${app}`,
  ];
}

/** A pure privilege bundle: NOLOGIN, owns nothing, only ordinary privileges on the orders table. */
export function grantableRoleSql(role: string, privileges = "SELECT"): string[] {
  return [
    `CREATE ROLE ${role} NOLOGIN`,
    `GRANT CONNECT ON DATABASE ${TARGET_DB} TO ${role}`,
    `GRANT USAGE ON SCHEMA public TO ${role}`,
    `GRANT ${privileges} ON public.orders TO ${role}`,
  ];
}

export interface GrantFixture {
  cluster: TestCluster;
  major: number;
  /** Superuser on the target database. */
  su: pg.Client;
  /** Superuser on the state database. */
  stateSu: pg.Client;
  state: pg.Pool;
  targets: Targets;
  policy: Policy;
  env: NodeJS.ProcessEnv;
  engine: GrantEngine;
  appUrl(app?: string): string;
  newEngine(opts?: { policy?: Policy; env?: NodeJS.ProcessEnv; hooks?: EngineHooks }): { engine: GrantEngine; targets: Targets };
  input(requestId: string, over?: Partial<GrantInput>): GrantInput;
  /** Memberships of `role` with the grantor = app role, as pg_auth_members has them. */
  appGranted(role?: string): Promise<{ role: string; member: string; admin: boolean }[]>;
  login(user: string): Promise<pg.Client>;
  close(): Promise<void>;
}

export async function setupGrantFixture(cluster: TestCluster, opts: { roles?: string[]; logins?: string[] } = {}): Promise<GrantFixture> {
  const roles = opts.roles ?? ["orders_readonly", "orders_admin"];
  const logins = opts.logins ?? ["alice", "bob", "carol"];
  const admin = await cluster.connect();
  await admin.query(`CREATE DATABASE ${TARGET_DB}`);
  await admin.query(`CREATE DATABASE ${STATE_DB}`);
  await admin.end();

  const su = await cluster.connect("postgres", TARGET_DB);
  const major = Math.floor(Number((await su.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v) / 10000);
  await su.query("CREATE TABLE public.orders (id int PRIMARY KEY, total numeric NOT NULL)");
  await su.query("INSERT INTO public.orders SELECT g, g * 1.5 FROM generate_series(1, 5000) g");
  for (const r of roles) for (const s of grantableRoleSql(r, r.endsWith("_admin") ? "SELECT, INSERT, UPDATE" : "SELECT")) await su.query(s);
  for (const s of appRoleSql(major, APP, roles)) await su.query(s);
  for (const l of logins) await su.query(`CREATE ROLE ${l} LOGIN`);

  const stateSu = await cluster.connect("postgres", STATE_DB);
  const state = createPool({ connectionString: cluster.superuserUrl(STATE_DB), max: 10 });
  await migrate(state);

  const appUrl = (app = APP) => `postgresql://${app}@127.0.0.1:${cluster.port}/${TARGET_DB}`;
  const env = { [ENV_NAME]: appUrl() };
  const policy = makePolicy(roles);
  const engines: Targets[] = [];
  const newEngine: GrantFixture["newEngine"] = (o = {}) => {
    const targets = new Targets(o.policy ?? policy, o.env ?? env);
    engines.push(targets);
    return { engine: new GrantEngine(state, targets, o.policy ?? policy, o.hooks), targets };
  };
  const { engine, targets } = newEngine();
  const clients: pg.Client[] = [];

  return {
    cluster, major, su, stateSu, state, targets, policy, env, engine, appUrl, newEngine,
    input: (requestId, over = {}) => ({
      repository: "acme/access", path: `access-requests/${DB_KEY}/${requestId}.yaml`, requestId, prNumber: 12,
      headSha: "a".repeat(40), mergeSha: "b".repeat(40), approvers: ["dba-dana"], database: DB_KEY,
      role: "orders_readonly", dbUser: "alice", durationMs: 2 * 3_600_000, actor: "test", ...over,
    }),
    async appGranted(role) {
      const { rows } = await su.query<{ role: string; member: string; admin: boolean }>(`
        SELECT r.rolname AS role, m.rolname AS member, am.admin_option AS admin FROM pg_auth_members am
          JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
         WHERE am.grantor = $1::regrole AND ($2::text IS NULL OR r.rolname = $2) ORDER BY 1, 2`, [APP, role ?? null]);
      return rows;
    },
    async login(user) {
      const c = await cluster.connect(user, TARGET_DB);
      clients.push(c);
      return c;
    },
    async close() {
      // Bounded: a client a failed test never released must not hang teardown (and leak the cluster).
      const bounded = (p: Promise<unknown>) => Promise.race([p.catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
      await Promise.all(clients.map((c) => bounded(c.end())));
      await Promise.all(engines.map((t) => bounded(t.close())));
      await bounded(state.end());
      await bounded(stateSu.end());
      await bounded(su.end());
    },
  };
}

export async function ledgerRow(f: GrantFixture, requestId: string): Promise<Record<string, unknown> | undefined> {
  const { rows } = await f.stateSu.query("SELECT * FROM ledger WHERE request_id = $1", [requestId]);
  return rows[0];
}

export async function eventsFor(f: GrantFixture, requestId: string): Promise<{ kind: string; code: string | null }[]> {
  const { rows } = await f.stateSu.query<{ kind: string; code: string | null }>("SELECT kind, code FROM events WHERE request_id = $1 ORDER BY id", [requestId]);
  return rows;
}
