// The dashboard issue of an access repository, kept current through the outbox (kind "dashboard"):
// requests coalesce per repository (src/db/dashboard.ts), this handler renders the state database's
// facts (src/core/dashboard.ts) and edits the one issue in place. The issue is remembered by number
// in the state database and never re-created while it exists; without a number (a fresh state
// database) it is found again by its hidden marker, but only an issue GitHub says this App made
// counts (I11/I19: anyone can type the marker). Someone else's edit is overwritten on the next
// refresh, at once when the issues.edited webhook arrives.
import { createHash } from "node:crypto";
import type pg from "pg";
import { DASHBOARD_LABEL, DASHBOARD_MARKER, dashboardTitle, ENDED_SHOWN, renderDashboard, type DashboardAlert, type DashboardInput } from "../core/dashboard.ts";
import { accessEntry, ALL_REPOSITORIES, type AccessRepositories } from "../core/repositories.ts";
import { dashboardFacts, dashboardIssue, dashboardRepositories, recordDashboardIssue, requestDashboard } from "../db/dashboard.ts";
import { ALERT_LABEL } from "../github/alerts.ts";
import { madeByApp, type Authored } from "../github/authored.ts";
import { repoRefOf, type GitHubAccess } from "../github/installations.ts";
import type { Octokit, RepoRef } from "../github/octokit.ts";
import type { OutboxHandler } from "../scheduler/outbox.ts";
import { gateRepository } from "../usecases/repository-gate.ts";

export interface DashboardOptions {
  /** Rewrite an unchanged dashboard after this long anyway (relative times, someone's edit without a webhook). */
  refreshMs: number;
  /** Requests within this window coalesce into one edit. */
  debounceMs: number;
}

export const DEFAULT_DASHBOARD_OPTIONS: DashboardOptions = { refreshMs: 10 * 60_000, debounceMs: 10_000 };

interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

type IssueLike = Authored & { number: number; title: string; body?: string | null; state: string; pull_request?: unknown; node_id?: string };

const isGone = (e: unknown) => [404, 410].includes((e as { status?: number }).status ?? 0);

/** The app's open alert issues (one page: the dashboard lists at most 100). */
async function openAlerts(octokit: Octokit, ref: RepoRef, appId: number | undefined): Promise<DashboardAlert[]> {
  const { data } = await octokit.rest.issues.listForRepo({ ...ref, labels: ALERT_LABEL, state: "open", per_page: 100 });
  return data.filter((i) => !i.pull_request && madeByApp(i as Authored, appId))
    .map((i) => ({ number: i.number, title: i.title, createdAt: Date.parse(i.created_at) }));
}

/**
 * The remembered issue if it is still there and the app made it (whatever someone wrote into it);
 * else the oldest labelled issue the app made with the marker. Authorship is GitHub's word, never the text.
 */
async function findIssue(octokit: Octokit, ref: RepoRef, remembered: number | null, appId: number | undefined): Promise<IssueLike | null> {
  const mine = (i: IssueLike) => !i.pull_request && madeByApp(i, appId);
  const ours = (i: IssueLike) => mine(i) && (i.body ?? "").startsWith(DASHBOARD_MARKER);
  if (remembered !== null) {
    try {
      const { data } = await octokit.rest.issues.get({ ...ref, issue_number: remembered });
      if (mine(data as IssueLike)) return data as IssueLike;
    } catch (e) {
      if (!isGone(e)) throw e;
    }
  }
  const labelled = await octokit.paginate(octokit.rest.issues.listForRepo, { ...ref, labels: DASHBOARD_LABEL, state: "all", direction: "asc", per_page: 100 });
  return (labelled as IssueLike[]).find(ours) ?? null;
}

/** Pins the issue (GraphQL pinIssue on GitHub); best effort: the label finds it too. */
async function pin(octokit: Octokit, nodeId: string | undefined, log: Logger | undefined): Promise<boolean> {
  if (!nodeId) return false;
  try {
    await octokit.graphql("mutation($id: ID!) { pinIssue(input: { issueId: $id }) { issue { number } } }", { id: nodeId });
    return true;
  } catch (e) {
    log?.warn({ error: String((e as Error).message).split("\n")[0] }, "could not pin the dashboard issue; it stays labelled jit-dashboard");
    return false;
  }
}

