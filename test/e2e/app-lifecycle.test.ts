// The GitHub App end to end on the simulator and a real PostgreSQL: a request PR gets a check that
// names who must act, turns green on an eligible approval with the exact SQL, and merging grants
// (membership row with grantor = the app role, ledger row, comment). Then early revoke, extension,
// re-runs, review events and the sticky comment.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP_ROLE, CHECK, requestPath, requestYaml, startJitE2E, type JitE2E } from "./app-fixture.ts";

let w: JitE2E;
beforeAll(async () => { w = await startJitE2E(); });
afterAll(async () => { await w?.stop(); });

const STICKY = "<!-- jit-access:sticky -->";
const grantSql = (role: string, user: string) =>
  w.major >= 16 ? `GRANT "${role}" TO "${user}" WITH ADMIN FALSE, INHERIT TRUE, SET FALSE;` : `GRANT "${role}" TO "${user}";`;
const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");

/** Opens, approves and merges a request; returns the PR number. */
async function grantRequest(user: string, id: string, yaml = requestYaml()): Promise<number> {
  const { number } = await w.request(user, id, yaml);
  await w.repo.review("dora", number, "APPROVE");
  await w.idle();
  await w.repo.merge(number, { method: "squash" });
  await w.idle();
  return number;
}

describe("happy path", () => {
  it("check waits for an eligible owner, turns green with the exact SQL, and the merge grants", async () => {
    const { number, headSha } = await w.request("alice", "alice-inc-1234");

    const waiting = await w.check(headSha);
    expect(waiting.status).toBe("completed");
    expect(waiting.conclusion).toBe("action_required");
    expect(waiting.output.title).toBe("Waiting for 1 approval(s) from @acme/dba");
    expect(waiting.output.summary).toContain("**JIT_APPROVALS_MISSING**");
    expect(waiting.output.summary).toContain("```sql\n" + grantSql("orders_readonly", "alice") + "\n```");
    const sticky = w.comments(number).filter((c) => c.body.startsWith(STICKY));
    expect(sticky).toHaveLength(1);
    expect(sticky[0]!.body).toContain("Who must act: an approving review on the latest commit from `@acme/dba`");

    await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    const ready = await w.check(headSha);
    expect(ready.conclusion).toBe("success");
    expect(ready.output.title).toBe("Ready: orders_readonly on orders-prod for 2h");
    expect(ready.output.summary).toContain("Counted: @dora");
    expect(ready.output.summary).toContain("### SQL that will run on merge");
    expect(ready.output.summary).toContain("```sql\n" + grantSql("orders_readonly", "alice") + "\n```");
    expect(await w.appGranted()).toEqual([]);
    expect(await w.ledger("alice-inc-1234")).toEqual([]);

    const mergeSha = await w.repo.merge(number, { method: "squash" });
    await w.idle();

    expect(await w.appGranted()).toEqual([{ role: "orders_readonly", member: "alice", grantor: APP_ROLE }]);
    const [row, ...more] = await w.ledger("alice-inc-1234");
    expect(more).toEqual([]);
    expect(row).toMatchObject({
      status: "active", role: "orders_readonly", db_user: "alice", pr_number: number, head_sha: headSha, merge_sha: mergeSha,
      approvers: ["dora"], duration_ms: "7200000",
    });
    // I17: the window opens at merged_at as the API reports it, not when the app handled the merge
    expect(row!.expires_at!.toISOString()).toBe(new Date(Date.parse(w.repo.mergedAt(number)!) + 7_200_000).toISOString());
    expect(row!.sql_executed.map((s) => `${s.text};`)).toEqual([grantSql("orders_readonly", "alice")]);
    const granted = w.comments(number).filter((c) => c.body.includes("granted `orders_readonly`"));
    expect(granted.map((c) => c.body)).toEqual([
      `✅ **jit-access**: granted \`orders_readonly\` to \`alice\` on \`orders-prod\` until ${iso(row!.expires_at!)} (in 2h). Approved by @dora.\n\ncc @alice (requester)`,
    ]);
    expect(granted[0]!.user).toBe(w.e2e.sim.app.botLogin);
    // alice can read what the role allows, with her own login
    const alice = await w.e2e.pg!.connect("alice", "orders");
    try {
      expect((await alice.query("SELECT count(*)::int AS n FROM public.orders")).rows[0]).toEqual({ n: 100 });
    } finally {
      await alice.end();
    }
    expect(w.alerts()).toEqual([]);
  });

  it("merging also sends push: the merged PR is handled once (one grant, one comment)", async () => {
    const pushes = w.e2e.sim.findDeliveries({ event: "push" }).filter((d) => d.status === 202);
    expect(pushes.length).toBeGreaterThan(0);
    const { rows } = await w.stateSu.query("SELECT kind FROM events WHERE request_id = 'alice-inc-1234' ORDER BY id");
    expect(rows.map((r) => r.kind)).toEqual(["grant_intent", "granted"]);
  });
});

