// openRevertPr against the GitHub simulator: the branch, the one commit deleting the request file,
// the audit body and label, merging when configured, leaving the PR to owners when the repository
// does not let the app merge, and retries that continue the app's own attempt. I11: the app merges
// only what it wrote; lookalike branches and PRs, and its own PR changed by someone else, never.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probotGitHub } from "../../src/github/installations.ts";
import type { Octokit } from "../../src/github/octokit.ts";
import { memoryInProcess, openRevertPr, REVERT_BRANCH_PREFIX, revertTitle, type RevertMemory, type RevertRecord } from "../../src/github/revert-pr.ts";
import { startE2E, type E2E } from "./harness.ts";

let e2e: E2E;
let octokit: Octokit;
const ref = { owner: "acme", repo: "revert" };

function record(requestId: string, over: Partial<RevertRecord> = {}): RevertRecord {
  return {
    ledgerId: 7, repository: "acme/revert", database: "orders-prod", requestId, path: `access-requests/orders-prod/${requestId}.yaml`,
    requester: "alice", prNumber: 3, role: "orders_readonly", dbUser: "alice", approvers: ["dora"],
    grantedAt: new Date("2030-01-01T10:00:00Z"), expiresAt: new Date("2030-01-01T12:00:00Z"), revokedAt: new Date("2030-01-01T12:00:01Z"),
    revokedBy: "scheduler:test", sessionsEnded: 2, verification: { outcome: "revoked", membershipGone: true, sessionsLeft: 0 }, ...over,
  };
}
const opts = { merge: true, mergeMethod: "squash" as const, label: "jit-expired" };

beforeAll(async () => {
  e2e = await startE2E({ app: () => {}, database: false });
  e2e.sim.createOrg("acme", ["alice", "dora", "mallory"]);
  await e2e.sim.createRepo({
    owner: "acme", name: "revert", collaborators: { mallory: "write" },
    files: {
      "README.md": "x\n",
      "access-requests/orders-prod/r1.yaml": "role: orders_readonly\n",
      "access-requests/orders-prod/r2.yaml": "role: orders_readonly\n",
      "access-requests/orders-prod/r3.yaml": "role: orders_readonly\n",
      "access-requests/orders-prod/keep.yaml": "role: orders_readonly\n",
    },
  });
  octokit = await probotGitHub(e2e.app.probot).octokitFor("acme/revert");
});
afterAll(async () => {
  await e2e?.stop();
});

