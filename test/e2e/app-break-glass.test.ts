// Break-glass end to end (issue 13 item 6): the real app on the GitHub simulator and a real
// PostgreSQL. A request PR with `break_glass: true` by an allowed requester is granted when it is
// opened, without merge or approval, loudly (comment, jit-alert issue); one open break-glass per
// person; later commits widen nothing; an eligible approval and merge continue it as a normal grant
// (window unchanged); without them the deadline revokes, closes the PR and files an incident.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probotGitHub } from "../../src/github/installations.ts";
import { GitHubPolicySource } from "../../src/scheduler/policy-source.ts";
import { startScheduler, type Scheduler } from "../../src/scheduler/scheduler.ts";
import { DASHBOARD_LABEL } from "../../src/core/dashboard.ts";
import { dashboardKey } from "../../src/db/dashboard.ts";
import { dashboardHandler } from "../../src/jobs/dashboard.ts";
import { drainOutbox } from "../../src/scheduler/outbox.ts";
import { APP_ROLE, codesIn, OWNER, REPO, POLICY_YAML, requestPath, requestYaml, startJitE2E, type JitE2E } from "./app-fixture.ts";

const BG_POLICY = POLICY_YAML.replace("require_ticket: true\n",
  'require_ticket: true\n        break_glass: { requesters: ["@acme/oncall"], max_duration: 1h, retro_approval_within: 4h }\n')
  .replace("      orders_admin:\n        max_duration: 1h\n",
    '      orders_admin:\n        max_duration: 1h\n        break_glass: { requesters: ["@acme/oncall"], max_duration: 30m, retro_approval_within: 4h }\n');

let w: JitE2E;
let scheduler: Scheduler;
const log = { info: () => {}, warn: () => {}, error: () => {} };

beforeAll(async () => {
  w = await startJitE2E({ files: { "policies/orders.yaml": BG_POLICY } });
  w.e2e.sim.createTeam("acme", "oncall", { members: ["alice", "bob"] });
  const deps = w.deps[0]!;
  const github = probotGitHub(w.e2e.app.probot, w.e2e.sim.app.id);
  scheduler = startScheduler({
    state: deps.state, engines: deps.engines, github, log, config: { sweepIntervalMs: 0, remindBeforeMs: 0 },
    policies: new GitHubPolicySource({ github, state: deps.state, ttlMs: 0 }), activation: { engines: deps.engines },
  });
  deps.onGrant = () => scheduler.poke();
  await scheduler.ready;
});
afterAll(async () => {
  await scheduler?.stop();
  await w?.stop();
});

const bgYaml = (o: Parameters<typeof requestYaml>[0] = {}) => `${requestYaml({ duration: "30m", ...o })}break_glass: true\n`;
const bgAlerts = (code: string) => w.alerts().filter((a) => a.title.includes(code) || a.body.includes(code));
async function bgRow(requestId: string): Promise<{ status: string; deadline: Date } | undefined> {
  const { rows } = await w.stateSu.query<{ status: string; deadline: Date }>("SELECT status, deadline FROM break_glass_grants WHERE request_id = $1", [requestId]);
  return rows[0];
}

/** Runs the queued dashboard refresh now (the debounce is the outbox's next_attempt_at) and returns the issue's body. */
async function dashboardBody(): Promise<string> {
  const full = `${OWNER}/${REPO}`;
  const { rowCount } = await w.stateSu.query("UPDATE outbox SET next_attempt_at = clock_timestamp() WHERE dedupe_key = $1 AND NOT done", [dashboardKey(full)]);
  expect(rowCount).toBe(1); // the grant or its confirmation asked for a refresh
  const github = probotGitHub(w.e2e.app.probot, w.e2e.sim.app.id);
  await drainOutbox(w.deps[0]!.state, { dashboard: dashboardHandler({ state: w.deps[0]!.state, github }) }, { assertLeader: async () => {} });
  const issue = w.repo.issues().find((i) => !i.isPull && i.labels.includes(DASHBOARD_LABEL));
  return String(w.repo.repo.issues.get(issue!.number)?.body ?? "");
}