describe("early revoke", () => {
  it("a merged PR deleting an active request file revokes it at once", async () => {
    const grantPr = await grantRequest("carol", "carol-early");
    expect((await w.appGranted()).filter((m) => m.member === "carol")).toHaveLength(1);
    const carol = await w.e2e.pg!.connect("carol", "orders");
    expect((await carol.query("SELECT count(*)::int AS n FROM public.orders")).rows[0]).toEqual({ n: 100 });

    const { number, headSha } = await w.repo.openPullRequest("carol", "revoke/carol-early", { [requestPath("carol-early")]: null }, { title: "done" });
    await w.idle();
    const check = await w.check(headSha);
    expect(check.conclusion).toBe("success");
    expect(check.output.title).toBe("Revokes carol-early on merge");
    await w.repo.merge(number, { method: "squash" });
    await w.idle();

    expect(await w.appGranted()).toEqual([{ role: "orders_readonly", member: "alice", grantor: APP_ROLE }]); // alice-inc-1234's
    const [row] = await w.ledger("carol-early");
    expect(row).toMatchObject({ status: "revoked", pr_number: grantPr });
    expect(row!.revoke_reason).toBe(`early revoke: request file deleted by pull request #${number}`);
    expect(w.comments(number).map((c) => c.body).filter((b) => b.startsWith("🔒"))).toHaveLength(1);
    // her open session was ended by the revoke
    await expect(carol.query("SELECT 1")).rejects.toThrow();
    await carol.end().catch(() => {});
  });
});

describe("extension", () => {
  it("editing the duration of an active request, approved and within the maximum, moves expires_at", async () => {
    await grantRequest("bob", "bob-ext", requestYaml({ duration: "1h" }));
    const [before] = await w.ledger("bob-ext");
    const { number, headSha } = await w.repo.openPullRequest("bob", "ext/bob-ext", { [requestPath("bob-ext")]: requestYaml({ duration: "4h" }) });
    await w.idle();
    const waiting = await w.check(headSha);
    expect(waiting.conclusion).toBe("action_required");
    expect(waiting.output.summary).toContain("4h (extension, counted from the original grant)");
    await w.repo.review("dan", number, "APPROVE");
    await w.idle();
    expect((await w.check(headSha)).conclusion).toBe("success");
    await w.repo.merge(number, { method: "merge" });
    await w.idle();

    const [after] = await w.ledger("bob-ext");
    expect(after!.status).toBe("active");
    expect(after!.granted_at).toEqual(before!.granted_at);
    // 1h -> 4h, still counted from the original anchor (I17)
    expect(after!.expires_at!.getTime() - before!.expires_at!.getTime()).toBe(3 * 3_600_000);
    const ext = w.comments(number).filter((c) => c.body.startsWith("⏱️"));
    expect(ext.map((c) => c.body)).toEqual([
      `⏱️ **jit-access**: extended \`orders_readonly\` for \`bob\` on \`orders-prod\` until ${iso(after!.expires_at!)} (in 4h). Approved by @dan.\n\ncc @bob (requester)`,
    ]);
    expect((await w.appGranted()).filter((m) => m.member === "bob")).toEqual([{ role: "orders_readonly", member: "bob", grantor: APP_ROLE }]);
  });

  it("an extension over the policy maximum counted from the original grant is refused and changes nothing", async () => {
    const [before] = await w.ledger("bob-ext");
    const { number, headSha } = await w.repo.openPullRequest("bob", "ext2/bob-ext", { [requestPath("bob-ext")]: requestYaml({ duration: "9h" }) });
    await w.idle();
    const check = await w.check(headSha);
    expect(check.conclusion).toBe("failure");
    expect(check.output.title).toMatch(/^JIT_DURATION_TOO_LONG: /);
    expect(check.annotations.map((a) => [a.path, a.title])).toContainEqual([requestPath("bob-ext"), "JIT_DURATION_TOO_LONG"]);
    await w.repo.review("dora", number, "APPROVE");
    await w.repo.merge(number, { asAdminBypass: true });
    await w.idle();
    const [after] = await w.ledger("bob-ext");
    expect(after!.expires_at).toEqual(before!.expires_at);
    expect(w.comments(number).filter((c) => c.body.startsWith("❌")).map((c) => c.body)[0]).toContain("**JIT_DURATION_TOO_LONG**");
  });
});

