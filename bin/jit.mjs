#!/usr/bin/env node
// The `jit` CLI: Node (>= 24) runs the TypeScript sources itself by stripping their types, so there
// is no build step to forget and no compiler on the runtime path. (Node strips types only outside
// node_modules: run jit from a checkout, as the workflows do, not from an installed package.)
const { loadDotEnv } = await import("../src/util/env-file.ts");
loadDotEnv(); // the project's .env; variables already set win
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
