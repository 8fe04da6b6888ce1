import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Octokit } from "@octokit/rest";
import { GitHubSimulator, type RepoScenario } from "./index.ts";
import { installationOctokit, startReceiver } from "./test-helpers.ts";

let sim: GitHubSimulator;
let repo: RepoScenario;
let gh: Octokit;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
const o = { owner: "acme", repo: "access" };
const REQ = "access-requests/orders-prod/alice-inc-1.yaml";

beforeAll(async () => {
  receiver = await startReceiver();
  sim = await GitHubSimulator.start({ webhookUrls: [receiver.url] });
  sim.createOrg("acme", ["alice", "dora", "bob"]);
  repo = await sim.createRepo({
    owner: "acme", name: "access", collaborators: { alice: "write", dora: "write", bob: "write" },
    files: { "README.md": "# access\n", "policies/orders.yaml": "a: 1\n", "docs/old.md": "one\ntwo\nthree\nfour\n", "data.bin": Buffer.from([0, 1, 2, 0]) },
  });
  gh = await installationOctokit(sim, "acme");
});
afterAll(async () => { await sim.close(); await receiver.close(); });

/** Waits for queued deliveries, then returns how many the receiver has seen. */
const settled = async () => { await sim.waitForIdle(); return receiver.received.length; };
const eventsSince = (n: number) => receiver.received.slice(n).map((r) => `${String(r.headers["x-github-event"])}${r.json.action ? `.${String(r.json.action)}` : ""}`);

