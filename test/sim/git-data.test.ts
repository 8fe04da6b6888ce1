import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
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
  repo = await sim.createRepo({
    owner: "acme", name: "access",
    files: {
      "policies/orders.yaml": "databases: {}\n",
      "policies/nested/deep.yaml": "x: 1\n",
      "scripts/run.sh": { content: "#!/bin/sh\n", mode: "100755" },
      "alias.yaml": { content: "policies/orders.yaml", mode: "120000" },
      "README.md": "# access\n",
    },
  });
  gh = await installationOctokit(sim, "acme");
});
afterAll(async () => { await sim.close(); await receiver.close(); });

describe("contents and blobs at a ref", () => {
  it("returns a file with base64 content, sha and size", async () => {
    const { data } = await gh.rest.repos.getContent({ ...o, path: "policies/orders.yaml" });
    if (Array.isArray(data) || data.type !== "file") throw new Error("expected a file");
    expect(data.encoding).toBe("base64");
    expect(Buffer.from(data.content, "base64").toString()).toBe("databases: {}\n");
    expect(data.size).toBe(14);
    const blob = await gh.rest.git.getBlob({ ...o, file_sha: data.sha });
    expect(Buffer.from(blob.data.content, "base64").toString()).toBe("databases: {}\n");
  });

  it("returns directories as arrays with entry types, and the root for an empty path", async () => {
    const { data } = await gh.rest.repos.getContent({ ...o, path: "policies" });
    if (!Array.isArray(data)) throw new Error("expected a directory");
    expect(data.map((e) => [e.name, e.type]).sort()).toEqual([["nested", "dir"], ["orders.yaml", "file"]]);
    const root = await gh.rest.repos.getContent({ ...o, path: "" });
    expect(Array.isArray(root.data) && root.data.map((e) => e.path).sort()).toEqual(["README.md", "alias.yaml", "policies", "scripts"]);
  });

  it("reads at a ref and answers 404 for absent paths and refs", async () => {
    const before = (await repo.branchSha("main"))!;
    await repo.pushToDefaultBranch({ "policies/orders.yaml": "databases: { a: 1 }\n" });
    const old = await gh.rest.repos.getContent({ ...o, path: "policies/orders.yaml", ref: before });
    const now = await gh.rest.repos.getContent({ ...o, path: "policies/orders.yaml", ref: "main" });
    expect(!Array.isArray(old.data) && "content" in old.data && Buffer.from(old.data.content, "base64").toString()).toBe("databases: {}\n");
    expect(!Array.isArray(now.data) && "content" in now.data && Buffer.from(now.data.content, "base64").toString()).toBe("databases: { a: 1 }\n");
    await expect(gh.rest.repos.getContent({ ...o, path: "nope.yaml" })).rejects.toMatchObject({ status: 404 });
    await expect(gh.rest.repos.getContent({ ...o, path: "README.md", ref: "no-such-branch" })).rejects.toMatchObject({ status: 404 });
  });

  it("keeps file modes visible in trees (symlink 120000, executable 100755)", async () => {
    const { data } = await gh.rest.git.getTree({ ...o, tree_sha: "main", recursive: "true" });
    const modes = Object.fromEntries(data.tree.map((e) => [e.path, `${e.mode} ${e.type}`]));
    expect(modes["alias.yaml"]).toBe("120000 blob");
    expect(modes["scripts/run.sh"]).toBe("100755 blob");
    expect(modes["policies/nested"]).toBe("040000 tree");
    expect(modes["policies/nested/deep.yaml"]).toBe("100644 blob");
  });
});

describe("git data API", () => {
  it("creates a branch and a commit from blobs and trees, as an app does", async () => {
    receiver.received.length = 0;
    const main = await gh.rest.git.getRef({ ...o, ref: "heads/main" });
    const baseCommit = await gh.rest.git.getCommit({ ...o, commit_sha: main.data.object.sha });
    const blob = await gh.rest.git.createBlob({ ...o, content: Buffer.from("role: r\n").toString("base64"), encoding: "base64" });
    const tree = await gh.rest.git.createTree({
      ...o, base_tree: baseCommit.data.tree.sha,
      tree: [{ path: "access-requests/db/x.yaml", mode: "100644", type: "blob", sha: blob.data.sha }, { path: "README.md", mode: "100644", type: "blob", sha: null }],
    });
    const commit = await gh.rest.git.createCommit({ ...o, message: "Revert x", tree: tree.data.sha, parents: [main.data.object.sha] });
    expect(commit.data.parents.map((p) => p.sha)).toEqual([main.data.object.sha]);
    expect(commit.data.author.name).toBe(sim.app.botLogin);
    const ref = await gh.rest.git.createRef({ ...o, ref: "refs/heads/revert-x", sha: commit.data.sha });
    expect(ref.status).toBe(201);
    expect(await repo.fileAt("revert-x", "access-requests/db/x.yaml")).toBe("role: r\n");
    expect(await repo.fileAt("revert-x", "README.md")).toBeNull();
    expect(await repo.fileAt("revert-x", "policies/orders.yaml")).toBe("databases: { a: 1 }\n");
    // the real object id, computed by git
    const info = await repo.git.readCommit(commit.data.sha);
    expect(info.tree).toBe(tree.data.sha);
    await sim.waitForIdle();
    const push = receiver.received.find((r) => r.headers["x-github-event"] === "push");
    expect(push?.json).toMatchObject({ ref: "refs/heads/revert-x", created: true, after: commit.data.sha, before: "0000000000000000000000000000000000000000" });
    expect((push?.json.pusher as { name: string }).name).toBe(sim.app.botLogin);
  });

  it("refuses a non-fast-forward ref update unless forced, and deletes refs", async () => {
    const main = await gh.rest.git.getRef({ ...o, ref: "heads/main" });
    const branch = await gh.rest.git.getRef({ ...o, ref: "heads/revert-x" });
    await expect(gh.rest.git.updateRef({ ...o, ref: "heads/main", sha: (await repo.git.readCommit(main.data.object.sha)).parents[0]! })).rejects.toMatchObject({ status: 422 });
    const upd = await gh.rest.git.updateRef({ ...o, ref: "heads/revert-x", sha: main.data.object.sha, force: true });
    expect(upd.data.object.sha).toBe(main.data.object.sha);
    expect(branch.data.object.sha).not.toBe(main.data.object.sha);
    await gh.rest.git.deleteRef({ ...o, ref: "heads/revert-x" });
    await expect(gh.rest.git.getRef({ ...o, ref: "heads/revert-x" })).rejects.toMatchObject({ status: 404 });
    await expect(gh.rest.git.createRef({ ...o, ref: "refs/heads/main", sha: main.data.object.sha })).rejects.toMatchObject({ status: 422 });
  });

  it("rejects trees and commits that reference missing objects", async () => {
    await expect(gh.rest.git.createTree({ ...o, tree: [{ path: "a", mode: "100644", type: "blob", sha: "1".repeat(40) }] })).rejects.toMatchObject({ status: 422 });
    await expect(gh.rest.git.createCommit({ ...o, message: "m", tree: "2".repeat(40), parents: [] })).rejects.toMatchObject({ status: 422 });
  });

  it("removes its bare repositories on close", async () => {
    const s2 = await GitHubSimulator.start();
    const r2 = await s2.createRepo({ owner: "x", name: "y" });
    const dir = r2.git.dir;
    expect(existsSync(dir)).toBe(true);
    await s2.close();
    expect(existsSync(dir)).toBe(false);
  });
});
