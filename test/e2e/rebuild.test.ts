// `jit rebuild` end to end: history made by the app on the simulator (a grant extended, then ended
// by `jit revoke`; a grant revoked early by a deletion PR; a refused merge with a forged "granted"
// comment under it), the state schema dropped, the ledger rebuilt from GitHub with no target
// connection, and then: a replayed merge delivery grants nothing, a reused request id is refused.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { captureIo } from "../../src/cli/io.ts";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { probotGitHub } from "../../src/github/installations.ts";
import { memoryInProcess, openRevertPr } from "../../src/github/revert-pr.ts";
import { POLICY_YAML, requestPath, requestYaml, startJitE2E, type JitE2E } from "./app-fixture.ts";

let w: JitE2E;
let policyDir: string;
beforeAll(async () => {
  w = await startJitE2E();
  policyDir = await mkdtemp(join(tmpdir(), "jit-rebuild-"));
  await mkdir(join(policyDir, "policies"));
  await writeFile(join(policyDir, "policies", "orders.yaml"), POLICY_YAML);
});
afterAll(async () => {
  await w?.stop();
  if (policyDir) await rm(policyDir, { recursive: true, force: true });
});

/** The CLI's environment: the App's credentials and the state database, and no target connection variable. */
function cliEnv(): Record<string, string> {
  const e = w.appEnv;
  return { DATABASE_URL: e.DATABASE_URL!, APP_ID: e.APP_ID!, PRIVATE_KEY: e.PRIVATE_KEY!, GITHUB_API_URL: e.GITHUB_API_URL! };
}

async function cli(args: string[], env = cliEnv(), cwd?: string) {
  const io = captureIo(env, cwd);
  const code = await main(args, io);
  return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}

async function granted(user: string, id: string, yaml = requestYaml()): Promise<number> {
  const { number } = await w.request(user, id, yaml);
  await w.repo.review("dora", number, "APPROVE");
  await w.idle();
  await w.repo.merge(number, { method: "squash" });
  await w.idle();
  return number;
}

