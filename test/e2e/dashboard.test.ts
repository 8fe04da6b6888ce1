// The dashboard issue end to end: the real app against the GitHub simulator and a real PostgreSQL.
// A request PR shows as pending (whom it waits for); refreshes coalesce (debounced) into one outbox
// item; the issue is created once, labelled, edited in place and never re-created while it exists;
// a person's edit, a close, a lost state database and a planted look-alike change nothing of that
// (I11/I19: only an issue GitHub says the App made is the dashboard); 500 active grants stay
// within the size bound; untrusted text stays inert.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DASHBOARD_LABEL, DASHBOARD_MARKER, MAX_DASHBOARD_CHARS } from "../../src/core/dashboard.ts";
import { dashboardKey } from "../../src/db/dashboard.ts";
import { probotGitHub, type GitHubAccess } from "../../src/github/installations.ts";
import type { Octokit } from "../../src/github/octokit.ts";
import { dashboardHandler, touchDashboard } from "../../src/jobs/dashboard.ts";
import { drainOutbox, type DrainReport } from "../../src/scheduler/outbox.ts";
import { dashboardChanged, dashboardEdited } from "../../src/usecases/pending.ts";
import { DB_KEY, OWNER, REPO, startJitE2E, type JitE2E } from "./app-fixture.ts";
import { TestOctokit } from "./harness.ts";

const FULL = `${OWNER}/${REPO}`;
const ref = { owner: OWNER, repo: REPO };
let t: JitE2E;
let github: GitHubAccess;
let mallory: Octokit;
const leadership = { assertLeader: async () => {} };

/** Runs the due dashboard item now (the debounce is the database's next_attempt_at; tests do not wait it out). */
async function refresh(): Promise<DrainReport> {
  await t.stateSu.query("UPDATE outbox SET next_attempt_at = clock_timestamp() WHERE dedupe_key = $1 AND NOT done", [dashboardKey(FULL)]);
  return drainOutbox(t.deps[0]!.state, { dashboard: dashboardHandler({ state: t.deps[0]!.state, github }) }, leadership);
}

function dashboards() {
  return t.repo.issues().filter((i) => !i.isPull && i.labels.includes(DASHBOARD_LABEL));
}
const bodyOf = (n: number) => String(t.repo.repo.issues.get(n)?.body ?? "");

async function insertGrants(n: number, prefix: string, o: { status?: string; reason?: string } = {}): Promise<void> {
  await t.stateSu.query(
    `INSERT INTO ledger (repository, path, request_id, pr_number, database, cluster_id, role, db_user, duration_ms, status, granted_at, expires_at, revoked_at, revoke_reason, actor)
     SELECT $1, 'access-requests/${DB_KEY}/' || $2 || g, $2 || g, 1000 + g, $3, 'c1', 'orders_readonly', 'user_' || g, 7200000, $4,
            now() - interval '1 hour', now() + g * interval '1 minute', CASE WHEN $4 = 'revoked' THEN now() END, $5, 'test'
       FROM generate_series(1, $6::int) g`,
    [FULL, prefix, DB_KEY, o.status ?? "active", o.reason ?? null, n]);
}

beforeAll(async () => {
  t = await startJitE2E();
  github = probotGitHub(t.e2e.app.probot, t.e2e.sim.app.id);
  mallory = new TestOctokit({ auth: { token: t.e2e.sim.userToken("mallory") }, baseUrl: t.e2e.sim.baseUrl }) as unknown as Octokit;
});
afterAll(async () => {
  await t?.stop();
});

