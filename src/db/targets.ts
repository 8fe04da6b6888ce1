// Target databases: one pool per database key of the policies, connected with the connection string
// in the environment variable the policy names. Request data never reaches a connection string:
// the only input is a database key that must already exist in the (base-branch) policy.
import type pg from "pg";
import type { Policy } from "../core/types.ts";
import type { JitCode } from "../core/codes.ts";
import type { Problem } from "../core/problem.ts";
import { sameConnection, sharedRoleProblems } from "../core/shared-roles.ts";
import { createPool } from "./state.ts";
import { query } from "./executor.ts";

export class TargetError extends Error {
  readonly code: JitCode;
  constructor(code: JitCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface TargetInfo {
  /** The app's role on this target (current_user). */
  appRole: string;
  pgMajor: number;
  /** system_identifier: memberships are per cluster, so drift is compared per cluster. */
  clusterId: string;
  database: string;
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
    const existing = this.pools.get(key);
    if (existing) return existing;
    const name = this.envName(key);
    const connectionString = this.env[name];
    if (!connectionString) {
      throw new TargetError("JIT_CONFIG_MISSING_ENV", `environment variable ${name} (connection for database "${key}") is not set`);
    }
    const pool = createPool({ connectionString, max: this.poolMax, application_name: "jit-access" });
    this.pools.set(key, pool);
    return pool;
  }

  async connect(key: string): Promise<pg.PoolClient> {
    const pool = this.pool(key);
    try {
      return await pool.connect();
    } catch (e) {
      // The driver's message can name host and user but not the password; keep it short anyway.
      throw new TargetError("JIT_DB_UNREACHABLE", `cannot connect to database "${key}" (${this.envName(key)}): ${(e as Error).message}`);
    }
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

  private async readInfo(key: string): Promise<TargetInfo> {
    const client = await this.connect(key);
    try {
      const { rows } = await query<{ app: string; num: string; db: string }>(client,
        "SELECT current_user::text AS app, current_setting('server_version_num') AS num, current_database()::text AS db");
      const row = rows[0]!;
      let clusterId = `key:${key}`;
      try {
        const r = await query<{ id: string }>(client, "SELECT system_identifier::text AS id FROM pg_control_system()");
        if (r.rows[0]?.id) clusterId = r.rows[0].id;
      } catch {
        // EXECUTE revoked from PUBLIC: fall back to one cluster per database key
      }
      return { appRole: row.app, pgMajor: Math.floor(Number(row.num) / 10000), clusterId, database: row.db };
    } finally {
      client.release();
    }
  }

  /**
   * I16 at runtime: JIT_ROLE_SHARED_ACROSS_KEYS when another key allowlists `role` under other rules
   * and reaches the same cluster, by configuration or by system identifier. A key that cannot be
   * reached now is judged by its configuration only.
   */
  async sharedRole(key: string, role: string): Promise<Problem[]> {
    const ids = new Map<string, string>([[key, (await this.info(key)).clusterId]]);
    for (const other of this.keys()) {
      if (other === key || !Object.hasOwn(this.policy.databases[other]!.roles, role) || !this.configured(other)) continue;
      const info = await this.info(other).catch(() => undefined);
      if (info) ids.set(other, info.clusterId);
    }
    const byConfig = sameConnection(this.policy, this.env);
    return sharedRoleProblems(this.policy, (a, b) => byConfig(a, b)
      ?? (ids.has(a) && ids.get(a) === ids.get(b) ? "the same cluster (equal system identifiers)" : null), { key, role });
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    this.infos.clear();
    await Promise.all(pools.map((p) => p.end().catch(() => {})));
  }
}