describe("break-glass", () => {
  it("I1: a break-glass by someone not among its requesters grants nothing (JIT_BREAK_GLASS_NOT_ALLOWED)", async () => {
    const { headSha } = await w.request("carol", "carol-bg", bgYaml());
    const check = await w.check(headSha);
    expect(check.conclusion).toBe("failure");
    expect(codesIn(check.output.summary)).toContain("JIT_BREAK_GLASS_NOT_ALLOWED");
    await w.nothingGranted("carol-bg", "carol");
    expect(await bgRow("carol-bg")).toBeUndefined();
  });

  it("a break-glass longer than break_glass.max_duration grants nothing (JIT_BREAK_GLASS_DURATION)", async () => {
    const { headSha } = await w.request("bob", "bob-bg-long", bgYaml({ duration: "2h" }));
    expect(codesIn((await w.check(headSha)).output.summary)).toContain("JIT_BREAK_GLASS_DURATION");
    await w.nothingGranted("bob-bg-long", "bob");
  });

  it("an allowed requester is granted at once without merge, loudly; a second one is refused; commits widen nothing; retro approval continues it", async () => {
    const { number, headSha } = await w.request("bob", "bob-bg", bgYaml());
    expect(await w.appGranted()).toEqual([{ role: "orders_readonly", member: "bob", grantor: APP_ROLE }]);
    const [row] = await w.ledger("bob-bg");
    expect(row).toMatchObject({ status: "active", pr_number: number, head_sha: headSha, approvers: [], merge_sha: null, duration_ms: "1800000" });
    expect(w.comments(number).filter((c) => c.body.includes("BREAK-GLASS"))).toHaveLength(1);
    expect(bgAlerts("JIT_BREAK_GLASS_GRANTED")).toHaveLength(1);
    expect((await w.check(headSha)).conclusion).not.toBe("success"); // never auto-approved
    expect(await bgRow("bob-bg")).toMatchObject({ status: "open" });
    // The dashboard shows it awaiting retro-approval, with its deadline and PR.
    const deadline = (await bgRow("bob-bg"))!.deadline.toISOString().replace(/\.\d{3}Z$/, "Z");
    const board = await dashboardBody();
    expect(board).toContain("### Break-glass grants awaiting retro-approval (1)");
    expect(board).toMatch(new RegExp(`\\| \`bob\` \\| \`[^\`]+\` \\| \`orders_readonly\` \\| \`[^\`]+\` \\| \`bob-bg\` \\| ${deadline} \\(in [34] h\\) \\| #${number} \\|`));

    // One open break-glass per person.
    // (another role: the same one would be an overlap, refused at check before break-glass is tried)
    const second = await w.request("bob", "bob-bg-2", bgYaml({ role: "orders_admin", ticket: null }));
    expect(w.comments(second.number).some((c) => c.body.includes("JIT_BREAK_GLASS_ACTIVE"))).toBe(true);
    expect(await w.ledger("bob-bg-2")).toEqual([]);
    expect(await bgRow("bob-bg-2")).toBeUndefined();
    await w.repo.close(second.number);
    await w.idle();

    // A new commit asking for more changes nothing about the grant.
    await w.repo.pushCommits("bob", number, { [requestPath("bob-bg")]: bgYaml({ duration: "1h" }) });
    await w.idle();
    const [after] = await w.ledger("bob-bg");
    expect(after!.expires_at).toEqual(row!.expires_at);
    expect(after!.duration_ms).toBe("1800000");
    expect(w.comments(number).filter((c) => c.body.includes("BREAK-GLASS"))).toHaveLength(1);

    // Eligible approval and merge: the grant continues as a normal one, window unchanged.
    await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    await w.repo.merge(number, { method: "squash" });
    await w.idle();
    expect(await bgRow("bob-bg")).toMatchObject({ status: "confirmed" });
    expect(await dashboardBody()).toContain("### Break-glass grants awaiting retro-approval (0)\n\nNone.");
    const [merged] = await w.ledger("bob-bg");
    expect(merged).toMatchObject({ status: "active" });
    expect(merged!.expires_at).toEqual(row!.expires_at);
  });

  it("without approval by the deadline: revoked, the PR closed, an incident issue filed", async () => {
    const { number } = await w.request("alice", "alice-bg", bgYaml());
    expect((await w.appGranted()).filter((m) => m.member === "alice")).toHaveLength(1);
    // The deadline comes (fake time: moved in the state database, whose clock decides).
    await w.stateSu.query("UPDATE break_glass_grants SET deadline = clock_timestamp() WHERE request_id = 'alice-bg'");
    await scheduler.runOnce();
    await w.idle();
    expect(await bgRow("alice-bg")).toMatchObject({ status: "expired" });
    await w.nothingGranted("alice-bg", "alice");
    const [row] = await w.ledger("alice-bg");
    expect(row).toMatchObject({ status: "revoked" });
    expect(w.repo.pulls().find((p) => p.number === number)).toMatchObject({ state: "closed", merged: false });
    expect(bgAlerts("JIT_BREAK_GLASS_EXPIRED")).toHaveLength(1);
    expect(w.comments(number).some((c) => c.body.includes("got no eligible approval and merge by its deadline"))).toBe(true);
    // Single-use: reopening and re-running grants nothing again.
    await w.repo.reopen(number);
    await w.idle();
    await w.nothingGranted("alice-bg", "alice");
  });

  it.each<[string, { commitAuthor?: string; coAuthors?: string[] }]>([
    ["alice-bg-authored", { commitAuthor: "dora" }],
    ["alice-bg-coauthored", { coAuthors: ["dora"] }],
  ])("I13: a break-glass PR whose commit is not the requester's alone grants nothing (%s)", async (id, o) => {
    const { number } = await w.repo.openPullRequest("alice", `req/${id}`, { [requestPath(id)]: bgYaml() }, { title: "bg", ...o });
    await w.idle();
    await w.nothingGranted(id, "alice");
    expect(await bgRow(id)).toBeUndefined();
    expect(w.comments(number).some((c) => c.body.includes("JIT_BREAK_GLASS_UNATTRIBUTED"))).toBe(true);
  });

  it("I1: a break-glass PR that also edits the policy (to allow itself) grants nothing", async () => {
    const { headSha } = await w.request("carol", "carol-bg-policy", bgYaml(), {
      extra: { "policies/orders.yaml": BG_POLICY.replace('requesters: ["@acme/oncall"]', 'requesters: ["@acme/oncall", "carol"]') },
    });
    expect(codesIn((await w.check(headSha)).output.summary)).toEqual(expect.arrayContaining(["JIT_PR_TOUCHES_OTHER_FILES", "JIT_BREAK_GLASS_NOT_ALLOWED"]));
    await w.nothingGranted("carol-bg-policy", "carol");
    expect(await bgRow("carol-bg-policy")).toBeUndefined();
  });
});
