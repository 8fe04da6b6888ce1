// Git true after every revoke, end to end on the simulator and a real PostgreSQL. A grant revoked
// early (as `jit revoke` does: the engine, then the revert queued) gets the same revert PR as an
// expiry, worded as an early revoke with its reason; a merge the app refused gets a PR removing the
// request file with the refusal in its body. One PR per request, I11 branches, nothing granted.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePolicies } from "../../src/core/policy.ts";
import { probotGitHub, type GitHubAccess } from "../../src/github/installations.ts";
import { REFUSAL_PR_KIND, refusalPrHandler } from "../../src/jobs/refusal-pr.ts";
import { drainOutbox } from "../../src/scheduler/outbox.ts";
import { revertPrHandler } from "../../src/scheduler/revert-job.ts";
import { enqueueRevert, REVERT_PR_KIND } from "../../src/scheduler/sweep.ts";
import { DB_KEY, OWNER, POLICY_YAML, REPO, requestPath, requestYaml, startJitE2E, type JitE2E } from "./app-fixture.ts";

const FULL = `${OWNER}/${REPO}`;
let t: JitE2E;
let github: GitHubAccess;
const leadership = { assertLeader: async () => {} };
const options = { merge: true, mergeMethod: "squash" as const, label: "jit-expired" };

async function drain() {
  const state = t.deps[0]!.state;
  const report = await drainOutbox(state, {
    [REVERT_PR_KIND]: revertPrHandler({ state, github, options }),
    [REFUSAL_PR_KIND]: refusalPrHandler({ state, github, options }),
  }, leadership);
  await t.idle(); // the merged PRs' own deliveries
  return report;
}

beforeAll(async () => {
  t = await startJitE2E();
  github = probotGitHub(t.e2e.app.probot, t.e2e.sim.app.id);
});
afterAll(async () => {
  await t?.stop();
});