describe("pull requests", () => {
  it("requested reviewers: recorded on the PR (users and teams), never the author, only people with access; a review ends a user's request", async () => {
    sim.createTeam("acme", "dba", { members: ["dora"] });
    const { number } = await repo.openPullRequest("alice", "rr-1", { [REQ]: "role: orders_readonly\n" });
    await expect(gh.rest.pulls.requestReviewers({ ...o, pull_number: number, reviewers: ["alice"] })).rejects.toMatchObject({ status: 422 });
    await expect(gh.rest.pulls.requestReviewers({ ...o, pull_number: number, reviewers: ["stranger"] })).rejects.toMatchObject({ status: 422 });
    await expect(gh.rest.pulls.requestReviewers({ ...o, pull_number: number, team_reviewers: ["nope"] })).rejects.toMatchObject({ status: 422 });
    const r = await gh.rest.pulls.requestReviewers({ ...o, pull_number: number, reviewers: ["dora", "bob"], team_reviewers: ["dba"] });
    expect(r.status).toBe(201);
    expect(r.data.requested_reviewers?.map((u) => u.login)).toEqual(["dora", "bob"]);
    expect(r.data.requested_teams?.map((t) => t.slug)).toEqual(["dba"]);
    await gh.rest.pulls.requestReviewers({ ...o, pull_number: number, reviewers: ["dora"] }); // a repeat changes nothing
    await repo.review("dora", number, "APPROVE");
    const pr = await gh.rest.pulls.get({ ...o, pull_number: number });
    expect(pr.data.requested_reviewers?.map((u) => u.login)).toEqual(["bob"]);
    expect(pr.data.requested_teams?.map((t) => t.slug)).toEqual(["dba"]);
    await repo.close(number);
    sim.assertNoViolations();
  });

  it("opening a PR pushes the branch and sends push, check_suite.requested and pull_request.opened", async () => {
    const mark = await settled();
    const { number, headSha } = await repo.openPullRequest("alice", "req-1", { [REQ]: "role: orders_readonly\n" }, { title: "Access for alice", coAuthors: ["bob"] });
    await sim.waitForIdle();
    expect(eventsSince(mark)).toEqual(["push", "check_suite.requested", "pull_request.opened"]);
    const opened = receiver.received.at(-1)!.json as { number: number; pull_request: { head: { sha: string }; user: { login: string } } };
    expect(opened.number).toBe(number);
    expect(opened.pull_request.head.sha).toBe(headSha);
    expect(opened.pull_request.user.login).toBe("alice");
    const pr = await gh.rest.pulls.get({ ...o, pull_number: number });
    expect(pr.data).toMatchObject({ state: "open", merged: false, mergeable: true, mergeable_state: "clean", commits: 1, changed_files: 1, additions: 1, deletions: 0, draft: false });
    const commits = await gh.rest.pulls.listCommits({ ...o, pull_number: number });
    expect(commits.data.map((c) => c.sha)).toEqual([headSha]);
    expect(commits.data[0]!.commit.message).toContain("Co-authored-by: bob <");
    expect(commits.data[0]!.author?.login).toBe("alice");
  });

  it("lists files with status, sha, previous_filename, and no patch for binaries", async () => {
    const { number, headSha } = await repo.openPullRequest("alice", "shape", {
      "docs/old.md": null, "docs/new.md": "one\ntwo\nthree\nfour\n", "data.bin": Buffer.from([9, 0, 9]), "policies/orders.yaml": "a: 2\n", "x.yaml": "y\n",
    });
    const { data } = await gh.rest.pulls.listFiles({ ...o, pull_number: number });
    const byName = Object.fromEntries(data.map((f) => [f.filename, f]));
    expect(byName["docs/new.md"]).toMatchObject({ status: "renamed", previous_filename: "docs/old.md" });
    expect(byName["data.bin"]?.status).toBe("modified");
    expect(byName["data.bin"]?.patch).toBeUndefined();
    expect(byName["policies/orders.yaml"]).toMatchObject({ status: "modified", additions: 1, deletions: 1, patch: "@@ -1 +1 @@\n-a: 1\n+a: 2" });
    expect(byName["x.yaml"]).toMatchObject({ status: "added", sha: (await repo.git.entryAt(headSha, "x.yaml"))!.sha });
    await repo.close(number);
  });

  it("paginates with Link headers", async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 7; i++) files[`many/f${i}.txt`] = `${i}\n`;
    const { number } = await repo.openPullRequest("alice", "many", files);
    const first = await gh.rest.pulls.listFiles({ ...o, pull_number: number, per_page: 3 });
    expect(first.data).toHaveLength(3);
    expect(first.headers.link).toMatch(/page=2.*rel="next".*page=3.*rel="last"/);
    const all = await gh.paginate(gh.rest.pulls.listFiles, { ...o, pull_number: number, per_page: 3 });
    expect(all.map((f) => f.filename).sort()).toEqual(Object.keys(files).sort());
    await repo.close(number);
  });

  it("records reviews with the head commit at review time; a push moves the head", async () => {
    const { number, headSha } = await repo.openPullRequest("alice", "req-2", { "access-requests/orders-prod/alice-2.yaml": "role: r\n" });
    const r1 = await repo.review("dora", number, "APPROVE");
    const mark = await settled();
    const newHead = await repo.pushCommits("alice", number, { "access-requests/orders-prod/alice-2.yaml": "role: r2\n" });
    await sim.waitForIdle();
    expect(eventsSince(mark)).toEqual(["push", "check_suite.requested", "pull_request.synchronize"]);
    const sync = receiver.received.at(-1)!.json;
    expect(sync).toMatchObject({ before: headSha, after: newHead });
    const reviews = await gh.rest.pulls.listReviews({ ...o, pull_number: number });
    expect(reviews.data.map((r) => [r.id, r.state, r.commit_id, r.user?.login])).toEqual([[r1, "APPROVED", headSha, "dora"]]);
    const third = await repo.pushCommits("alice", number, { "z.txt": "1\n" }, { commitAuthor: "mallory", coAuthors: ["dora"] });
    const listed = await gh.rest.pulls.listCommits({ ...o, pull_number: number });
    const last = listed.data.find((c) => c.sha === third)!;
    expect(last.author?.login).toBe("mallory");
    expect(last.committer?.login).toBe("alice");
    expect(last.commit.message).toMatch(/Co-authored-by: dora </);
    const r2 = await repo.review("dora", number, "CHANGES_REQUESTED", { body: "no" });
    const r3 = await repo.review("bob", number, "COMMENT", { body: "LGTM" });
    const after = await gh.rest.pulls.listReviews({ ...o, pull_number: number });
    expect(after.data.map((r) => [r.id, r.state, r.commit_id])).toEqual([[r1, "APPROVED", headSha], [r2, "CHANGES_REQUESTED", third], [r3, "COMMENTED", third]]);
    expect(newHead).not.toBe(third);
  });

  it("refuses self-approval like GitHub unless a fixture forces it; dismisses reviews", async () => {
    const { number } = await repo.openPullRequest("alice", "req-3", { "access-requests/orders-prod/alice-3.yaml": "role: r\n" });
    await expect(repo.review("alice", number, "APPROVE")).rejects.toMatchObject({ status: 422 });
    const alice = (await import("./test-helpers.ts")).octokitWith(sim, sim.userToken("alice"));
    await expect(alice.rest.pulls.createReview({ ...o, pull_number: number, event: "APPROVE" })).rejects.toMatchObject({ status: 422 });
    const forced = await repo.review("alice", number, "APPROVE", { force: true });
    const dora = await repo.review("dora", number, "APPROVE");
    const mark = await settled();
    await gh.rest.pulls.dismissReview({ ...o, pull_number: number, review_id: dora, message: "stale" });
    await sim.waitForIdle();
    expect(eventsSince(mark)).toEqual(["pull_request_review.dismissed"]);
    const { data } = await gh.rest.pulls.listReviews({ ...o, pull_number: number });
    expect(data.map((r) => [r.id, r.state])).toEqual([[forced, "APPROVED"], [dora, "DISMISSED"]]);
    const commented = await repo.review("bob", number, "COMMENT", { body: "hm" });
    await expect(repo.dismissReview(commented)).rejects.toMatchObject({ status: 422 });
  });
});

