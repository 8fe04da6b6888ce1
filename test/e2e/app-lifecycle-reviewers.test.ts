// Issue 13 item 2 end to end: once a request PR is valid but for approvals, the app requests review
// from the eligible approvers (teams as team reviewers; at most JIT_REVIEW_REQUESTS individuals),
// never the requester, a commit author or a pusher (I13), once per head, and the check says so.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CODEOWNERS, POLICY_YAML, requestPath, requestYaml, startJitE2E, type JitE2E } from "./app-fixture.ts";

let w: JitE2E;
beforeAll(async () => { w = await startJitE2E(); });
afterAll(async () => { await w?.stop(); });

const requested = async (repo: JitE2E["repo"], n: number) => {
  const pr = await repo.pull(n) as { requested_reviewers: { login: string }[]; requested_teams: { slug: string }[] };
  return { users: pr.requested_reviewers.map((u) => u.login), teams: pr.requested_teams.map((t) => t.slug) };
};
const posts = () => w.e2e.sim.requests("pulls/request-reviewers").filter((r) => r.status === 201);

describe("reviewers requested (item 2)", () => {
  it("a valid request asks the eligible team once per head; the check says whom it waits for", async () => {
    const before = posts().length;
    const { number, headSha } = await w.request("alice", "alice-rr");
    expect(await requested(w.repo, number)).toEqual({ users: [], teams: ["dba"] });
    expect(posts().length).toBe(before + 1);
    expect((await w.check(headSha)).output.summary).toContain("Review requested from: `@acme/dba`");
    // Re-evaluations of the same head (a comment review, a re-run, a redelivery) do not ask again.
    await w.repo.review("bob", number, "COMMENT", { body: "looks fine" });
    await w.idle();
    const run = await w.check(headSha);
    await w.repo.rerequestCheckRun(run.id, "alice");
    await w.idle();
    const opened = w.e2e.sim.findDeliveries({ event: "pull_request", action: "opened" }).at(-1)!;
    await w.e2e.sim.redeliver(opened.guid);
    await w.idle();
    expect(posts().length).toBe(before + 1);
    // A new head is a new request for review.
    await w.repo.pushCommits("alice", number, { [requestPath("alice-rr")]: requestYaml({ duration: "3h" }) });
    await w.idle();
    expect(posts().length).toBe(before + 2);
  });

  it("an invalid request (no ticket) asks nobody", async () => {
    const before = posts().length;
    const { number } = await w.request("bob", "bob-rr-invalid", requestYaml({ ticket: null }));
    expect(await requested(w.repo, number)).toEqual({ users: [], teams: [] });
    expect(posts().length).toBe(before);
  });

  it("I13: individuals are capped and never the requester, a commit author or a pusher", async () => {
    // Individual owners: mallory and alice first, so a filter that does not work shows at once.
    const people = ["mallory", "alice", "carol", "dora", "dan", "sam"];
    const repo = await w.newRepo("access-people", {
      files: {
        ".github/CODEOWNERS": `${CODEOWNERS}/access-requests/    ${people.map((p) => `@${p}`).join(" ")}\n`,
        "policies/orders.yaml": POLICY_YAML.replace('approvers: ["@acme/dba"]\n        requesters', `approvers: [${people.map((p) => `"${p}"`).join(", ")}]\n        requesters`),
      },
    });
    for (const d of w.deps) d.reviewRequestMax = 2;
    try {
      // carol co-authored the request commit; mallory pushes to the PR's branch.
      const { number } = await w.request("alice", "alice-people", requestYaml(), { repo, coAuthors: ["carol"] });
      const first = await requested(repo, number);
      expect(first.teams).toEqual([]);
      expect(first.users).toEqual(["mallory", "dora"]);
      await repo.pushCommits("mallory", number, { [requestPath("alice-people")]: requestYaml({ duration: "3h" }) });
      await w.idle();
      const pull = await repo.pull(number) as { head: { sha: string } };
      const check = await w.check(pull.head.sha, repo);
      expect(check.output.summary).toContain("Review requested from: @dora, @dan");
      const all = w.e2e.sim.requests("pulls/request-reviewers").filter((r) => r.path.includes("/access-people/"));
      expect(all).toHaveLength(2);
      // mallory stays requested from the first head (GitHub keeps requests), but was never asked after pushing
      expect((await requested(repo, number)).users).toEqual(["mallory", "dora", "dan"]);
      for (const login of ["alice", "carol", "sam"]) expect((await requested(repo, number)).users).not.toContain(login);
    } finally {
      for (const d of w.deps) d.reviewRequestMax = 3;
    }
  });
});