describe("git true after every revoke", () => {
  it("an early revoke (jit revoke's path) gets a revert PR worded as such, with the reason; once per request", async () => {
    const { number } = await t.request("alice", "alice-early-1");
    await t.repo.review("dora", number, "APPROVE");
    await t.idle();
    await t.repo.merge(number, { method: "squash" });
    await t.idle();
    expect((await t.ledger("alice-early-1"))[0]!.status).toBe("active");
    const policy = parsePolicies([{ path: "policies/orders.yaml", bytes: new TextEncoder().encode(POLICY_YAML) }]);
    if (!policy.ok || !policy.details) throw new Error(policy.message);
    const key = { repository: FULL, database: DB_KEY, requestId: "alice-early-1" };
    const r = await t.deps[0]!.engines.engine(policy.details).revoke(key, { reason: "incident closed @dora fixes #1", actor: "cli:oncall" });
    expect(r.ok).toBe(true);
    const row = (await t.ledger("alice-early-1"))[0]!;
    const g = { id: row.id, repository: FULL, database: DB_KEY, requestId: "alice-early-1", path: requestPath("alice-early-1") };
    expect(await enqueueRevert(t.deps[0]!.state, g)).toBe(true);
    expect(await enqueueRevert(t.deps[0]!.state, g)).toBe(false);
    const report = await drain();
    expect(report.done.map((d) => d.result)).toEqual([expect.stringMatching(/^merged #\d+$/)]);
    const pr = t.repo.pulls().find((p) => p.title.startsWith("Revoke orders-prod/alice-early-1"))!;
    expect(pr).toMatchObject({ merged: true, user: t.e2e.sim.app.botLogin });
    expect(pr.headRef).toMatch(/^jit\/expire\/orders-prod\/alice-early-1-[0-9a-f]{16}$/);
    const body = String(t.repo.repo.issues.get(pr.number)!.body);
    expect(body).toContain("was revoked early by jit-access");
    expect(body).toContain("| Reason | incident closed `@dora` fixes `#1` |");
    // What the grantee did: sampled at grant and revoke; no session was open, and the summary says what it could not see.
    expect(body).toContain("### Activity during the window");
    expect(body).toContain("- Sessions seen: 0");
    expect(body).toContain("- pg_stat_statements is not installed in the target database");
    expect(await t.repo.fileAt(t.repo.defaultBranch, requestPath("alice-early-1"))).toBeNull();
    await t.nothingGranted("alice-early-1");
  });

  it("a refused merge gets one PR removing the request file, the refusal (code, reasons) inert in its body; nothing granted", async () => {
    const { number } = await t.request("alice", "alice-refused-1", requestYaml({ reason: "please @dora fixes #1 <!-- jit-access:revert:x -->" }));
    const refusal = await t.mergeAndRefusal(number); // admin merge, no approval
    expect(refusal).toContain("JIT_APPROVALS_MISSING");
    expect(await t.repo.fileAt(t.repo.defaultBranch, requestPath("alice-refused-1"))).not.toBeNull();
    const { rows } = await t.stateSu.query("SELECT kind, payload FROM outbox WHERE kind = $1", [REFUSAL_PR_KIND]);
    expect(rows).toHaveLength(1);
    expect(rows[0].payload).toMatchObject({ repository: FULL, prNumber: number, code: "JIT_APPROVALS_MISSING" });

    const report = await drain();
    expect(report.done.map((d) => d.result)).toEqual([expect.stringMatching(/^merged #\d+$/)]);
    const pr = t.repo.pulls().find((p) => p.title === "Remove refused request orders-prod/alice-refused-1")!;
    expect(pr).toMatchObject({ merged: true, user: t.e2e.sim.app.botLogin });
    expect(pr.headRef).toMatch(/^jit\/expire\/orders-prod\/alice-refused-1-[0-9a-f]{16}$/);
    const body = String(t.repo.repo.issues.get(pr.number)!.body);
    expect(body).toContain(`The merge of #${number} was refused by jit-access (**JIT_APPROVALS_MISSING**): nothing was granted.`);
    expect(body.match(/(^|[^\\])<!--/g)).toHaveLength(1); // only the app's own marker
    expect(await t.repo.fileAt(t.repo.defaultBranch, requestPath("alice-refused-1"))).toBeNull();
    await t.nothingGranted("alice-refused-1");
    // Redelivered closed event: no second item, no second PR.
    await drain();
    expect(t.repo.pulls().filter((p) => p.title === "Remove refused request orders-prod/alice-refused-1")).toHaveLength(1);
  });

  it("a refused PR that also changed another file: only its request file is removed", async () => {
    const { number } = await t.request("alice", "alice-refused-2", requestYaml(), { extra: { "README.md": "# access, edited\n" } });
    await t.mergeAndRefusal(number);
    const report = await drain();
    expect(report.done.filter((d) => d.kind === REFUSAL_PR_KIND).map((d) => d.result)).toEqual([expect.stringMatching(/^merged #\d+$/)]);
    expect(await t.repo.fileAt(t.repo.defaultBranch, requestPath("alice-refused-2"))).toBeNull();
    expect(String(await t.repo.fileAt(t.repo.defaultBranch, "README.md"))).toContain("edited");
    await t.nothingGranted("alice-refused-2");
  });

  it("a refused extension of a live grant removes nothing: the file belongs to the active grant", async () => {
    const { number } = await t.request("alice", "alice-live-1");
    await t.repo.review("dora", number, "APPROVE");
    await t.idle();
    await t.repo.merge(number, { method: "squash" });
    await t.idle();
    const ext = await t.request("alice", "alice-live-1", requestYaml({ duration: "4h" }), { branch: "ext/alice-live-1" });
    await t.mergeAndRefusal(ext.number);
    const report = await drain();
    expect(report.done.filter((d) => d.kind === REFUSAL_PR_KIND).map((d) => d.result)).toEqual(["skipped: orders-prod/alice-live-1 has an open grant"]);
    expect(await t.repo.fileAt(t.repo.defaultBranch, requestPath("alice-live-1"))).not.toBeNull();
    expect((await t.ledger("alice-live-1"))[0]!.status).toBe("active");
  });
});