describe("merging", () => {
  it("merge commit: two parents, merge_commit_sha, closed+merged webhook and push to main", async () => {
    const base = (await repo.branchSha("main"))!;
    const { number, headSha } = await repo.openPullRequest("alice", "m-merge", { "m/merge.yaml": "x\n" });
    const mark = await settled();
    const sha = await repo.merge(number, { method: "merge", asUser: "dora" });
    await sim.waitForIdle();
    const c = await repo.git.readCommit(sha);
    expect(c.parents).toEqual([base, headSha]);
    expect(c.message).toMatch(/^Merge pull request #\d+ from acme\/m-merge/);
    expect(await repo.branchSha("main")).toBe(sha);
    expect(eventsSince(mark)).toEqual(["pull_request.closed", "push", "check_suite.requested"]);
    const closed = receiver.received[mark]!.json as { pull_request: { merged: boolean; merge_commit_sha: string; merged_by: { login: string } } };
    expect(closed.pull_request).toMatchObject({ merged: true, merge_commit_sha: sha, merged_by: { login: "dora" } });
    const pr = await gh.rest.pulls.get({ ...o, pull_number: number });
    expect(pr.data).toMatchObject({ state: "closed", merged: true, merge_commit_sha: sha, commits: 1, changed_files: 1 });
    expect((await gh.rest.pulls.listFiles({ ...o, pull_number: number })).data.map((f) => f.filename)).toEqual(["m/merge.yaml"]);
    expect((await gh.rest.pulls.checkIfMerged({ ...o, pull_number: number })).status).toBe(204);
  });

  it("squash: one parent, PR author as author, the PR's tree", async () => {
    const base = (await repo.branchSha("main"))!;
    const { number } = await repo.openPullRequest("alice", "m-squash", { "m/squash.yaml": "1\n" });
    await repo.pushCommits("alice", number, { "m/squash.yaml": "2\n" });
    const { data } = await gh.rest.pulls.merge({ ...o, pull_number: number, merge_method: "squash" });
    const c = await repo.git.readCommit(data.sha);
    expect(c.parents).toEqual([base]);
    expect(c.author.name).toBe("alice");
    expect(c.message.split("\n")[0]).toMatch(/\(#\d+\)$/);
    expect(await repo.fileAt("main", "m/squash.yaml")).toBe("2\n");
  });

  it("rebase: replays each commit with new SHAs on top of main", async () => {
    const { number } = await repo.openPullRequest("alice", "m-rebase", { "m/rebase-1.yaml": "1\n" });
    const head = await repo.pushCommits("alice", number, { "m/rebase-2.yaml": "2\n" });
    await repo.pushToDefaultBranch({ "unrelated.txt": "moved on\n" });
    const base = (await repo.branchSha("main"))!;
    const sha = await repo.merge(number, { method: "rebase" });
    const top = await repo.git.readCommit(sha);
    const below = await repo.git.readCommit(top.parents[0]!);
    expect(sha).not.toBe(head);
    expect(below.parents).toEqual([base]);
    expect(top.committer.name).toBe("GitHub");
    expect(await repo.fileAt("main", "m/rebase-1.yaml")).toBe("1\n");
    expect(await repo.fileAt("main", "unrelated.txt")).toBe("moved on\n");
    expect((await repo.pull(number)).merge_commit_sha).toBe(sha);
  });

  it("conflicts make a PR unmergeable (405); a stale sha is refused (409); drafts cannot merge", async () => {
    const { number } = await repo.openPullRequest("alice", "conflict", { "policies/orders.yaml": "mine\n" });
    await repo.pushToDefaultBranch({ "policies/orders.yaml": "theirs\n" });
    const pr = await gh.rest.pulls.get({ ...o, pull_number: number });
    expect(pr.data).toMatchObject({ mergeable: false, mergeable_state: "dirty" });
    await expect(gh.rest.pulls.merge({ ...o, pull_number: number })).rejects.toMatchObject({ status: 405 });
    const other = await repo.openPullRequest("alice", "stale", { "s.yaml": "1\n" });
    await expect(gh.rest.pulls.merge({ ...o, pull_number: other.number, sha: "0".repeat(40) })).rejects.toMatchObject({ status: 409 });
    const draft = await repo.openPullRequest("alice", "draft", { "d.yaml": "1\n" }, { draft: true });
    expect((await repo.pull(draft.number)).mergeable_state).toBe("draft");
    await expect(repo.merge(draft.number)).rejects.toMatchObject({ status: 405 });
  });

  it("branch protection blocks merges without approval; an admin bypass merges anyway", async () => {
    repo.setProtection({ requiredApprovingReviews: 1, dismissStaleReviews: true });
    try {
      const { number } = await repo.openPullRequest("alice", "protected", { "p.yaml": "1\n" });
      expect((await repo.pull(number)).mergeable_state).toBe("blocked");
      await expect(gh.rest.pulls.merge({ ...o, pull_number: number })).rejects.toMatchObject({ status: 405 });
      await repo.review("dora", number, "APPROVE");
      expect((await repo.pull(number)).mergeable_state).toBe("clean");
      await repo.pushCommits("alice", number, { "p.yaml": "2\n" });
      expect(repo.reviews(number).map((r) => r.state)).toEqual(["DISMISSED"]);
      const sha = await repo.merge(number, { asAdminBypass: true });
      expect(await repo.branchSha("main")).toBe(sha);
    } finally {
      repo.setProtection(null);
    }
  });

  it("closing and reopening send closed (merged false) and reopened", async () => {
    const { number } = await repo.openPullRequest("alice", "closing", { "c.yaml": "1\n" });
    const mark = await settled();
    await gh.rest.pulls.update({ ...o, pull_number: number, state: "closed" });
    await repo.reopen(number);
    await sim.waitForIdle();
    expect(eventsSince(mark)).toEqual(["pull_request.closed", "pull_request.reopened"]);
    expect((receiver.received[mark]!.json.pull_request as { merged: boolean }).merged).toBe(false);
    const list = await gh.rest.pulls.list({ ...o, state: "open", head: "acme:closing" });
    expect(list.data.map((p) => p.number)).toEqual([number]);
  });

  it("merging into the default branch closes the issues its body or commit messages name with a closing keyword, not those in code", async () => {
    const issue = async (title: string) => (await gh.rest.issues.create({ ...o, title })).data.number;
    const [a, b, c, d, e] = [await issue("a"), await issue("b"), await issue("c"), await issue("d"), await issue("e")];
    const body = `Fixes #${a}, closes: acme/access#${b}\n\n\`resolves #${d}\`\n\n\`\`\`\nfixes #${d}\n\`\`\`\nmentions #${e} without a keyword`;
    const { number } = await repo.openPullRequest("alice", "closing-kw", { "kw.yaml": "1\n" }, { body, message: `resolved https://github.com/acme/access/issues/${c}` });
    const state = async (n: number) => (await gh.rest.issues.get({ ...o, issue_number: n })).data.state;
    expect(await state(a)).toBe("open");
    await repo.merge(number, { method: "squash" });
    expect([await state(a), await state(b), await state(c), await state(d), await state(e)]).toEqual(["closed", "closed", "closed", "open", "open"]);
  });
});