describe("check runs, review events and the sticky comment", () => {
  it("review events re-evaluate; a re-run creates a fresh completed check; one sticky comment is edited in place", async () => {
    const { number, headSha } = await w.request("dora", "dora-ops-1", requestYaml({ reason: "Check refunds" }));
    expect((await w.check(headSha)).conclusion).toBe("action_required");

    const approval = await w.repo.review("dan", number, "APPROVE");
    await w.idle();
    expect((await w.check(headSha)).conclusion).toBe("success");

    await w.repo.dismissReview(approval, { asUser: "sam", message: "not yet" });
    await w.idle();
    expect((await w.check(headSha)).conclusion).toBe("action_required");

    await w.repo.review("olga", number, "COMMENT", { body: "looking" });
    await w.idle();
    const before = await w.checks(headSha);
    await w.repo.rerequestCheckRun(before.at(-1)!.id, "dora");
    await w.idle();
    const after = await w.checks(headSha);
    expect(after.length).toBe(before.length + 1);
    expect(after.at(-1)).toMatchObject({ status: "completed", conclusion: "action_required" });
    expect(w.e2e.sim.findDeliveries({ event: "check_run", action: "rerequested" }).map((d) => d.status)).toEqual([202]);

    const head2 = await w.repo.pushCommits("dora", number, { [requestPath("dora-ops-1")]: requestYaml({ reason: "Check refunds twice" }) });
    await w.idle();
    await w.repo.review("dan", number, "APPROVE");
    await w.idle();
    expect((await w.check(head2)).conclusion).toBe("success");

    const sticky = w.comments(number).filter((c) => c.body.startsWith(STICKY));
    expect(sticky).toHaveLength(1);
    expect(sticky[0]!.body).toContain("✅ **jit-access**: Ready: orders_readonly on orders-prod for 2h");
    expect(w.e2e.sim.countRequests("issues/update-comment")).toBeGreaterThan(0);
    // every check run on this PR is ours and completed
    const runs = [...(await w.checks(headSha)), ...(await w.checks(head2))];
    expect(runs.every((r) => r.status === "completed")).toBe(true);
    expect(runs.length).toBeGreaterThanOrEqual(6);
    expect((await w.repo.checkRuns(head2)).every((r) => r.name === CHECK)).toBe(true);
  });

  it("a pull request without a request file gets a neutral check and no comment", async () => {
    const { number, headSha } = await w.repo.openPullRequest("alice", "docs", { "README.md": "# access\n\nmore\n" });
    await w.idle();
    const check = await w.check(headSha);
    expect([check.conclusion, check.output.title]).toEqual(["neutral", "Not an access request: nothing will be granted"]);
    expect(w.comments(number)).toEqual([]);
  });
});