describe("openRevertPr", () => {
  it("opens a PR from jit/expire/<database>/<request-id> with one commit deleting only the request file, labelled, and merges it", async () => {
    const repo = e2e.sim.repo("acme/revert");
    const base = (await repo.branchSha(repo.defaultBranch))!;
    const memory = memoryInProcess();
    const out = await openRevertPr(octokit, ref, record("r1"), opts, memory);
    expect(out).toMatchObject({ state: "merged", created: true, hostile: [] });
    expect(out.branch).toMatch(/^jit\/expire\/orders-prod\/r1-[0-9a-f]{16}$/);
    expect(await repo.branchSha(out.branch)).toBeNull(); // tidied up after the merge
    const pr = repo.pulls().find((p) => p.number === out.number)!;
    expect(pr).toMatchObject({ merged: true, headRef: out.branch, baseRef: repo.defaultBranch, user: e2e.sim.app.botLogin });
    const files = await octokit.rest.pulls.listFiles({ ...ref, pull_number: out.number! });
    expect(files.data.map((f) => [f.filename, f.status])).toEqual([["access-requests/orders-prod/r1.yaml", "removed"]]);
    const commits = await octokit.rest.pulls.listCommits({ ...ref, pull_number: out.number! });
    expect(commits.data).toHaveLength(1);
    expect(commits.data[0]!.parents.map((p) => p.sha)).toEqual([base]);
    expect(await repo.fileAt(repo.defaultBranch, "access-requests/orders-prod/r1.yaml")).toBeNull();
    expect(await repo.fileAt(repo.defaultBranch, "access-requests/orders-prod/keep.yaml")).not.toBeNull();
    expect(repo.issues().find((i) => i.number === out.number)!.labels).toEqual(["jit-expired"]);
    // A retry after success changes nothing.
    expect(await openRevertPr(octokit, ref, record("r1"), opts, memory)).toMatchObject({ state: "merged", number: out.number, created: false });
    expect(repo.pulls().filter((p) => p.headRef === out.branch)).toHaveLength(1);
  });

  it("with merging turned off (JIT_MERGE_REVERT_PRS=false) the PR stays open for owners; a retry reuses it", async () => {
    const repo = e2e.sim.repo("acme/revert");
    const memory = memoryInProcess();
    const out = await openRevertPr(octokit, ref, record("r2"), { ...opts, merge: false }, memory);
    expect(out).toMatchObject({ state: "open", created: true });
    const again = await openRevertPr(octokit, ref, record("r2"), { ...opts, merge: false }, memory);
    expect(again).toMatchObject({ state: "open", number: out.number, created: false });
    expect(repo.pulls().filter((p) => p.headRef === out.branch)).toHaveLength(1);
    expect(await repo.fileAt(repo.defaultBranch, "access-requests/orders-prod/r2.yaml")).not.toBeNull();
  });

  it("when protection does not let the app merge, the PR is left open for owners (not an error, not retried)", async () => {
    const repo = e2e.sim.repo("acme/revert");
    repo.setProtection({ requiredApprovingReviews: 1 });
    try {
      const out = await openRevertPr(octokit, ref, record("r3"), opts, memoryInProcess());
      expect(out.state).toBe("open");
      expect(out.mergeRefused).toBeTruthy();
      expect(repo.pulls().find((p) => p.number === out.number)!.merged).toBe(false);
    } finally {
      repo.setProtection(null);
    }
  });

  it("a file already gone from the default branch needs no PR", async () => {
    const repo = e2e.sim.repo("acme/revert");
    const before = repo.pulls().length;
    expect(await openRevertPr(octokit, ref, record("never-there"), opts, memoryInProcess())).toMatchObject({ state: "file_absent", created: false });
    expect(repo.pulls()).toHaveLength(before);
  });

  it("a 5xx from GitHub is thrown (for the outbox to retry); the retry drops the branch it left and makes a fresh one", async () => {
    const repo = e2e.sim.repo("acme/revert");
    await repo.pushToDefaultBranch({ "access-requests/orders-prod/r4.yaml": "role: orders_readonly\n" });
    const memory = memoryInProcess();
    const fault = e2e.sim.injectFault({ route: "pulls/create", status: 503 });
    await expect(openRevertPr(octokit, ref, record("r4"), opts, memory)).rejects.toMatchObject({ status: 503 });
    expect(fault.hits).toBe(1);
    const left = (await memory.last())!.branch;
    expect(await repo.branchSha(left)).not.toBeNull();
    const out = await openRevertPr(octokit, ref, record("r4"), opts, memory);
    expect(out).toMatchObject({ state: "merged", created: true, hostile: [] });
    expect(out.branch).not.toBe(left);
    expect(await repo.branchSha(left)).toBeNull();
    expect(await repo.fileAt(repo.defaultBranch, "access-requests/orders-prod/r4.yaml")).toBeNull();
  });
});

