// What `jit expire` and `jit reconcile` share: the checkout's policies, the state database and the
// engines. The state database must be a real one: a backstop that quietly started an empty embedded
// database would report "nothing due" while grants live on, so DATABASE_URL is required unless the
// embedded database of a local app already exists under ./.data.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Policy } from "../core/types.ts";
import type { StateDatabase } from "../db/state.ts";
import { StaticPolicySource } from "../scheduler/policy-source.ts";
import { EngineRegistry } from "../usecases/engines.ts";
import type { CliIo } from "./io.ts";
import { loadPoliciesForCli } from "./load-policies.ts";
import { openStateForCli } from "./state-access.ts";

export interface SweepSetup {
  policy: Policy;
  policies: StaticPolicySource;
  state: StateDatabase;
  engines: EngineRegistry;
  close(): Promise<void>;
}

const REPOSITORY = /^[A-Za-z0-9-]{1,39}\/[A-Za-z0-9._-]{1,100}$/;

/** Returns the setup, or an exit code after printing why (2: usage or configuration). */
export async function openSweepSetup(io: CliIo, command: string, opts: { repo?: string; repository?: string }): Promise<SweepSetup | number> {
  const repo = resolve(io.cwd, opts.repo ?? ".");
  // GITHUB_REPOSITORY is set in Actions: the backstop acts on its own repository's grants only.
  const repository = opts.repository ?? io.env.GITHUB_REPOSITORY ?? null;
  if (repository !== null && !REPOSITORY.test(repository)) {
    io.err(`jit ${command}: --repository must be OWNER/NAME`);
    return 2;
  }
  const policy = await loadPoliciesForCli(io, command, repo);
  if (policy === 2) return 2;
  if (!io.env.DATABASE_URL && !existsSync(join(io.cwd, ".data"))) {
    io.err(`jit ${command}: JIT_CONFIG_MISSING_ENV: DATABASE_URL (the app's state database) is not set`);
    return 2;
  }
  const state = await openStateForCli(io, command);
  if (state === 2) return 2;
  const engines = new EngineRegistry(state.pool, io.env);
  return {
    policy, policies: new StaticPolicySource(policy, repository), state, engines,
    async close() {
      await engines.close();
      await state.close();
    },
  };
}

/** "3h 2m 5s" / "850 ms", for people. */
export function humanMs(ms: number): string {
  if (Math.abs(ms) < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return [h ? `${h}h` : "", m ? `${m}m` : "", sec || (!h && !m) ? `${sec}s` : ""].filter(Boolean).join(" ");
}
