// The PR context's process-wide cache of immutable reads (src/github/immutable-cache.ts) over the
// simulator: content is cached only under a full commit SHA, so a cached answer is the one GitHub
// would give again; a branch name is read every time; a symbolic link is answered as the contents
// API answers it (following the link), cached or not; failures are not cached.
import type { Octokit as RestOctokit } from "@octokit/rest";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { immutableReads } from "../../src/github/immutable-cache.ts";
import type { Octokit } from "../../src/github/octokit.ts";
import { OctokitPullRequestContext } from "../../src/github/pr-context.ts";
import { GitHubSimulator, type RepoScenario } from "../sim/index.ts";
import { installationOctokit } from "../sim/test-helpers.ts";
import { BASE_FILES } from "./app-fixture.ts";

let sim: GitHubSimulator;
let repo: RepoScenario;
let gh: RestOctokit;
const o = { owner: "acme", repo: "access" };
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString("utf8"));
const ctx = () => new OctokitPullRequestContext(gh as unknown as Octokit, o, 1, async () => ({ status: "none" }), async () => []);
const reads = () => sim.requests().filter((r) => r.method === "GET").length;

beforeAll(async () => {
  sim = await GitHubSimulator.start({});
  sim.createOrg("acme", ["alice", "dora"]);
  repo = await sim.createRepo({ owner: "acme", name: "access", files: { ...BASE_FILES, "docs/note.md": "one\n", "alias.md": { content: "docs/note.md", mode: "120000" } } });
  gh = await installationOctokit(sim, "acme");
});
afterAll(async () => { await sim?.close(); });
beforeEach(() => {
  immutableReads.clear();
  sim.clearRequestLog();
});

describe("immutable reads are cached by full SHA only", () => {
  it("a path at one commit never answers for another commit", async () => {
    const a = (await repo.branchSha("main"))!;
    const b = await repo.pushToDefaultBranch({ "docs/note.md": "two\n" });
    expect(text(await ctx().fileAt(a, "docs/note.md"))).toBe("one\n");
    expect(text(await ctx().fileAt(b, "docs/note.md"))).toBe("two\n");
    sim.clearRequestLog();
    // A fresh context (a new evaluation) gets both from the cache, each for its own SHA.
    expect(text(await ctx().fileAt(a, "docs/note.md"))).toBe("one\n");
    expect(text(await ctx().fileAt(b, "docs/note.md"))).toBe("two\n");
    expect(reads()).toBe(0);
    await repo.pushToDefaultBranch({ "docs/note.md": "one\n" });
  });

  it("a branch name is read from GitHub every time, and sees a push", async () => {
    expect(text(await ctx().fileAt("main", "docs/note.md"))).toBe("one\n");
    await repo.pushToDefaultBranch({ "docs/note.md": "three\n" });
    expect(text(await ctx().fileAt("main", "docs/note.md"))).toBe("three\n");
    expect(sim.countRequests("repos/get-content")).toBe(2);
    expect(immutableReads.size).toBe(0);
    await repo.pushToDefaultBranch({ "docs/note.md": "one\n" });
  });

  it("at a new commit, an unchanged directory and its files come from trees and blobs cached by SHA", async () => {
    const a = (await repo.branchSha("main"))!;
    const first = ctx();
    await first.listDir(a, "");
    const policies = await first.listDir(a, "policies");
    const bytes = await Promise.all(policies.map((e) => first.fileAt(a, e.path)));
    const b = await repo.pushToDefaultBranch({ "README.md": "# access, edited\n" });
    sim.clearRequestLog();
    const second = ctx();
    await second.listDir(b, "");
    expect(await second.listDir(b, "policies")).toEqual(policies);
    expect((await Promise.all(policies.map((e) => second.fileAt(b, e.path)))).map(text)).toEqual(bytes.map(text));
    // Only the new commit's root tree was read; it names the same policies/ tree and blobs.
    expect(sim.requests().map((r) => r.operationId)).toEqual(["git/get-tree"]);
    // An absent file under a cached tree is absent without a read.
    expect(await second.fileAt(b, "CODEOWNERS")).toBeUndefined();
    expect(sim.requests()).toHaveLength(1);
  });

  it("a symbolic link is answered as the contents API answers it, with its directory cached or not", async () => {
    const sha = (await repo.branchSha("main"))!;
    const cold = text(await ctx().fileAt(sha, "alias.md"));
    immutableReads.clear();
    const warm = ctx();
    await warm.listDir(sha, "");
    expect(text(await warm.fileAt(sha, "alias.md"))).toBe(cold);
    expect((await warm.listDir(sha, "")).find((e) => e.name === "alias.md")?.mode).toBe("120000");
  });

  it("a 404 is not cached (a commit just pushed may be missing for a moment): the next evaluation reads again", async () => {
    const sha = (await repo.branchSha("main"))!;
    const fault = sim.injectFault({ route: "repos/get-content", status: 404 });
    expect(await ctx().fileAt(sha, "docs/note.md")).toBeUndefined();
    expect(fault.hits).toBe(1);
    expect(text(await ctx().fileAt(sha, "docs/note.md"))).toBe("one\n");
    const treeFault = sim.injectFault({ route: "git/get-tree", status: 404 });
    expect(await ctx().listDir(sha, "docs")).toEqual([]);
    expect(treeFault.hits).toBe(1);
    expect((await ctx().listDir(sha, "docs")).map((e) => e.path)).toEqual(["docs/note.md"]);
  });

  it("a failed read is not cached: the next evaluation reads again", async () => {
    const sha = (await repo.branchSha("main"))!;
    const fault = sim.injectFault({ route: "repos/get-content", status: 503 });
    await expect(ctx().fileAt(sha, "docs/note.md")).rejects.toMatchObject({ status: 503 });
    expect(fault.hits).toBe(1);
    expect(text(await ctx().fileAt(sha, "docs/note.md"))).toBe("one\n");
    expect(sim.countRequests("repos/get-content")).toBe(2);
  });
});
