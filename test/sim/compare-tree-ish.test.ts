// The routes the app's push and merge paths read: compare two commits, the pull requests a commit
// belongs to, and git trees addressed by a "<rev>:<path>" tree-ish. All answers pass the contract check.
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
  sim.createOrg("acme", ["alice", "dora"]);
  repo = await sim.createRepo({
    owner: "acme", name: "access",
    files: { "policies/orders.yaml": "databases: {}\n", "access-requests/orders-prod/old.yaml": "role: x\n", "README.md": "# access\n" },
    collaborators: { alice: "write", dora: "write" },
  });
  gh = await installationOctokit(sim, "acme");
});
afterAll(async () => { await sim.close(); await receiver.close(); });

describe("git/get-tree with a <rev>:<path> tree-ish", () => {
  it("lists one directory at a commit SHA or a branch, nested paths included", async () => {
    const main = (await repo.branchSha("main"))!;
    const bySha = await gh.rest.git.getTree({ ...o, tree_sha: `${main}:access-requests/orders-prod` });
    expect(bySha.data.tree.map((e) => [e.path, e.type, e.mode])).toEqual([["old.yaml", "blob", "100644"]]);
    const byBranch = await gh.rest.git.getTree({ ...o, tree_sha: "main:policies" });
    expect(byBranch.data.tree.map((e) => e.path)).toEqual(["orders.yaml"]);
    // the tree SHA answered is the directory's own tree, as git rev-parse says
    const dir = await repo.git.entryAt(main, "policies");
    expect(byBranch.data.sha).toBe(dir!.sha);
  });

  it("answers 404 for a missing directory, a file path and an unknown revision", async () => {
    const main = (await repo.branchSha("main"))!;
    for (const tree_sha of [`${main}:nope`, `${main}:README.md`, `${"f".repeat(40)}:policies`, "nobranch:policies"]) {
      await expect(gh.rest.git.getTree({ ...o, tree_sha }), tree_sha).rejects.toMatchObject({ status: 404 });
    }
  });
});

describe("repos/compare-commits-with-basehead", () => {
  it("lists the commits and files between two commits with GitHub's status words", async () => {
    const before = (await repo.branchSha("main"))!;
    const after = await repo.pushToDefaultBranch({ "access-requests/orders-prod/new.yaml": "role: y\n", "access-requests/orders-prod/old.yaml": null }, { asUser: "alice" });
    const { data } = await gh.rest.repos.compareCommitsWithBasehead({ ...o, basehead: `${before}...${after}` });
    expect(data.status).toBe("ahead");
    expect([data.ahead_by, data.behind_by, data.total_commits]).toEqual([1, 0, 1]);
    expect(data.commits.map((c) => c.sha)).toEqual([after]);
    expect(data.merge_base_commit.sha).toBe(before);
    expect((data.files ?? []).map((f) => [f.filename, f.status]).sort()).toEqual([
      ["access-requests/orders-prod/new.yaml", "added"], ["access-requests/orders-prod/old.yaml", "removed"],
    ]);
    const back = await gh.rest.repos.compareCommitsWithBasehead({ ...o, basehead: `${after}...${before}` });
    expect([back.data.status, back.data.behind_by, back.data.files]).toEqual(["behind", 1, []]);
    const same = await gh.rest.repos.compareCommitsWithBasehead({ ...o, basehead: `main...${after}` });
    expect(same.data.status).toBe("identical");
  });

  it("answers 404 for unknown revisions and a basehead without three dots", async () => {
    await expect(gh.rest.repos.compareCommitsWithBasehead({ ...o, basehead: `main...${"e".repeat(40)}` })).rejects.toMatchObject({ status: 404 });
    await expect(gh.rest.repos.compareCommitsWithBasehead({ ...o, basehead: "main..main" })).rejects.toMatchObject({ status: 404 });
  });
});

describe("repos/list-pull-requests-associated-with-commit", () => {
  it("finds an open PR by its head commit, then the merged PR by its merge commit", async () => {
    const { number, headSha } = await repo.openPullRequest("alice", "req-1", { "access-requests/orders-prod/a.yaml": "role: z\n" });
    const open = await gh.rest.repos.listPullRequestsAssociatedWithCommit({ ...o, commit_sha: headSha });
    expect(open.data.map((p) => [p.number, p.state])).toEqual([[number, "open"]]);

    await repo.review("dora", number, "APPROVE");
    const mergeSha = await repo.merge(number, { method: "squash" });
    const merged = await gh.rest.repos.listPullRequestsAssociatedWithCommit({ ...o, commit_sha: mergeSha });
    expect(merged.data.map((p) => [p.number, p.merge_commit_sha, p.merged_at !== null])).toEqual([[number, mergeSha, true]]);
    // the squashed-away head commit is not on the default branch and its PR is closed: nothing
    const gone = await gh.rest.repos.listPullRequestsAssociatedWithCommit({ ...o, commit_sha: headSha });
    expect(gone.data).toEqual([]);
  });

  it("finds no PR for a direct push, and answers 422 for an unknown commit", async () => {
    const direct = await repo.pushToDefaultBranch({ "x.txt": "1\n" }, { asUser: "alice" });
    expect((await gh.rest.repos.listPullRequestsAssociatedWithCommit({ ...o, commit_sha: direct })).data).toEqual([]);
    await expect(gh.rest.repos.listPullRequestsAssociatedWithCommit({ ...o, commit_sha: "d".repeat(40) })).rejects.toMatchObject({ status: 422 });
  });
});