describe("I11: the app merges only what it wrote", () => {
  const path = (id: string) => `access-requests/orders-prod/${id}.yaml`;
  const add = (id: string) => e2e.sim.repo("acme/revert").pushToDefaultBranch({ [path(id)]: "role: orders_readonly\n" });

  it("I11: a pre-created jit/expire/<db>/<id> branch with extra commits and a PR by someone else with the revert title are reported, never merged", async () => {
    const repo = e2e.sim.repo("acme/revert");
    await add("h1");
    await add("victim");
    // mallory prepares the old deterministic name: it deletes the request file AND another person's request
    const trap = await repo.openPullRequest("mallory", `${REVERT_BRANCH_PREFIX}/orders-prod/h1`, { [path("h1")]: null, [path("victim")]: null },
      { title: revertTitle(record("h1")), body: "<!-- jit-access:revert:orders-prod/h1 -->" });
    await repo.commitToBranch("mallory", `${REVERT_BRANCH_PREFIX}/orders-prod/h1`, { files: { "README.md": "pwned\n" } });
    // and a PR with the title alone, from an innocuous branch
    const lookalike = await repo.openPullRequest("mallory", "cleanup", { [path("victim")]: null }, { title: revertTitle(record("h1")) });

    const out = await openRevertPr(octokit, ref, record("h1"), opts, memoryInProcess());
    expect(out.state).toBe("merged");
    expect(out.number).not.toBe(trap.number);
    expect(out.number).not.toBe(lookalike.number);
    expect(out.hostile.join("\n")).toContain(`#${trap.number}`);
    expect(out.hostile.join("\n")).toContain(`#${lookalike.number}`);
    expect(out.hostile.join("\n")).toContain(`branch ${REVERT_BRANCH_PREFIX}/orders-prod/h1 exists`);
    for (const n of [trap.number, lookalike.number]) expect(repo.pulls().find((p) => p.number === n)).toMatchObject({ merged: false, state: "open" });
    expect(await repo.fileAt(repo.defaultBranch, path("victim"))).not.toBeNull();
    expect(await repo.fileAt(repo.defaultBranch, "README.md")).toBe("x\n");
    expect(await repo.fileAt(repo.defaultBranch, path("h1"))).toBeNull(); // by the app's own PR
  });

  async function openOwn(id: string): Promise<{ memory: RevertMemory; number: number; branch: string }> {
    await add(id);
    const memory = memoryInProcess();
    const out = await openRevertPr(octokit, ref, record(id), { ...opts, merge: false }, memory);
    expect(out).toMatchObject({ state: "open", created: true });
    return { memory, number: out.number!, branch: out.branch };
  }

  it("I11: a head the attacker moves after the app created its branch is never merged", async () => {
    const repo = e2e.sim.repo("acme/revert");
    await add("h2-other");
    const { memory, number, branch } = await openOwn("h2");
    // mallory adds a commit that also deletes someone else's request, on the app's own branch
    await repo.commitToBranch("mallory", branch, { files: { [path("h2-other")]: null } });
    const out = await openRevertPr(octokit, ref, record("h2"), opts, memory);
    expect(out.state).toBe("tampered");
    expect(out.hostile.join("\n")).toMatch(/head of pull request #\d+ was moved/);
    expect(repo.pulls().find((p) => p.number === number)!.merged).toBe(false);
    expect(await repo.fileAt(repo.defaultBranch, path("h2-other"))).not.toBeNull();
    expect(await repo.fileAt(repo.defaultBranch, path("h2"))).not.toBeNull();
  });

  it("I11: a force-push that keeps one commit but changes what it deletes is never merged", async () => {
    const repo = e2e.sim.repo("acme/revert");
    await add("h3-other");
    const { memory, number, branch } = await openOwn("h3");
    await repo.commitToBranch("mallory", branch, { files: { [path("h3-other")]: null } }, { from: repo.defaultBranch, force: true });
    expect(await repo.branchSha(branch)).not.toBeNull();
    const out = await openRevertPr(octokit, ref, record("h3"), opts, memory);
    expect(out.state).toBe("tampered");
    expect(repo.pulls().find((p) => p.number === number)!.merged).toBe(false);
    expect(await repo.fileAt(repo.defaultBranch, path("h3-other"))).not.toBeNull();
  });

  it("I11: a head moved between the app's verification and its merge is refused by GitHub (the merge names the app's commit)", async () => {
    const repo = e2e.sim.repo("acme/revert");
    await add("h4-other");
    const { memory, number } = await openOwn("h4");
    const evil = await repo.commitToBranch("mallory", "mallory-prep", { files: { [path("h4-other")]: null } }, { from: repo.defaultBranch });
    // The last read before the merge is the PR's commit list: the head moves right after it.
    const fault = e2e.sim.injectFault({
      route: "pulls/list-commits",
      mutateResponse: () => {
        (repo.repo.issues.get(number) as unknown as { pull: { headSha: string } }).pull.headSha = evil;
      },
    });
    const out = await openRevertPr(octokit, ref, record("h4"), opts, memory);
    expect(fault.hits).toBe(1);
    expect(out.state).toBe("tampered");
    expect(out.hostile.join("\n")).toContain("moved while the app merged it");
    expect(repo.pulls().find((p) => p.number === number)!.merged).toBe(false);
    expect(await repo.fileAt(repo.defaultBranch, path("h4-other"))).not.toBeNull();
  });
});
