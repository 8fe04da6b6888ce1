#!/usr/bin/env node
// The `jit` CLI: Node (>= 24) runs the TypeScript sources itself by stripping their types, so there
// is no build step to forget and no compiler on the runtime path. (Node strips types only outside
// node_modules: run jit from a checkout, as the workflows do, not from an installed package.)
// Node's on-disk compile cache, keyed by each file's content: a repeated run skips parsing and
// stripping every module again, most of a cold start. It lives in this checkout's node_modules
// (owned by whoever installed it), not in a shared temporary directory another user could seed;
// where that is not writable, Node carries on without it.
const { enableCompileCache } = await import("node:module");
const { fileURLToPath } = await import("node:url");
try {
  enableCompileCache?.(fileURLToPath(new URL("../node_modules/.cache/node-compile-cache", import.meta.url)));
} catch {
  // no cache: only slower
}
const { loadDotEnv } = await import("../src/util/env-file.ts");
loadDotEnv(); // the project's .env; variables already set win
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
