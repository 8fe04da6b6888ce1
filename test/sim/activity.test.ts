// GET /repos/{owner}/{repo}/activity: who moved which branch, as GitHub lists it (newest first,
// filtered by ref, paginated), every response validated against the OpenAPI subset.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Octokit } from "@octokit/rest";
import { GitHubSimulator, type RepoScenario } from "./index.ts";
import { installationOctokit, startReceiver } from "./test-helpers.ts";

let sim: GitHubSimulator;
let repo: RepoScenario;
let gh: Octokit;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
const o = { owner: "acme", repo: "access" };

beforeAll(async () => {
  receiver = await startReceiver();
  sim = await GitHubSimulator.start({ webhookUrls: [receiver.url] });
  repo = await sim.createRepo({ owner: "acme", name: "access", files: { "README.md": "# access\n" }, collaborators: { alice: "write", dora: "write" } });
  gh = await installationOctokit(sim, "acme");
});
afterAll(async () => { await sim.close(); await receiver.close(); });

describe("repository activity", () => {
  it("lists creation, push, force push and merge with the identity that made each, newest first, per ref", async () => {
    const pr = await repo.openPullRequest("alice", "feature", { "a.txt": "1\n" });
    const pushed = await repo.pushCommits("dora", pr.number, { "a.txt": "2\n" }, { commitAuthor: "alice", committer: "alice" });
    const forced = await repo.commitToBranch("dora", "feature", { files: { "a.txt": "3\n" } }, { force: true, rewrite: true });
    await repo.merge(pr.number, { asUser: "alice" });
    await sim.waitForIdle();
    const { data } = await gh.rest.repos.listActivities({ ...o, ref: "refs/heads/feature" });
    expect(data.map((a) => [a.activity_type, a.actor?.login, a.after])).toEqual([
      ["force_push", "dora", forced], ["push", "dora", pushed], ["branch_creation", "alice", pr.headSha],
    ]);
    expect(data[0]!.before).toBe(pushed);
    // A branch name works as the ref; the merge is the base branch's.
    const main = await gh.rest.repos.listActivities({ ...o, ref: "main", activity_type: "pr_merge" });
    expect(main.data.map((a) => [a.ref, a.actor?.login])).toEqual([["refs/heads/main", "alice"]]);
    const asc = await gh.rest.repos.listActivities({ ...o, ref: "feature", direction: "asc" });
    expect(asc.data.map((a) => a.activity_type)).toEqual(["branch_creation", "push", "force_push"]);
    expect(sim.takeViolations()).toEqual([]);
  });

  it("paginates with Link headers and filters by actor", async () => {
    for (let i = 0; i < 4; i++) await repo.commitToBranch("dora", "many", { files: { "m.txt": `${i}\n` } });
    const all = await gh.paginate(gh.rest.repos.listActivities, { ...o, ref: "many", per_page: 3 });
    expect(all.map((a) => a.activity_type)).toEqual(["push", "push", "push", "branch_creation"]);
    expect((await gh.rest.repos.listActivities({ ...o, actor: "alice", ref: "many" })).data).toEqual([]);
    expect(sim.takeViolations()).toEqual([]);
  });
});