describe("jit rebuild", () => {
  it("I9: rebuilds the ledger from GitHub after the state schema is dropped; a replayed merge grants nothing; ids stay single-use", async () => {
    // alice: granted, extended, then ended by an operator's `jit revoke` (GitHub never hears of it)
    const alicePr = await granted("alice", "alice-rb", requestYaml({ duration: "1h", reason: "Rebuild drill", ticket: "INC-9" }));
    const ext = await w.repo.openPullRequest("alice", "ext/alice-rb", { [requestPath("alice-rb")]: requestYaml({ duration: "3h", reason: "Rebuild drill", ticket: "INC-9" }) });
    await w.idle();
    await w.repo.review("dan", ext.number, "APPROVE");
    await w.idle();
    await w.repo.merge(ext.number, { method: "merge" });
    await w.idle();
    const revoked = await cli(["revoke", "orders-prod/alice-rb", "--reason", "drill", "--repo", policyDir], { ...cliEnv(), ...w.appEnv });
    expect(revoked.code, revoked.err).toBe(0);
    // bob: granted, then revoked early by his own deletion PR
    const bobPr = await granted("bob", "bob-rb");
    const del = await w.repo.openPullRequest("bob", "done/bob-rb", { [requestPath("bob-rb")]: null }, { title: "done" });
    await w.idle();
    await w.repo.merge(del.number, { method: "squash" });
    await w.idle();
    // alice again: granted, ended (as at expiry) and reverted by the app's own revert PR, which it merged
    const expPr = await granted("alice", "alice-exp");
    expect((await cli(["revoke", "orders-prod/alice-exp", "--reason", "expired", "--repo", policyDir], { ...cliEnv(), ...w.appEnv })).code).toBe(0);
    const [expRow] = await w.ledger("alice-exp");
    const octokit = await probotGitHub(w.e2e.app.probot).octokitFor("acme/access");
    const revert = await openRevertPr(octokit, { owner: "acme", repo: "access" }, {
      ledgerId: expRow!.id, repository: "acme/access", database: "orders-prod", requestId: "alice-exp", path: requestPath("alice-exp"), requester: "alice",
      prNumber: expPr, role: "orders_readonly", dbUser: "alice", approvers: ["dora"], grantedAt: new Date(), expiresAt: new Date(), revokedAt: new Date(),
      revokedBy: "test", sessionsEnded: 0, verification: null,
    }, { merge: true, mergeMethod: "squash", label: "jit-expired" }, memoryInProcess());
    expect(revert.state).toBe("merged");
    await w.idle();
    // carol: merged without approval (refused); then she forges the app's "granted" sentence under it
    const carol = await w.request("carol", "carol-rb");
    const refusal = await w.mergeAndRefusal(carol.number);
    const code = /\*\*(JIT_[A-Z_]+)\*\*/.exec(refusal)![1];
    w.repo.comment("carol", carol.number, "✅ **jit-access**: granted `orders_admin` to `carol` on `orders-prod` until tomorrow. Approved by @dora.");
    await w.idle();

    // a request merged into another branch never granted: the rebuild does not consume its id
    await w.repo.commitToBranch("alice", "staging", { files: { "NOTES.md": "staging\n" }, message: "staging" });
    const side = await w.repo.openPullRequest("alice", "side/alice-side", { [requestPath("alice-side")]: requestYaml() }, { base: "staging" });
    await w.idle();
    await w.repo.review("dora", side.number, "APPROVE");
    await w.idle();
    await w.repo.merge(side.number, { method: "squash" });
    await w.idle();

    const before = await w.ledger();
    expect(before.filter((r) => r.status === "active")).toEqual([]);
    expect(await w.appGranted()).toEqual([]);

    // The state is lost.
    await w.stateSu.query("DROP SCHEMA public CASCADE");
    await w.stateSu.query("CREATE SCHEMA public");

    const rebuilt = await cli(["rebuild", "--repo", "acme/access", "--format", "json"]);
    expect(rebuilt.err).toContain("merged pull requests");
    expect(rebuilt.code, rebuilt.err).toBe(0);
    const summary = JSON.parse(rebuilt.out);
    expect(summary.byStatus).toEqual({ revoked: 3, failed: 1 });

    const rows = (await w.stateSu.query(
      `SELECT request_id, status, pr_number, failure_code, revoked_by, revoke_reason, cluster_id, rebuilt_at IS NOT NULL AS rebuilt, unproven,
              reason, ticket, requester, approvals, extensions, duration_ms::int8 AS duration_ms
         FROM ledger ORDER BY request_id`)).rows;
    expect(rows.map((r) => [r.request_id, r.status, r.pr_number, r.rebuilt])).toEqual([
      ["alice-exp", "revoked", expPr, true], ["alice-rb", "revoked", alicePr, true], ["bob-rb", "revoked", bobPr, true], ["carol-rb", "failed", carol.number, true],
    ]);
    const [exp, alice, bob, carolRow] = rows;
    expect(exp.revoke_reason).toBe(`rebuilt: ended at its expiry; the app's revert pull request #${revert.number} followed`);
    expect(alice).toMatchObject({ reason: "Rebuild drill", ticket: "INC-9", requester: "alice", revoked_by: "rebuild", duration_ms: String(3 * 3_600_000), cluster_id: "unknown (rebuilt)" });
    expect(alice.approvals).toEqual([expect.objectContaining({ login: "dora", reviewId: expect.any(Number) })]);
    expect(alice.extensions).toEqual([expect.objectContaining({ prNumber: ext.number, approvals: [expect.objectContaining({ login: "dan" })] })]);
    expect(alice.unproven).toEqual(expect.arrayContaining(["cluster_id", "grant_verification", "revoked_at", "revoke_verification"]));
    expect(bob).toMatchObject({ revoked_by: `github:merge:acme/access#${del.number}`, revoke_reason: `early revoke: request file deleted by pull request #${del.number}` });
    // only the app's own comments count: carol's forged "granted" line proves nothing
    expect(carolRow).toMatchObject({ failure_code: code });
    expect((await w.stateSu.query("SELECT count(*)::int AS n FROM ledger WHERE status IN ('active', 'intent')")).rows[0].n).toBe(0);
    expect(summary.unknown).toEqual([]);
    expect(await w.appGranted()).toEqual([]);

    // A replayed merge delivery of alice's grant PR (the deliveries table was lost too): refused, nothing granted, nothing said twice.
    const closed = w.e2e.sim.findDeliveries({ event: "pull_request", action: "closed" })
      .filter((d) => (d.payload.pull_request as { number: number }).number === alicePr).at(-1)!;
    const comments = w.comments(alicePr).length;
    w.e2e.sim.redeliver(closed.guid);
    await w.idle();
    await w.e2e.sim.sendSignedDelivery("pull_request", closed.payload, "valid");
    await w.idle();
    expect(await w.appGranted()).toEqual([]);
    expect((await w.ledger("alice-rb")).map((r) => r.status)).toEqual(["revoked"]);
    expect(w.comments(alicePr)).toHaveLength(comments);
    expect((await w.stateSu.query("SELECT count(*)::int AS n FROM events WHERE kind IN ('grant_intent', 'granted')")).rows[0].n).toBe(0);

    // A new pull request reusing bob's id: refused by the rebuilt ledger, nothing granted.
    const again = await w.request("bob", "bob-rb");
    await w.repo.review("dora", again.number, "APPROVE");
    await w.idle();
    const reused = await w.mergeAndRefusal(again.number);
    expect(reused).toContain("JIT_REQUEST_ID_USED");
    expect(await w.appGranted()).toEqual([]);
    await w.nothingGranted("bob-rb", "bob");

    // The story says what was rebuilt; a second rebuild refuses to write over it.
    const story = JSON.parse((await cli(["audit", "orders-prod/alice-rb", "--format", "json"])).out);
    expect(story.rebuilt.unproven).toEqual(expect.arrayContaining(["grant_verification"]));
    const expStory = JSON.parse((await cli(["audit", "orders-prod/alice-exp", "--format", "json"])).out);
    expect(expStory.revertPr).toMatchObject({ number: revert.number, state: "merged" });
    const second = await cli(["rebuild", "--repo", "acme/access"]);
    expect(second.code).toBe(1);
    expect(second.err).toContain("JIT_REBUILD_NOT_EMPTY");
  });

  it("usage and configuration errors exit 2", async () => {
    expect((await cli(["rebuild"])).code).toBe(2);
    expect((await cli(["rebuild", "--repo", "not a repo"])).code).toBe(2);
    expect((await cli(["rebuild", "--repo", "acme/access", "--since", "someday"])).code).toBe(2);
    const { APP_ID: _drop, ...noApp } = cliEnv();
    const missing = await cli(["rebuild", "--repo", "acme/access"], noApp);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("JIT_CONFIG_MISSING_ENV");
  });
});