describe("dashboard issue", () => {
  it("a request PR is pending with whom it waits for; refreshes coalesce into one item; the issue is created once, labelled", async () => {
    const { number } = await t.request("alice", "alice-dash-1");
    const { rows: queued } = await t.stateSu.query("SELECT payload, next_attempt_at > clock_timestamp() AS later FROM outbox WHERE dedupe_key = $1 AND NOT done", [dashboardKey(FULL)]);
    expect(queued).toHaveLength(1);
    expect(queued[0].later).toBe(true); // debounced, not done at once
    const before = (await t.stateSu.query("SELECT next_attempt_at FROM outbox WHERE dedupe_key = $1", [dashboardKey(FULL)])).rows[0].next_attempt_at as Date;
    for (let i = 0; i < 5; i++) await touchDashboard(t.deps[0]!.state, FULL);
    const { rows: after } = await t.stateSu.query("SELECT next_attempt_at FROM outbox WHERE kind = 'dashboard'");
    expect(after).toHaveLength(1);
    expect((after[0].next_attempt_at as Date).getTime()).toBe(before.getTime()); // later requests do not push it further

    const report = await refresh();
    expect(report.done.map((d) => d.result)).toEqual([expect.stringMatching(/^created #\d+/)]);
    expect(dashboards()).toHaveLength(1);
    const issue = dashboards()[0]!;
    const body = bodyOf(issue.number);
    expect(body.startsWith(DASHBOARD_MARKER)).toBe(true);
    expect(issue.title).toBe(`jit-access dashboard (${FULL})`);
    expect(body).toContain("Pending requests (1)");
    expect(body).toMatch(new RegExp(`\\| #${number} \\| \`alice\` \\| \`${DB_KEY}\`/\`alice-dash-1\` \\| \`orders_readonly\` \\| action_required JIT_APPROVALS_MISSING \\| 0/1 \\|`));
    expect(body).toContain("| `acme/dba` |"); // the eligible owner entry an approval can come from, as code: nobody is pinged
    // Nothing changed: no GitHub write, the same issue.
    await touchDashboard(t.deps[0]!.state, FULL);
    expect((await refresh()).done.map((d) => d.result)).toEqual([`unchanged #${issue.number}`]);
    // Closing the PR drops it from pending.
    await t.repo.close(number, { asUser: "alice" });
    await t.idle();
    await refresh();
    expect(bodyOf(issue.number)).toContain("Pending requests (0)");
    expect(dashboards()).toHaveLength(1);
  });

  it("a merge grants: the request leaves pending and shows under active grants (who, role, database, until, PR)", async () => {
    const { number } = await t.request("bob", "bob-dash-2");
    await t.repo.review("dora", number, "APPROVE");
    await t.idle();
    await t.repo.merge(number, { method: "squash" });
    await t.idle();
    await refresh();
    const body = bodyOf(dashboards()[0]!.number);
    expect(body).toContain("Pending requests (0)");
    expect(body).toContain("Active grants (1)");
    expect(body).toMatch(new RegExp(`\\| \`bob\` \\| \`orders_readonly\` \\| \`${DB_KEY}\` \\| \`bob-dash-2\` \\| \\d{4}-\\d\\d-\\d\\dT[\\d:]+Z \\([^)]*\\) \\| \\d{4}-\\d\\d-\\d\\dT[\\d:]+Z \\(in 1 h\\) \\| #${number} \\|`));
  });

  it("500 active grants: the body stays within the bound and says how many are not shown", async () => {
    await insertGrants(500, "bulk-");
    await touchDashboard(t.deps[0]!.state, FULL);
    await refresh();
    const [issue] = dashboards();
    const body = bodyOf(issue!.number);
    expect(body.length).toBeLessThanOrEqual(MAX_DASHBOARD_CHARS);
    expect(body).toContain("Active grants (501)"); // and bob's from the merge above
    const shown = (body.match(/^\| `[a-z_0-9]+` \| `orders_readonly` \|/gm) ?? []).length;
    expect(shown).toBeGreaterThan(50);
    expect(shown).toBeLessThan(501);
    expect(body).toContain(`… and ${501 - shown} more`);
    // soonest expiry first: user_1 is shown, user_500 is not
    expect(body).toContain("| `user_1` |");
    expect(body).not.toContain("| `user_500` |");
    expect(dashboards()).toHaveLength(1);
  });

  it("a person's edit is restored: at once through issues.edited, and on the next refresh without it", async () => {
    const [issue] = dashboards();
    const good = bodyOf(issue!.number);
    await mallory.rest.issues.update({ ...ref, issue_number: issue!.number, body: `${DASHBOARD_MARKER}\nnothing to see @dora` });
    expect(await dashboardEdited(t.deps[0]!, FULL, issue!.number)).toBe("dashboard restore queued");
    const forced = await refresh();
    expect(forced.done.map((d) => d.result)).toEqual([`updated #${issue!.number}`]);
    expect(bodyOf(issue!.number)).not.toContain("nothing to see");
    expect(bodyOf(issue!.number).replace(/as of [^)]+/, "")).toBe(good.replace(/as of [^)]+/, ""));
    // Another edit, no webhook: the periodic refresh (older than refreshMs) restores it too.
    await mallory.rest.issues.update({ ...ref, issue_number: issue!.number, body: "gone" });
    await t.stateSu.query("UPDATE dashboard_issues SET written_at = written_at - interval '1 hour'");
    await touchDashboard(t.deps[0]!.state, FULL);
    expect((await refresh()).done.map((d) => d.result)).toEqual([`updated #${issue!.number}`]);
    expect(bodyOf(issue!.number).startsWith(DASHBOARD_MARKER)).toBe(true);
    // An edit of any other issue queues nothing.
    expect(await dashboardEdited(t.deps[0]!, FULL, issue!.number + 1000)).toBe("not the dashboard");
  });

  it("the issues.edited webhook (signed, through the app's queue) forces a restore when a person edited it, not when a bot did", async () => {
    const [issue] = dashboards();
    await t.stateSu.query("UPDATE outbox SET done = true WHERE dedupe_key = $1", [dashboardKey(FULL)]);
    const repository = { id: t.repo.repo.id, name: REPO, full_name: FULL, owner: { login: OWNER, type: "Organization" } };
    const edited = (sender: { login: string; type: string }) => ({
      action: "edited", issue: { number: issue!.number }, changes: { body: { from: "x" } }, repository, sender, installation: { id: t.e2e.sim.installationId(OWNER) },
    });
    await t.e2e.sim.sendSignedDelivery("issues", edited({ login: "some-bot[bot]", type: "Bot" }), "valid");
    await t.idle();
    expect((await t.stateSu.query("SELECT 1 FROM outbox WHERE dedupe_key = $1 AND NOT done", [dashboardKey(FULL)])).rowCount).toBe(0);
    await t.e2e.sim.sendSignedDelivery("issues", edited({ login: "mallory", type: "User" }), "valid");
    await t.idle();
    const { rows } = await t.stateSu.query("SELECT payload FROM outbox WHERE dedupe_key = $1 AND NOT done", [dashboardKey(FULL)]);
    expect(rows).toEqual([{ payload: { repository: FULL, force: true } }]);
    await mallory.rest.issues.update({ ...ref, issue_number: issue!.number, body: "edited by a person" });
    expect((await refresh()).done.map((d) => d.result)).toEqual([`updated #${issue!.number}`]);
    expect(bodyOf(issue!.number).startsWith(DASHBOARD_MARKER)).toBe(true);
  });

  it("I11: never re-created while it exists: closed by a person it is reopened; a lost state database finds it by marker, never a person's look-alike", async () => {
    const [issue] = dashboards();
    // A person plants an issue with the marker and the label, older than nothing but typed to look the part.
    const planted = await mallory.rest.issues.create({ ...ref, title: `jit-access dashboard (${FULL})`, body: `${DASHBOARD_MARKER}\nfake`, labels: [DASHBOARD_LABEL] });
    await mallory.rest.issues.update({ ...ref, issue_number: issue!.number, state: "closed" });
    await touchDashboard(t.deps[0]!.state, FULL, { force: true });
    expect((await refresh()).done.map((d) => d.result)).toEqual([`updated #${issue!.number}`]);
    expect(t.repo.issues().find((i) => i.number === issue!.number)!.state).toBe("open");

    // The state database forgot the number: found again by marker, the app's own only.
    await t.stateSu.query("DELETE FROM dashboard_issues");
    await touchDashboard(t.deps[0]!.state, FULL);
    expect((await refresh()).done.map((d) => d.result)).toEqual([expect.stringMatching(new RegExp(`^(current|updated) #${issue!.number}$`))]);
    // The remembered number pointed at the person's issue: not edited, the app's one is used.
    await t.stateSu.query("UPDATE dashboard_issues SET issue_number = $1, fingerprint = NULL", [planted.data.number]);
    await touchDashboard(t.deps[0]!.state, FULL);
    expect((await refresh()).done.map((d) => d.result)).toEqual([expect.stringMatching(new RegExp(`^(current|updated) #${issue!.number}$`))]);
    expect(bodyOf(planted.data.number)).toBe(`${DASHBOARD_MARKER}\nfake`);
    expect(dashboards().filter((i) => i.number !== planted.data.number)).toHaveLength(1);
  });

  it("I19: revoke reasons and alert titles stay inert (no mention, no reference, no second marker)", async () => {
    await insertGrants(1, "hostile-", { status: "revoked", reason: "@dora fixes #1 <!-- jit-access:dashboard --> [x](http://evil) | broken |" });
    await touchDashboard(t.deps[0]!.state, FULL);
    await refresh();
    const [issue] = dashboards().filter((i) => bodyOf(i.number).startsWith(DASHBOARD_MARKER) && !bodyOf(i.number).includes("fake"));
    const body = bodyOf(issue!.number);
    expect(body).toContain("Recently ended (last 1)");
    const row = body.split("\n").find((l) => l.includes("`hostile-1`"))!;
    expect(row).toContain("`@dora` fixes `#1`");
    expect(row).not.toMatch(/(^|[^`])@dora/);
    expect(row).not.toMatch(/(^|[^`])#1\b/);
    expect(row.split(" | ")).toHaveLength(7); // the pipes in the reason did not add cells
    expect(body.match(/(^|[^\\])<!--/g)).toHaveLength(1); // the app's marker; the planted one is escaped text
    expect(body).not.toContain("](http");
  });

  it("a refresh that failed keeps its backoff when asked for again (no retry storm while GitHub is down)", async () => {
    await t.stateSu.query("DELETE FROM outbox WHERE kind = 'dashboard'");
    await touchDashboard(t.deps[0]!.state, FULL);
    await t.stateSu.query("UPDATE outbox SET attempts = 2, next_attempt_at = clock_timestamp() + interval '1 hour' WHERE kind = 'dashboard'");
    await touchDashboard(t.deps[0]!.state, FULL, { force: true });
    const { rows } = await t.stateSu.query("SELECT attempts, next_attempt_at > clock_timestamp() + interval '50 minutes' AS backoff, payload FROM outbox WHERE kind = 'dashboard'");
    expect(rows).toEqual([{ attempts: 2, backoff: true, payload: { repository: FULL, force: true } }]);
  });

  it("I10: no dashboard outside the access repositories the operator named (neither queued nor written)", async () => {
    const other = { mode: "listed" as const, entries: [{ name: "acme/elsewhere", keys: null }] };
    await t.stateSu.query("DELETE FROM outbox WHERE kind = 'dashboard'");
    await dashboardChanged({ state: t.deps[0]!.state, repositories: other }, FULL);
    expect((await t.stateSu.query("SELECT 1 FROM outbox WHERE kind = 'dashboard'")).rowCount).toBe(0);
    const before = t.e2e.sim.countRequests("issues/update") + t.e2e.sim.countRequests("issues/create");
    await touchDashboard(t.deps[0]!.state, FULL, { force: true });
    await t.stateSu.query("UPDATE outbox SET next_attempt_at = clock_timestamp() WHERE kind = 'dashboard'");
    const listedElsewhere = { ...github, repositories: other };
    const r = await drainOutbox(t.deps[0]!.state, { dashboard: dashboardHandler({ state: t.deps[0]!.state, github: listedElsewhere }) }, leadership);
    expect(r.done.map((d) => d.result)).toEqual(["skipped: JIT_REPO_NOT_ACCESS"]);
    expect(t.e2e.sim.countRequests("issues/update") + t.e2e.sim.countRequests("issues/create")).toBe(before);
  });
});
