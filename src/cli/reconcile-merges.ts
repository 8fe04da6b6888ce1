// `jit reconcile --merges`: one pass of the lost-merge reconciler (src/jobs/lost-merges.ts) from
// the command line, as the app's leader runs it on its interval: merged request PRs whose webhook
// never arrived go through the same merge path. Needs the App's credentials (APP_ID, PRIVATE_KEY or
// PRIVATE_KEY_PATH), DATABASE_URL and the targets' connection variables; GITHUB_API_URL points at
// another API root (GitHub Enterprise Server).
// Exit 0: nothing lost or every lost merge handled; 1: a merged PR could not be handled; 2: configuration.
import { Probot } from "probot";
import { loadConfig } from "../config.ts";
import { installedRepositories } from "../github/installations.ts";
import { reconcileMerges } from "../jobs/lost-merges.ts";
import { loadQueueConfig } from "../queue/config.ts";
import { buildDeps } from "../usecases/build-deps.ts";
import type { CliIo } from "./io.ts";
import { openStateForCli } from "./state-access.ts";

export async function runMerges(io: CliIo, format: "text" | "json"): Promise<number> {
  let probot: Probot;
  try {
    const config = loadConfig(io.env);
    if (!config.appId || !config.privateKey) {
      io.err("jit reconcile --merges: JIT_CONFIG_MISSING_ENV: APP_ID and PRIVATE_KEY or PRIVATE_KEY_PATH are required");
      return 2;
    }
    probot = new Probot({ appId: config.appId, privateKey: config.privateKey, logLevel: "warn", baseUrl: io.env.GITHUB_API_URL || config.github.apiUrl });
  } catch (e) {
    io.err(`jit reconcile --merges: ${(e as Error).message}`);
    return 2;
  }
  const { config: queue, problems } = loadQueueConfig(io.env);
  if (problems.length) {
    for (const p of problems) io.err(`jit reconcile --merges: ${p.code}: ${p.message}`);
    return 2;
  }
  const state = await openStateForCli(io, "reconcile");
  if (state === 2) return 2;
  const log = { info: () => {}, warn: (o: object, m: string) => io.err(`${m} ${JSON.stringify(o)}`), error: (o: object, m: string) => io.err(`${m} ${JSON.stringify(o)}`) };
  const deps = buildDeps({ state: state.pool, env: io.env, log, appId: Number(io.env.APP_ID) });
  try {
    const report = await reconcileMerges({ deps, repositories: installedRepositories(probot), lookbackMs: queue.mergeLookbackMs });
    if (format === "json") io.out(JSON.stringify(report, null, 2));
    else {
      for (const r of report.recovered) io.out(`JIT_MERGE_RECOVERED ${r.repository}#${r.number}: ${r.kind}${r.code ? ` (${r.code})` : ""}`);
      for (const f of report.failed) io.out(`${f.repository}#${f.number}: not handled: ${f.error}`);
      if (!report.recovered.length && !report.failed.length) io.out(`no lost merges in ${report.repositories} repositories`);
    }
    return report.failed.length ? 1 : 0;
  } finally {
    await deps.close();
    await state.close();
  }
}
