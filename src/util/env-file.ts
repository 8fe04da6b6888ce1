// `.env` at the project root (next to package.json), read at start by `npm start` / `node
// src/main.ts` and by the `jit` CLI. Variables already in the environment always win, even when
// empty (process.loadEnvFile behaves the same; this form also serves an injected env in tests).
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseEnv } from "node:util";

export const PROJECT_ENV_FILE = fileURLToPath(new URL("../../.env", import.meta.url));

export type DotEnvResult = "loaded" | "absent" | "skipped";

/**
 * Fills unset variables from `file` when it exists. Skipped inside GitHub Actions: a job takes its
 * settings from the workflow, never from a file that a checkout (of a pull request, say) could hold.
 */
export function loadDotEnv(file: string = PROJECT_ENV_FILE, env: NodeJS.ProcessEnv = process.env): DotEnvResult {
  if (env.GITHUB_ACTIONS === "true") return "skipped";
  if (!existsSync(file)) return "absent";
  for (const [key, value] of Object.entries(parseEnv(readFileSync(file, "utf8")))) {
    if (!Object.hasOwn(env, key)) env[key] = value;
  }
  return "loaded";
}
