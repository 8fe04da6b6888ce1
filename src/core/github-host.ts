// Where GitHub is: github.com, or GitHub Enterprise Server through the variables Probot reads
// (GHE_HOST, GHE_PROTOCOL): the web UI at <protocol>://<host>, the REST API under /api/v3. The
// manifest flow posts to the web host; every API client (the app's Probot, the manifest
// conversion) uses the API URL. A host is a bare name with an optional port: anything else
// (scheme, path, credentials, query) would send tokens somewhere the operator did not name.
import { decide, problem, type Decision, type Problem } from "./problem.ts";

export interface GitHubHost {
  /** Web UI, e.g. https://github.com or https://ghe.example.com (no trailing slash). */
  webUrl: string;
  /** REST API base, e.g. https://api.github.com or https://ghe.example.com/api/v3. */
  apiUrl: string;
  enterprise: boolean;
}

export const GITHUB_COM: GitHubHost = { webUrl: "https://github.com", apiUrl: "https://api.github.com", enterprise: false };

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(?::[1-9][0-9]{0,4})?$/;

/** GHE_HOST / GHE_PROTOCOL → URLs. Plain http is refused in production (tokens would travel in clear). */
export function parseGitHubHost(host: string | undefined, protocol: string | undefined, production: boolean): Decision<GitHubHost> {
  const h = host ?? ""; // not trimmed: stray whitespace is refused, not guessed away
  const p = (protocol ?? "").trim() || "https";
  const problems: Problem[] = [];
  if (h === "") {
    if ((protocol ?? "").trim() !== "") problems.push(problem("JIT_CONFIG_INVALID", "GHE_PROTOCOL is set but GHE_HOST is not"));
    return decide(GITHUB_COM, problems, "GitHub: github.com");
  }
  const port = /:(\d+)$/.exec(h)?.[1];
  if (!HOST.test(h) || h.length > 253 || (port !== undefined && Number(port) > 65535)) problems.push(problem("JIT_CONFIG_INVALID", "GHE_HOST must be a host name with an optional port, e.g. ghe.example.com (no scheme, path or credentials)"));
  if (p !== "https" && p !== "http") problems.push(problem("JIT_CONFIG_INVALID", 'GHE_PROTOCOL must be "https" or "http"'));
  else if (p === "http" && production) problems.push(problem("JIT_PRODUCTION_CONFIG", "GHE_PROTOCOL=http is refused when NODE_ENV=production: the app's tokens would travel unencrypted"));
  const base = `${p}://${h.toLowerCase()}`;
  return decide({ webUrl: base, apiUrl: `${base}/api/v3`, enterprise: true }, problems, `GitHub Enterprise Server at ${base}`);
}

/** The page GitHub serves to register an app from a manifest, for a personal account or an organization. */
export function createAppUrl(gh: GitHubHost, org?: string, state?: string): string {
  const path = org ? `/organizations/${encodeURIComponent(org)}/settings/apps/new` : "/settings/apps/new";
  return `${gh.webUrl}${path}${state ? `?state=${encodeURIComponent(state)}` : ""}`;
}