export function dashboardHandler(deps: { state: pg.Pool; github: GitHubAccess; log?: Logger; options?: Partial<DashboardOptions> }): OutboxHandler {
  const options = { ...DEFAULT_DASHBOARD_OPTIONS, ...deps.options };
  return async (item) => {
    const repository = item.payload.repository;
    if (typeof repository !== "string") return "skipped: malformed payload";
    const force = item.payload.force === true;
    const repositories = deps.github.repositories ?? ALL_REPOSITORIES;
    // I10: a dashboard only in an access repository the operator named, the very one pinned by id.
    if (!accessEntry(repositories, repository)) return "skipped: JIT_REPO_NOT_ACCESS";
    const octokit = await deps.github.octokitFor(repository);
    const ref = repoRefOf(repository);
    const facts = await dashboardFacts(deps.state, repository, { ended: ENDED_SHOWN, deadShown: 10 });
    const input: DashboardInput = { repository, ...facts, alerts: await openAlerts(octokit, ref, deps.github.appId) };
    // What is shown, without the clock: unchanged facts within refreshMs cost no GitHub write.
    const fingerprint = createHash("sha256").update(JSON.stringify({ ...input, now: 0 })).digest("hex");
    const known = await dashboardIssue(deps.state, repository);
    if (!force && known?.issueNumber != null && known.fingerprint === fingerprint && known.writtenAgoMs !== null && known.writtenAgoMs < options.refreshMs) {
      return `unchanged #${known.issueNumber}`;
    }
    // Before anything is written: the very repository the operator named, pinned by id (I10).
    const gate = await gateRepository({ state: deps.state, repositories }, repository, (await octokit.rest.repos.get({ ...ref })).data.id);
    if (!gate.ok) return `skipped: ${gate.problem.code}`;
    const body = renderDashboard(input).text;
    const title = dashboardTitle(repository).text;
    const issue = await findIssue(octokit, ref, known?.issueNumber ?? null, deps.github.appId);
    if (!issue) {
      const { data } = await octokit.rest.issues.create({ ...ref, title, body, labels: [DASHBOARD_LABEL] });
      await recordDashboardIssue(deps.state, repository, data.number, fingerprint);
      const pinned = await pin(octokit, data.node_id, deps.log);
      return `created #${data.number}${pinned ? " (pinned)" : ""}`;
    }
    const stale = issue.body !== body || issue.title !== title || issue.state !== "open";
    if (stale) await octokit.rest.issues.update({ ...ref, issue_number: issue.number, title, body, state: "open" });
    await recordDashboardIssue(deps.state, repository, issue.number, fingerprint);
    return `${stale ? "updated" : "current"} #${issue.number}`;
  };
}

/** The debounced request every trigger makes (grant, revoke, refusal, PR opened or closed, the tick). */
export function touchDashboard(state: pg.Pool, repository: string, o: { force?: boolean; debounceMs?: number } = {}): Promise<void> {
  return requestDashboard(state, repository, { delayMs: o.debounceMs ?? DEFAULT_DASHBOARD_OPTIONS.debounceMs, ...(o.force ? { force: true } : {}) });
}

/**
 * The scheduler tick's trigger: every `everyMs` each access repository's dashboard is asked for
 * (listed repositories; in development, those with active grants or a dashboard already).
 */
export function dashboardTicker(state: pg.Pool, repositories: AccessRepositories, everyMs: number, log: Logger): { stop(): void } {
  if (everyMs <= 0) return { stop() {} };
  const timer = setInterval(() => {
    void (async () => {
      const names = repositories.mode === "listed" ? repositories.entries.map((e) => e.name) : await dashboardRepositories(state);
      for (const r of names) await touchDashboard(state, r);
    })().catch((e: unknown) => log.warn({ error: (e as Error).message }, "could not queue the dashboard refresh; the next tick retries"));
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
