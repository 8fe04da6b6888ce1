// A GitHub client for CLI commands that read GitHub as the App (`jit rebuild`, `jit audit --github`):
// APP_ID and PRIVATE_KEY or PRIVATE_KEY_PATH, GITHUB_API_URL for another API root.
import { Probot } from "probot";
import { loadConfig } from "../config.ts";
import { probotGitHub, type GitHubAccess } from "../github/installations.ts";
import type { CliIo } from "./io.ts";

export interface CliGitHub {
  probot: Probot;
  appId: number;
  access: GitHubAccess;
}

/** The App's client, or exit status 2 after printing why (JIT_CONFIG_MISSING_ENV). */
export function githubForCli(io: CliIo, command: string): CliGitHub | 2 {
  try {
    const config = loadConfig(io.env);
    if (!config.appId || !config.privateKey) {
      io.err(`jit ${command}: JIT_CONFIG_MISSING_ENV: APP_ID and PRIVATE_KEY or PRIVATE_KEY_PATH are required`);
      return 2;
    }
    const appId = Number(config.appId);
    const probot = new Probot({ appId: config.appId, privateKey: config.privateKey, logLevel: "warn", baseUrl: io.env.GITHUB_API_URL || config.github.apiUrl });
    return { probot, appId, access: probotGitHub(probot, appId) };
  } catch (e) {
    io.err(`jit ${command}: ${(e as Error).message}`);
    return 2;
  }
}
