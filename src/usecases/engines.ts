// One GrantEngine per policy, sharing connection pools: the policy read at a PR's base decides
// what may be granted, while pools to a target are reused across events.
import type pg from "pg";
import { GrantEngine, type EngineHooks } from "../db/grantor.ts";
import { Targets } from "../db/targets.ts";
import type { Policy } from "../core/types.ts";

export class EngineRegistry {
  private targets = new Map<string, Targets>();

  readonly state: pg.Pool;
  private readonly env: NodeJS.ProcessEnv;
  private readonly hooks: EngineHooks;

  constructor(state: pg.Pool, env: NodeJS.ProcessEnv, hooks: EngineHooks = {}) {
    this.state = state;
    this.env = env;
    this.hooks = hooks;
  }

  /** Pools are keyed by which environment variable each database key connects with. */
  private targetsFor(policy: Policy): Targets {
    const shape = JSON.stringify(Object.keys(policy.databases).sort().map((k) => [k, policy.databases[k]!.connectionEnv]));
    let t = this.targets.get(shape);
    if (!t) {
      t = new Targets(policy, this.env);
      this.targets.set(shape, t);
    }
    return t;
  }

  engine(policy: Policy): GrantEngine {
    return new GrantEngine(this.state, this.targetsFor(policy), policy, this.hooks);
  }

  async close(): Promise<void> {
    const all = [...this.targets.values()];
    this.targets.clear();
    await Promise.all(all.map((t) => t.close()));
  }
}
