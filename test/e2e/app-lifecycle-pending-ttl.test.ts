// Issue 13 item 4 end to end: a request PR still open after its role's (or database's) pending_ttl
// is closed by the app with a comment, once, on the leader's pass; others stay open; `jit status`
// lists the closure; the check shows the TTL beforehand. Nothing is granted and nothing alerted.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installedRepositories } from "../../src/github/installations.ts";
import { closeStalePending } from "../../src/jobs/pending-ttl.ts";
import { run as status } from "../../src/cli/status.ts";
import { POLICY_YAML, requestPath, requestYaml, startJitE2E, type JitE2E } from "./app-fixture.ts";

let w: JitE2E;
beforeAll(async () => { w = await startJitE2E(); });
afterAll(async () => { await w?.stop(); });

const H = 3_600_000;
const TTL_POLICY = POLICY_YAML
  .replace("    connection_env:", "    pending_ttl: 7d\n    connection_env:")
  .replace("        require_ticket: true\n", "        require_ticket: true\n        pending_ttl: 72h\n");

const pass = () => closeStalePending({ deps: w.deps[0]!, repositories: installedRepositories(w.e2e.apps[0]!.probot) });
const state = async (repo: JitE2E["repo"], n: number) => ((await repo.pull(n)) as { state: string }).state;

describe("pending_ttl (item 4)", () => {
  it("closes a request PR open longer than its role's pending_ttl, once, with a comment; the database's TTL covers the other role; other repositories untouched", async () => {
    const repo = await w.newRepo("access-ttl", { files: { "policies/orders.yaml": TTL_POLICY } });
    const readonly = await w.request("alice", "alice-ttl", requestYaml(), { repo });
    const admin = await w.request("bob", "bob-ttl", requestYaml({ role: "orders_admin", ticket: null }), { repo });
    const elsewhere = await w.request("carol", "carol-no-ttl"); // the main repository: no pending_ttl
    const check = await w.check(readonly.headSha, repo);
    expect(check.output.summary).toContain("| Pending TTL | 3d: the app closes this pull request if it is still open that long after it was opened |");

    w.e2e.clock.advance(71 * H);
    expect((await pass()).closed).toEqual([]);
    w.e2e.clock.advance(2 * H);
    const first = await pass();
    await w.idle();
    expect(first.closed).toEqual([{ repository: "acme/access-ttl", number: readonly.number, path: requestPath("alice-ttl") }]);
    expect(await state(repo, readonly.number)).toBe("closed");
    expect(await state(repo, admin.number)).toBe("open");
    expect(await state(w.repo, elsewhere.number)).toBe("open");
    const notes = w.comments(readonly.number, repo).filter((c) => c.body.startsWith("⏳ **jit-access**: @alice"));
    expect(notes).toHaveLength(1);
    expect(notes[0]!.body).toContain("pending_ttl of 3d");
    expect(notes[0]!.body).toContain("JIT_PENDING_TTL_EXPIRED");
    expect(notes[0]!.user).toBe(w.e2e.sim.app.botLogin);
    // the closed PR's check says it was not merged; nothing granted, no alert
    expect((await w.check(readonly.headSha, repo)).output.title).toMatch(/JIT_PR_NOT_MERGED/);
    expect(await w.ledger("alice-ttl")).toEqual([]);
    expect(w.alerts(repo)).toEqual([]);

    // A second pass (another replica, a retry) closes and says nothing more.
    expect((await pass()).closed).toEqual([]);
    expect(w.comments(readonly.number, repo).filter((c) => c.body.includes("JIT_PENDING_TTL_EXPIRED"))).toHaveLength(1);

    // The database's pending_ttl (7d) applies to the role without its own.
    w.e2e.clock.advance(4 * 24 * H);
    const later = await pass();
    await w.idle();
    expect(later.closed.map((c) => c.number)).toEqual([admin.number]);
    expect(await state(w.repo, elsewhere.number)).toBe("open");

    // jit status lists the closures
    const out: string[] = [];
    const io = { out: (s: string) => out.push(s), err: (s: string) => out.push(s), env: { DATABASE_URL: w.e2e.pg!.superuserUrl("jit_state") }, cwd: process.cwd() };
    expect(await status(["--format", "json"], io as never)).toBe(0);
    const json = JSON.parse(out.join("\n")) as { pendingClosed: { repository: string; prNumber: number; requestId: string }[] };
    expect(json.pendingClosed.map((c) => [c.repository, c.prNumber, c.requestId])).toEqual([
      ["acme/access-ttl", admin.number, "bob-ttl"], ["acme/access-ttl", readonly.number, "alice-ttl"],
    ]);
  });

  it("I13: max_approval_age — an approval older than it no longer counts (JIT_APPROVAL_TOO_OLD): the check is no longer green, and a merge anyway is refused", async () => {
    const aged = POLICY_YAML.replace("        require_ticket: true\n", "        require_ticket: true\n        max_approval_age: 72h\n");
    const repo = await w.newRepo("access-aged", { files: { "policies/orders.yaml": aged } });
    const { number, headSha } = await w.request("carol", "carol-aged", requestYaml(), { repo });
    await repo.review("dora", number, "APPROVE");
    await w.idle();
    expect((await w.check(headSha, repo)).conclusion).toBe("success");
    w.e2e.clock.advance(73 * H);
    const run = await w.check(headSha, repo);
    await repo.rerequestCheckRun(run.id, "carol");
    await w.idle();
    const stale = await w.check(headSha, repo);
    expect(stale.conclusion).not.toBe("success");
    expect(stale.output.title).toMatch(/^JIT_APPROVALS_MISSING: .*not counted: @dora \(JIT_APPROVAL_TOO_OLD\)/);
    expect(stale.output.summary).toContain("**JIT_APPROVAL_TOO_OLD**");
    const body = await w.mergeAndRefusal(number, repo);
    expect(body).toContain("JIT_APPROVALS_MISSING");
    await w.nothingGranted("carol-aged", "carol");
  });
});
