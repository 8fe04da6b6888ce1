// The package's default export: the jit-access Probot app as one ApplicationFunction, so that
// `probot run ./src/index.ts` (or any Probot host calling `probot.load(jitAccess)`) runs it.
// Loading does what `npm start` does around the handlers: state database and migrations, the
// app-role checks on every target (I5), the startup reconcile, the scheduler and the lost-merge
// reconciler. Under `probot run` Probot's own server receives the webhooks and runs the handlers
// inside the request; `npm start` (src/main.ts) is the recommended server: it acknowledges before
// slow work through the delivery queue (I17) and caps webhook bodies.
import type { ApplicationFunction, Probot } from "probot";
import { createApp } from "./app.ts";
import { startBackground } from "./background.ts";
import { loadConfig } from "./config.ts";
import type { Logger } from "./db/state.ts";
import { startServices } from "./main.ts";
import { buildDeps } from "./usecases/build-deps.ts";

const running = new WeakMap<Probot, () => Promise<void>>();

const jitAccess: ApplicationFunction = async (app, options) => {
  const config = loadConfig(process.env); // refuses unsafe production settings, as npm start does
  const log: Logger = { info: (m) => app.log.info(m), warn: (m) => app.log.warn(m), error: (m) => app.log.error(m) };
  const services = await startServices({ log, cwd: options.cwd });
  const deps = buildDeps({ state: services.state.pool, env: process.env, log: app.log, ...(config.appId ? { appId: Number(config.appId) } : {}) });
  createApp(deps)(app);
  const background = await startBackground({ services, deps, probot: app, log: app.log });
  try {
    options.addHandler((req, res) => {
      if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/health") return false;
      void background.health(req, res);
      return true;
    });
  } catch {
    // a Probot without a server (`new Probot().load(…)`): there is no route to add
  }
  running.set(app, async () => {
    await background.stop();
    await deps.close();
    await services.stop();
  });
};

/** Stops what loading `jitAccess` into this Probot started (scheduler, pools, embedded database). */
export async function stopJitAccess(app: Probot): Promise<void> {
  const stop = running.get(app);
  running.delete(app);
  await stop?.();
}

export default jitAccess;
