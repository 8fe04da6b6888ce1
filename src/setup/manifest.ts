// The GitHub App manifest registered by the setup page: app.yml (name, description, permissions,
// events) plus the URLs only the running server knows. app.yml must not carry those URLs itself:
// a placeholder would be registered as is, so they are refused here rather than overridden silently.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { WEBHOOK_PATH } from "../server.ts";

export const SETUP_PATH = "/probot";
export const SETUP_CALLBACK_PATH = "/probot/setup";
/** Keys the flow fills in from the server's base URL (or WEBHOOK_PROXY_URL). */
export const FILLED_KEYS = ["url", "redirect_url", "callback_urls", "setup_url"] as const;

export type AppManifest = Record<string, unknown> & { name: string; url: string; redirect_url: string; hook_attributes: { url: string; active?: boolean } };

/** app.yml as a plain object; throws on a file that carries URLs the flow must fill. */
export function readAppYml(cwd: string): Record<string, unknown> {
  const doc = parse(readFileSync(join(cwd, "app.yml"), "utf8"), { schema: "core", uniqueKeys: true, maxAliasCount: 0 }) as unknown;
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw new Error("app.yml must be a mapping");
  const yml = doc as Record<string, unknown>;
  const filled = FILLED_KEYS.filter((k) => k in yml);
  const hook = yml.hook_attributes as Record<string, unknown> | undefined;
  if (hook && typeof hook === "object" && "url" in hook) filled.push("hook_attributes.url" as never);
  if (filled.length) throw new Error(`app.yml sets ${filled.join(", ")}: remove them, the setup page fills them from the server's URL`);
  return yml;
}

/** app.yml + base URL → manifest. The webhook goes to WEBHOOK_PROXY_URL when set (smee), else to this server. */
export function buildManifest(yml: Record<string, unknown>, baseUrl: string, proxyUrl?: string): AppManifest {
  const hook = (yml.hook_attributes && typeof yml.hook_attributes === "object" ? yml.hook_attributes : {}) as Record<string, unknown>;
  return {
    ...yml,
    name: typeof yml.name === "string" ? yml.name : "jit-access",
    url: baseUrl,
    hook_attributes: { ...hook, url: proxyUrl ?? `${baseUrl}${WEBHOOK_PATH}` },
    redirect_url: `${baseUrl}${SETUP_CALLBACK_PATH}`,
    callback_urls: [baseUrl],
    public: yml.public === true,
  };
}
