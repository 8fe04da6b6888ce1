// Scheduled start end to end (issue 13 item 5): the real app on the GitHub simulator and a real
// PostgreSQL, with the in-app scheduler's timer. A request with `start` is checked against now and
// max_lead_time, recorded at merge (nothing granted), and granted at the start after re-verifying
// the policy at the default branch, the approvals against it, the role and the login (I1, I14, I16);
// the window is start..start + duration (I17). Deleting the file before the start cancels it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probotGitHub } from "../../src/github/installations.ts";
import { GitHubPolicySource } from "../../src/scheduler/policy-source.ts";
import { startScheduler, type Scheduler } from "../../src/scheduler/scheduler.ts";
import { DASHBOARD_LABEL } from "../../src/core/dashboard.ts";
import { dashboardKey } from "../../src/db/dashboard.ts";
import { dashboardHandler } from "../../src/jobs/dashboard.ts";
import { drainOutbox } from "../../src/scheduler/outbox.ts";
import { APP_ROLE, codesIn, OWNER, REPO, POLICY_YAML, requestPath, requestYaml, startJitE2E, type JitE2E } from "./app-fixture.ts";

// orders_readonly may be scheduled up to a day ahead; orders_admin sets no max_lead_time.
const SCHEDULED_POLICY = POLICY_YAML.replace("require_ticket: true\n", "require_ticket: true\n        max_lead_time: 1d\n");

let w: JitE2E;
let scheduler: Scheduler;
const logs: string[] = [];
const log = {
  info: (o: object, m: string) => logs.push(`${m} ${JSON.stringify(o)}`), warn: (o: object, m: string) => logs.push(`${m} ${JSON.stringify(o)}`), error: (o: object, m: string) => logs.push(`${m} ${JSON.stringify(o)}`),
};

