// Issue 11 item 5 (review re-evaluation calls): what the savings must never cost. The sticky
// comment is remembered by id and body hash (state database), so a person's edits and marker
// comments are never trusted and a changed decision still reaches the comment; a PR's files and
// commits are cached only at the (head, base) the fresh pulls/get reports, so a new head reads
// them again; the merge path keeps reading them fresh.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codesIn, requestPath, requestYaml, startJitE2E, type JitE2E } from "./app-fixture.ts";

let w: JitE2E;
beforeAll(async () => { w = await startJitE2E(); });
afterAll(async () => { await w?.stop(); });

const MARKER = "<!-- jit-access:sticky -->";
const bot = () => w.e2e.sim.app.botLogin;
const stickies = (number: number) => w.comments(number).filter((c) => c.body.startsWith(MARKER));

/** Calls the simulator's REST API as a person with a token. */
async function asUser(login: string, method: string, path: string, body?: object): Promise<number> {
  const res = await fetch(`${w.e2e.sim.baseUrl}${path}`, {
    method, headers: { authorization: `token ${w.e2e.sim.userToken(login)}`, accept: "application/vnd.github+json", "content-type": "application/json" },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return res.status;
}

/** The app's calls while handling what `act` causes. */
async function callsDuring(act: () => Promise<unknown>) {
  const { sim } = w.e2e;
  await w.idle();
  sim.clearRequestLog();
  await act();
  await w.idle();
  return sim.requests().filter((r) => r.actor === bot()).map((r) => r.operationId);
}

describe("the sticky comment remembered by id and hash (I19)", () => {
  it("I19: a person's comment with the marker is never edited; the app's own is, by id, when the decision changes", async () => {
    const { number, headSha } = await w.request("bob", "st-forged");
    const forged = w.repo.comment("mallory", number, `${MARKER}\n✅ **jit-access**: approved, merge away`);
    // a review that changes nothing the comment says: no comment call at all
    const same = await callsDuring(() => w.repo.review("alice", number, "COMMENT"));
    expect(same.filter((r) => r?.startsWith("issues/"))).toEqual([]);
    const calls = await callsDuring(() => w.repo.review("dora", number, "APPROVE"));
    expect(calls.filter((r) => r?.startsWith("issues/"))).toEqual(["issues/update-comment"]);
    expect((await w.check(headSha)).conclusion).toBe("success");
    const ours = stickies(number).filter((c) => c.user === bot());
    expect(ours).toHaveLength(1);
    expect(ours[0]!.body).toContain("✅");
    // mallory's comment is as she wrote it
    expect(w.comments(number).find((c) => c.id === forged)!.body).toBe(`${MARKER}\n✅ **jit-access**: approved, merge away`);
  });

  it("I19: the app's sticky edited by a person decides nothing and is rewritten on the next change", async () => {
    const { number, headSha } = await w.request("bob", "st-edited");
    const ours = stickies(number).find((c) => c.user === bot())!;
    expect(ours.body).toContain("⏳");
    // a maintainer rewrites the app's comment to claim approval; nothing is approved by it
    expect(await asUser("alice", "PATCH", `/repos/acme/access/issues/comments/${ours.id}`, { body: `${MARKER}\n✅ **jit-access**: approved` })).toBe(200);
    await w.repo.review("carol", number, "COMMENT");
    await w.idle();
    expect((await w.check(headSha)).conclusion).toBe("action_required");
    await w.repo.review("dora", number, "REQUEST_CHANGES");
    await w.idle();
    const check = await w.check(headSha);
    expect(check.conclusion).not.toBe("success");
    expect(codesIn(check.output.summary)).toContain("JIT_CHANGES_REQUESTED");
    const now = stickies(number).filter((c) => c.user === bot());
    expect(now.map((c) => c.id)).toEqual([ours.id]);
    expect(now[0]!.body).toContain("JIT_CHANGES_REQUESTED");
    expect(now[0]!.body).not.toContain("approved");
  });

  it("a deleted sticky (404 by id) is found again by listing: one new comment, remembered", async () => {
    const { number } = await w.request("bob", "st-deleted");
    const ours = stickies(number).find((c) => c.user === bot())!;
    expect(await asUser("alice", "DELETE", `/repos/acme/access/issues/comments/${ours.id}`)).toBe(204);
    const calls = await callsDuring(() => w.repo.review("dora", number, "APPROVE"));
    expect(calls.filter((r) => r?.startsWith("issues/"))).toEqual(["issues/update-comment", "issues/list-comments", "issues/create-comment", "issues/list-comments"]);
    const now = stickies(number).filter((c) => c.user === bot());
    expect(now).toHaveLength(1);
    expect(now[0]!.body).toContain("✅");
    // remembered: the next change is one edit by id
    const next = await callsDuring(() => w.repo.review("dora", number, "REQUEST_CHANGES"));
    expect(next.filter((r) => r?.startsWith("issues/"))).toEqual(["issues/update-comment"]);
    expect(stickies(number).filter((c) => c.user === bot()).map((c) => c.id)).toEqual([now[0]!.id]);
  });
});

describe("a pull request's files and commits cached at (head, base)", () => {
  it("a review on the same head reads neither; a new head reads both again and its files decide", async () => {
    const { number } = await w.request("bob", "fc-head");
    const review = await callsDuring(() => w.repo.review("alice", number, "COMMENT"));
    expect(review).toContain("pulls/get");
    expect(review).not.toContain("pulls/list-files");
    expect(review).not.toContain("pulls/list-commits");
    // a second file on a new head: read again, and the check refuses the two-file PR
    const head = await w.repo.pushCommits("bob", number, { [requestPath("fc-head-2")]: requestYaml() });
    await w.idle();
    const sync = w.e2e.sim.requests().filter((r) => r.actor === bot()).map((r) => r.operationId);
    expect(sync).toContain("pulls/list-files");
    expect(sync).toContain("pulls/list-commits");
    const check = await w.check(head);
    expect(check.conclusion).toBe("failure");
    // and a review on that head uses that head's lists, not the first head's
    await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    expect((await w.check(head)).conclusion).toBe("failure");
    expect(codesIn((await w.check(head)).output.summary)).toEqual(codesIn(check.output.summary));
  });

  it("the merge reads files and commits fresh even when a check cached them", async () => {
    const { number } = await w.request("carol", "fc-merge");
    await w.repo.review("dora", number, "APPROVE");
    const calls = await callsDuring(() => w.repo.merge(number));
    expect(calls).toContain("pulls/list-files");
    expect(calls).toContain("pulls/list-commits");
    expect((await w.ledger("fc-merge")).map((r) => r.status)).toEqual(["active"]);
  });
});

describe("I3: one team roster instead of per-login membership reads, same answers", () => {
  it("I3: a pending member of the approver team does not approve, read from the roster; an active one does", async () => {
    const { sim } = w.e2e;
    sim.addTeamMember("acme", "dba", "pat", { state: "pending" });
    w.repo.setCollaborator("pat", "write");
    const { number, headSha } = await w.request("bob", "ro-pending");
    const calls = await callsDuring(() => w.repo.review("pat", number, "APPROVE"));
    // bob (requester) and pat (reviewer) are both asked about @acme/dba: one roster call
    expect(calls.filter((r) => r === "teams/list-members-in-org")).toHaveLength(1);
    expect(calls.filter((r) => r === "teams/get-membership-for-user-in-org")).toHaveLength(1); // bob in @acme/engineering
    const check = await w.check(headSha);
    expect(check.conclusion).not.toBe("success");
    expect(codesIn(check.output.summary)).toContain("JIT_APPROVER_NOT_OWNER");
    // an accepted invitation: the next evaluation reads it
    sim.addTeamMember("acme", "dba", "pat", { state: "active" });
    await w.repo.review("pat", number, "APPROVE");
    await w.idle();
    expect((await w.check(headSha)).conclusion).toBe("success");
  });

  it("I3: a member removed from the team between two reviews is read as removed", async () => {
    const { sim } = w.e2e;
    sim.addTeamMember("acme", "dba", "quin");
    w.repo.setCollaborator("quin", "write");
    const { number, headSha } = await w.request("bob", "ro-removed");
    await w.repo.review("quin", number, "APPROVE");
    await w.idle();
    expect((await w.check(headSha)).conclusion).toBe("success");
    sim.removeTeamMember("acme", "dba", "quin");
    await w.repo.review("alice", number, "COMMENT");
    await w.idle();
    const check = await w.check(headSha);
    expect(check.conclusion).not.toBe("success");
    expect(codesIn(check.output.summary)).toContain("JIT_APPROVER_NOT_OWNER");
    await w.repo.merge(number, { asUser: "alice" }).catch(() => {});
    await w.idle();
    expect((await w.ledger("ro-removed")).filter((r) => r.status === "active")).toEqual([]);
  });

  it("I12: a roster that does not fit one page is not used; memberships are read one by one", async () => {
    const { sim } = w.e2e;
    for (let i = 0; i < 100; i++) sim.addTeamMember("acme", "dba", `filler${i}`);
    try {
      const { number, headSha } = await w.request("bob", "ro-big");
      const calls = await callsDuring(() => w.repo.review("dora", number, "APPROVE"));
      expect(calls.filter((r) => r === "teams/list-members-in-org")).toHaveLength(1);
      // bob in @acme/engineering and @acme/dba, dora in @acme/dba: per login after the long roster
      expect(calls.filter((r) => r === "teams/get-membership-for-user-in-org")).toHaveLength(3);
      expect((await w.check(headSha)).conclusion).toBe("success");
    } finally {
      for (let i = 0; i < 100; i++) sim.removeTeamMember("acme", "dba", `filler${i}`);
    }
  });
});
