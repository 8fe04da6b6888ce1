// Target databases: one pool per database key of the policies, connected with the connection string
// in the environment variable the policy names. Request data never reaches a connection string:
// the only input is a database key that must already exist in the (base-branch) policy.
import { JitError } from "../core/errors.ts";
import type pg from "pg";
import type { Policy } from "../core/types.ts";
import type { Problem } from "../core/problem.ts";
import { sameConnection, sharedRoleProblems } from "../core/shared-roles.ts";
import { createPool } from "./state.ts";
import { query } from "./executor.ts";

export class TargetError extends JitError {}

export interface TargetInfo {
  /** The app's role on this target (current_user). */
  appRole: string;
  /** The app role's OID (I15: recorded as the grantor; names can be renamed, OIDs cannot). */
  appRoleOid: string;
  pgMajor: number;
  /** system_identifier: memberships are per cluster, so drift is compared per cluster. */
  clusterId: string;
  database: string;
  /**
   * I16 when the system identifier cannot be read: a digest of what every session of one server
   * sees alike (its start time and the shared database list), or null when that is refused too.
   */
  serverPrint?: string | null;
}

export class Targets {
  private pools = new Map<string, pg.Pool>();
  private infos = new Map<string, Promise<TargetInfo>>();

  readonly policy: Policy;
  private readonly env: NodeJS.ProcessEnv;
  private readonly poolMax: number;

  constructor(policy: Policy, env: NodeJS.ProcessEnv, poolMax = 4) {
    this.policy = policy;
    this.env = env;
    this.poolMax = poolMax;
  }

  keys(): string[] {
    return Object.keys(this.policy.databases).sort();
  }

  /** The environment variable name (never its value) a database key connects with. */
  envName(key: string): string {
    const db = Object.hasOwn(this.policy.databases, key) ? this.policy.databases[key] : undefined;
    if (!db) throw new TargetError("JIT_DATABASE_UNKNOWN", `no policy defines database "${key}"`);
    return db.connectionEnv;
  }

  configured(key: string): boolean {
    return Boolean(this.env[this.envName(key)]);
  }

  pool(key: string): pg.Pool {
    return this.poolVia(this.envName(key), `database "${key}"`);
  }

  /** True when the variable is set (I15: a revoke connects through the variable its grant recorded). */
  hasEnv(name: string): boolean {
    return Boolean(this.env[name]);
  }

  /** The pool of one connection variable, whichever database key (today's or a former one) names it. */
  poolVia(name: string, label = `variable ${name}`): pg.Pool {
    const existing = this.pools.get(name);
    if (existing) return existing;
    const connectionString = this.env[name];
    if (!connectionString) {
      throw new TargetError("JIT_CONFIG_MISSING_ENV", `environment variable ${name} (connection for ${label}) is not set`);
    }
    const pool = createPool({ connectionString, max: this.poolMax, application_name: "jit-access" });
    this.pools.set(name, pool);
    return pool;
  }

  async connect(key: string): Promise<pg.PoolClient> {
    return this.connectVia(this.envName(key), `database "${key}"`);
  }

  async connectVia(name: string, label = `variable ${name}`): Promise<pg.PoolClient> {
    const pool = this.poolVia(name, label);
    try {
      return await pool.connect();
    } catch (e) {
      // The driver's message can name host and user but not the password; keep it short anyway.
      throw new TargetError("JIT_DB_UNREACHABLE", `cannot connect to ${label} (${name}): ${(e as Error).message}`);
    }
  }

  /** Facts about the target a connection variable reaches, read once per variable. */
  infoVia(name: string, fallbackKey: string): Promise<TargetInfo> {
    const k = `env:${name}`;
    let p = this.infos.get(k);
    if (!p) {
      p = this.readInfoVia(name, fallbackKey, `variable ${name}`);
      this.infos.set(k, p);
      p.catch(() => this.infos.delete(k));
    }
    return p;
  }

  /** Facts about the target, read once per key. */
  info(key: string): Promise<TargetInfo> {
    let p = this.infos.get(key);
    if (!p) {
      p = this.readInfo(key);
      this.infos.set(key, p);
      p.catch(() => this.infos.delete(key));
    }
    return p;
  }

  private readInfo(key: string): Promise<TargetInfo> {
    return this.readInfoVia(this.envName(key), key, `database "${key}"`);
  }

  private async readInfoVia(name: string, key: string, label: string): Promise<TargetInfo> {
    const client = await this.connectVia(name, label);
    try {
      const { rows } = await query<{ app: string; app_oid: string; num: string; db: string }>(client,
        `SELECT current_user::text AS app, (SELECT oid FROM pg_roles WHERE rolname = current_user)::text AS app_oid,
                current_setting('server_version_num') AS num, current_database()::text AS db`);
      const row = rows[0]!;
      let clusterId = `key:${key}`;
      try {
        const r = await query<{ id: string }>(client, "SELECT system_identifier::text AS id FROM pg_control_system()");
        if (r.rows[0]?.id) clusterId = r.rows[0].id;
      } catch {
        // EXECUTE revoked from PUBLIC: fall back to one cluster per database key
      }
      let serverPrint: string | null = null;
      try {
        const r = await query<{ fp: string }>(client, `SELECT md5(pg_postmaster_start_time()::text || ' ' ||
          (SELECT string_agg(oid::text || '=' || datname, ',' ORDER BY oid) FROM pg_database)) AS fp`);
        serverPrint = r.rows[0]?.fp ?? null;
      } catch {
        // refused as well: sharedRole treats the key as a possible twin of every other
      }
      return { appRole: row.app, appRoleOid: row.app_oid, pgMajor: Math.floor(Number(row.num) / 10000), clusterId, database: row.db, serverPrint };
    } finally {
      client.release();
    }
  }

  /**
   * I16 at runtime: JIT_ROLE_SHARED_ACROSS_KEYS when another key allowlists `role` under other rules
   * and reaches the same cluster, by configuration, by system identifier or (when that may not be
   * read) by server start time and database list. Fails closed: a configured key that cannot be
   * reached now, or whose server cannot be told apart, counts as the same cluster.
   */
  async sharedRole(key: string, role: string): Promise<Problem[]> {
    const infos = new Map<string, TargetInfo | undefined>([[key, await this.info(key)]]);
    for (const other of this.keys()) {
      if (other === key || !Object.hasOwn(this.policy.databases[other]!.roles, role) || !this.configured(other)) continue;
      infos.set(other, await this.info(other).catch(() => undefined));
    }
    const byConfig = sameConnection(this.policy, this.env);
    return sharedRoleProblems(this.policy, (a, b) => {
      const why = byConfig(a, b);
      if (why !== null || !infos.has(a) || !infos.has(b)) return why;
      const [x, y] = [infos.get(a), infos.get(b)];
      if (!x || !y) return `a cluster the app cannot tell apart (the connection for "${x ? b : a}" fails now)`;
      const known = (i: TargetInfo) => !i.clusterId.startsWith("key:");
      if (known(x) && known(y)) return x.clusterId === y.clusterId ? "the same cluster (equal system identifiers)" : null;
      if (!x.serverPrint || !y.serverPrint) return "a cluster the app cannot tell apart (its system identifier may not be read)";
      return x.serverPrint === y.serverPrint ? "the same server (equal start time and databases)" : null;
    }, { key, role });
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    this.infos.clear();
    await Promise.all(pools.map((p) => p.end().catch(() => {})));
  }
}