beforeAll(async () => {
  w = await startJitE2E({ files: { "policies/orders.yaml": SCHEDULED_POLICY } });
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

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
/** The same instant written with a +01:00 offset, as a person in Berlin would. */
const berlin = (ms: number) => `${new Date(ms + 3_600_000).toISOString().replace(/\.\d{3}Z$/, "")}+01:00`;
/** A whole second at least `aheadMs` from now; the app's test clock is moved to now first. */
function startIn(aheadMs: number): number {
  w.e2e.clock.set(new Date());
  return Math.ceil((Date.now() + aheadMs) / 1000) * 1000;
}
const scheduledYaml = (start: string, o: Parameters<typeof requestYaml>[0] = {}) => `${requestYaml(o)}start: "${start}"\n`;

async function scheduledRow(requestId: string): Promise<{ status: string; close_code: string | null; starts_at: Date } | undefined> {
  const { rows } = await w.stateSu.query<{ status: string; close_code: string | null; starts_at: Date }>(
    "SELECT status, close_code, starts_at FROM scheduled_grants WHERE request_id = $1", [requestId]);
  return rows[0];
}

/** Polls (bounded) until the scheduled row is closed; the scheduler's timer does the work. */
async function closed(requestId: string, boundMs = 30_000): Promise<{ status: string; close_code: string | null }> {
  const until = Date.now() + boundMs;
  for (;;) {
    const row = await scheduledRow(requestId);
    if (row && row.status !== "scheduled") {
      await w.idle();
      return row;
    }
    if (Date.now() > until) throw new Error(`scheduled grant ${requestId} still ${row?.status ?? "absent"} after ${boundMs} ms; timer ${scheduler.timerArmedFor}; ${logs.slice(-10).join(" / ")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function approveAndMerge(number: number, approver = "dora"): Promise<void> {
  await w.repo.review(approver, number, "APPROVE");
  await w.idle();
  await w.repo.merge(number, { method: "squash" });
  await w.idle();
}

/** Runs the queued dashboard refresh now (the debounce is the outbox's next_attempt_at) and returns the issue's body. */
async function dashboardBody(): Promise<string> {
  await w.stateSu.query("UPDATE outbox SET next_attempt_at = clock_timestamp() WHERE dedupe_key = $1 AND NOT done", [dashboardKey(`${OWNER}/${REPO}`)]);
  const github = probotGitHub(w.e2e.app.probot, w.e2e.sim.app.id);
  await drainOutbox(w.deps[0]!.state, { dashboard: dashboardHandler({ state: w.deps[0]!.state, github }) }, { assertLeader: async () => {} });
  const issue = w.repo.issues().find((x) => !x.isPull && x.labels.includes(DASHBOARD_LABEL));
  return String(w.repo.repo.issues.get(issue!.number)?.body ?? "");
}

describe("scheduled start", () => {
  it("records at merge, grants nothing before the start, and grants at the start with the window start..start + duration", async () => {
    const start = startIn(15_000);
    const { number, headSha } = await w.request("alice", "alice-sched-1", scheduledYaml(berlin(start)));
    await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    const check = await w.check(headSha);
    expect(check.conclusion).toBe("success");
    expect(check.output.summary).toContain(`| Starts (scheduled) | ${iso(start)} (in `);
    expect(check.output.summary).toContain(`| Until | ${iso(start + 7_200_000)} (in 2h`);

    await w.repo.merge(number, { method: "squash" });
    await w.idle();
    expect(await scheduledRow("alice-sched-1")).toMatchObject({ status: "scheduled" });
    // Nothing granted yet: no membership, no ledger row at all.
    await w.nothingGranted("alice-sched-1");
    expect(await w.ledger("alice-sched-1")).toEqual([]);
    const said = w.comments(number).filter((c) => c.body.startsWith("🗓️ **jit-access**: scheduled"));
    expect(said).toHaveLength(1);
    expect(said[0]!.body).toContain(`from ${iso(start)} (in `);
    expect(said[0]!.body).toContain(`until ${iso(start + 7_200_000)} (in 2h`);
    // The dashboard lists it as scheduled: who, role, database, start, until, PR.
    const board = await dashboardBody();
    expect(board).toContain("### Scheduled grants (1)");
    expect(board).toMatch(new RegExp(`\\| \`alice\` \\| \`[^\`]+\` \\| \`orders_readonly\` \\| \`[^\`]+\` \\| \`alice-sched-1\` \\| ${iso(start)} \\([^)]*\\) \\| ${iso(start + 7_200_000)} \\([^)]*\\) \\| #${number} \\|`));
    // The periodic tick is off in this file: only the timer armed for the start can grant it.

    expect(await closed("alice-sched-1")).toMatchObject({ status: "activated", close_code: null });
    expect(await dashboardBody()).toContain("### Scheduled grants (0)\n\nNone.");
    expect(await w.appGranted()).toEqual([{ role: "orders_readonly", member: "alice", grantor: APP_ROLE }]);
    const [row, ...more] = await w.ledger("alice-sched-1");
    expect(more).toEqual([]);
    expect(row).toMatchObject({ status: "active", pr_number: number, head_sha: headSha, approvers: ["dora"] });
    expect(row!.granted_at!.getTime()).toBeGreaterThanOrEqual(start); // never before the start
    expect(row!.expires_at!.getTime()).toBe(start + 7_200_000); // the window is anchored at start
    expect(w.comments(number).filter((c) => c.body.includes("at its scheduled start")).map((c) => c.body)).toEqual([
      expect.stringContaining(`granted \`orders_readonly\` to \`alice\` on \`orders-prod\` at its scheduled start ${iso(start)}`),
    ]);
    expect(w.alerts()).toEqual([]);

  });

  it("check refuses a start in the past, beyond max_lead_time, without an offset, or on a role without max_lead_time", async () => {
    const now = startIn(0);
    const cases: [string, string, string][] = [
      ["bob-past", scheduledYaml(iso(now - 60_000)), "JIT_START_PAST"],
      ["bob-far", scheduledYaml(iso(now + 86_400_000 + 60_000)), "JIT_START_TOO_FAR"],
      ["bob-nooffset", scheduledYaml(iso(now + 3_600_000).replace("Z", "")), "JIT_START_INVALID"],
      ["bob-admin", scheduledYaml(iso(now + 3_600_000), { role: "orders_admin", duration: "30m", ticket: null }), "JIT_START_NOT_ALLOWED"],
    ];
    for (const [id, yaml, code] of cases) {
      const { number, headSha } = await w.request("bob", id, yaml);
      await w.repo.review("dora", number, "APPROVE");
      if (id === "bob-admin") await w.repo.review("dan", number, "APPROVE");
      await w.idle();
      const check = await w.check(headSha);
      expect(check.conclusion, id).toBe("failure");
      expect(codesIn(check.output.summary), id).toContain(code);
      // Merged anyway (admin bypass): refused, nothing granted, nothing scheduled.
      const refusal = await w.mergeAndRefusal(number);
      expect(refusal, id).toContain(code);
      await w.nothingGranted(id, "bob");
      expect(await scheduledRow(id), id).toBeUndefined();
    }
  });

  it("a start that was ahead at check but passed by the merge is refused at merge (judged against merged_at)", async () => {
    const start = startIn(60_000);
    const { number, headSha } = await w.request("bob", "bob-late-merge", scheduledYaml(iso(start)));
    await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    expect((await w.check(headSha)).conclusion).toBe("success");
    w.e2e.clock.advance(120_000); // GitHub merges two minutes later: merged_at is after start
    await w.repo.merge(number, { method: "squash" });
    await w.idle();
    const refusal = w.comments(number).find((c) => c.body.startsWith("❌ **jit-access**: nothing was granted"));
    expect(codesIn(refusal?.body)).toContain("JIT_START_PAST");
    await w.nothingGranted("bob-late-merge", "bob");
    expect(await scheduledRow("bob-late-merge")).toBeUndefined();
  });

  it("I1: a policy change between merge and start that removes eligibility grants nothing at start, recorded and commented", async () => {
    const alerts = w.alerts().length;
    const start = startIn(15_000);
    const { number } = await w.request("bob", "bob-policy-change", scheduledYaml(iso(start)));
    await approveAndMerge(number);
    expect(await scheduledRow("bob-policy-change")).toMatchObject({ status: "scheduled" });
    // The DBAs no longer approve this role: only security does. dora's approval must not carry over.
    await w.repo.pushToDefaultBranch({ "policies/orders.yaml": SCHEDULED_POLICY.replace('approvers: ["@acme/dba"]\n        requesters: ["@acme/engineering", "@acme/dba"]\n        require_ticket', 'approvers: ["@acme/security"]\n        requesters: ["@acme/engineering", "@acme/dba"]\n        require_ticket') }, { asUser: "sam" });
    try {
      expect(await closed("bob-policy-change")).toEqual(expect.objectContaining({ status: "refused", close_code: "JIT_APPROVAL_NO_LONGER_ELIGIBLE" }));
      await w.nothingGranted("bob-policy-change", "bob");
      expect(await w.ledger("bob-policy-change")).toEqual([]);
      const refused = w.comments(number).filter((c) => c.body.includes("nothing was granted at the scheduled start"));
      expect(refused).toHaveLength(1);
      expect(codesIn(refused[0]!.body)).toContain("JIT_APPROVAL_NO_LONGER_ELIGIBLE");
      expect(w.alerts()).toHaveLength(alerts); // a benign refusal: explained on the PR, not alerted
    } finally {
      await w.repo.pushToDefaultBranch({ "policies/orders.yaml": SCHEDULED_POLICY }, { asUser: "sam" });
      await w.idle();
    }
  });

  it("I1: a requester removed from the requester teams between merge and start gets nothing", async () => {
    const start = startIn(15_000);
    const { number } = await w.request("bob", "bob-left-team", scheduledYaml(iso(start)));
    await approveAndMerge(number);
    expect((await scheduledRow("bob-left-team"))?.status).toBe("scheduled");
    w.e2e.sim.removeTeamMember("acme", "engineering", "bob");
    try {
      expect(await closed("bob-left-team")).toMatchObject({ status: "refused", close_code: "JIT_REQUESTER_NOT_ALLOWED" });
      await w.nothingGranted("bob-left-team", "bob");
      expect(w.comments(number).some((c) => c.body.includes("nothing was granted at the scheduled start"))).toBe(true);
    } finally {
      w.e2e.sim.addTeamMember("acme", "engineering", "bob");
    }
  });

  // The check bound each login by OID (I16): absent or another OID at the start is JIT_TARGET_CHANGED.
  it("I16: the login dropped before the start, or dropped and re-created, grants nothing", async () => {
    const start = startIn(15_000);
    const a = await w.request("carol", "carol-dropped", scheduledYaml(iso(start)));
    await approveAndMerge(a.number);
    const b = await w.request("dora", "dora-recreated", scheduledYaml(iso(start)));
    await approveAndMerge(b.number, "dan");
    expect((await scheduledRow("carol-dropped"))?.status).toBe("scheduled");
    expect((await scheduledRow("dora-recreated"))?.status).toBe("scheduled");
    await w.su.query("DROP ROLE carol");
    await w.su.query("DROP ROLE dora");
    await w.su.query("CREATE ROLE dora LOGIN");
    try {
      expect(await closed("carol-dropped")).toEqual(expect.objectContaining({ status: "refused", close_code: "JIT_TARGET_CHANGED" }));
      expect(await closed("dora-recreated")).toEqual(expect.objectContaining({ status: "refused", close_code: "JIT_TARGET_CHANGED" }));
      await w.nothingGranted("carol-dropped", "carol");
      await w.nothingGranted("dora-recreated", "dora");
      expect(w.comments(a.number).some((c) => c.body.includes("nothing was granted at the scheduled start") && c.body.includes("JIT_TARGET_CHANGED"))).toBe(true);
      expect(w.comments(b.number).some((c) => c.body.includes("nothing was granted at the scheduled start") && c.body.includes("JIT_TARGET_CHANGED"))).toBe(true);
    } finally {
      await w.su.query("CREATE ROLE carol LOGIN");
    }
  });

  it("deleting a scheduled request file before the start cancels it: no GRANT ever, recorded, id used up", async () => {
    const alerts = w.alerts().length;
    const before = await w.appGranted();
    const start = startIn(3_600_000);
    const { number } = await w.request("alice", "alice-cancel", scheduledYaml(iso(start)));
    await approveAndMerge(number);
    expect((await scheduledRow("alice-cancel"))?.status).toBe("scheduled");

    // An edit of a scheduled request is refused (only a deletion may change it).
    const edit = await w.repo.openPullRequest("alice", "edit/alice-cancel", { [requestPath("alice-cancel")]: scheduledYaml(iso(start), { duration: "4h" }) }, { title: "longer" });
    await w.idle();
    expect(codesIn((await w.check(edit.headSha)).output.summary)).toContain("JIT_REQUEST_SCHEDULED");
    await w.repo.close(edit.number);
    await w.idle();

    const del = await w.repo.openPullRequest("alice", "cancel/alice-cancel", { [requestPath("alice-cancel")]: null }, { title: "not needed" });
    await w.idle();
    await w.repo.merge(del.number, { method: "squash" });
    await w.idle();
    expect(await scheduledRow("alice-cancel")).toMatchObject({ status: "cancelled", close_code: "JIT_SCHEDULE_CANCELLED" });
    expect(w.comments(del.number).filter((c) => c.body.includes("cancelled the scheduled grant"))).toHaveLength(1);
    expect(await w.appGranted()).toEqual(before); // alice holds only the grant of the first test
    expect(await w.ledger("alice-cancel")).toEqual([]);
    const { rows } = await w.stateSu.query<{ kind: string; code: string | null }>(
      "SELECT kind, code FROM events WHERE request_id = 'alice-cancel' ORDER BY id");
    expect(rows).toEqual([{ kind: "scheduled", code: null }, { kind: "schedule_cancelled", code: "JIT_SCHEDULE_CANCELLED" }]);

    // The id is used up: adding the file again is refused at check.
    const again = await w.request("alice", "alice-cancel", scheduledYaml(iso(startIn(3_600_000))), { branch: "req/alice-cancel-again" });
    expect(codesIn((await w.check(again.headSha)).output.summary)).toContain("JIT_REQUEST_ID_USED");
    expect(w.alerts()).toHaveLength(alerts);
  });
});
