// Mirrors the ledger into every target cluster's backstop (where one is installed) and reports what
// the backstop revoked on its own. Called after every grant and extension (the app's onGrant) and by
// the actions-mode grant and sweep jobs. A cluster without pg_cron or without the backstop is
// skipped; a failure is logged and never fails a grant: the next call mirrors again, and until then
// the backstop at worst revokes at the old, earlier expiry.
import type { Queryable } from "./state.ts";
import { activeClusters, activeGrantsOf, backstopStatus, clusterIdOf, connectBackstop, mirrorGrants, type MirrorResult } from "./backstop.ts";

export interface MirrorLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ClusterMirror extends MirrorResult {
  clusterId: string;
  connectionEnv: string;
}

export async function mirrorBackstops(state: Queryable, env: NodeJS.ProcessEnv, log: MirrorLogger): Promise<ClusterMirror[]> {
  const out: ClusterMirror[] = [];
  for (const { clusterId, connectionEnv } of await activeClusters(state)) {
    const url = env[connectionEnv];
    if (!url) continue; // I15: only the variable the grant was made through names this cluster
    try {
      const c = await connectBackstop(url);
      try {
        if ((await backstopStatus(c)).kind !== "installed") continue;
        const here = await clusterIdOf(c);
        if (here !== null && here !== clusterId) continue; // the variable now reaches another cluster
        const r = await mirrorGrants(c, await activeGrantsOf(state, clusterId));
        for (const b of r.revokedByBackstop) {
          log.warn({ code: "JIT_BACKSTOP_REVOKED", ledgerId: b.ledgerId, revokedAt: b.revokedAt, outcome: b.outcome }, "the in-database backstop revoked an expired grant before the app did; the next sweep ends sessions, verifies and closes it");
        }
        out.push({ clusterId, connectionEnv, ...r });
      } finally {
        await c.close().catch(() => {});
      }
    } catch (e) {
      log.warn({ code: "JIT_BACKSTOP_MIRROR_FAILED", connectionEnv, error: (e as Error).message }, "could not mirror grants into the in-database backstop; retried on the next grant or sweep");
    }
  }
  return out;
}

/**
 * Coalesces mirror requests (the app's onGrant after every grant and extension): one pass at a
 * time, and one more after it when grants arrived meanwhile. `settled()` waits for both.
 */
export function backstopMirrorer(state: Queryable, env: NodeJS.ProcessEnv, log: MirrorLogger): { poke(): void; settled(): Promise<void> } {
  let running: Promise<void> | null = null;
  let again = false;
  const start = (): Promise<void> => {
    running = mirrorBackstops(state, env, log).then(() => {}, () => {}).then(() => {
      running = null;
      if (again) {
        again = false;
        return start();
      }
    });
    return running;
  };
  return {
    poke() {
      if (running) again = true;
      else void start();
    },
    async settled() {
      while (running) await running;
    },
  };
}
