// openRevertPr against the GitHub simulator: the branch, the one commit deleting the request file,
// the audit body and label, merging when configured, leaving the PR to owners when the repository
// does not let the app merge, and retries that find an existing branch or PR.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probotGitHub } from "../../src/github/installations.ts";
import type { Octokit } from "../../src/github/octokit.ts";
import { openRevertPr, revertBranch, type RevertRecord } from "../../src/github/revert-pr.ts";
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
  e2e.sim.createOrg("acme", ["alice", "dora"]);
  await e2e.sim.createRepo({
    owner: "acme", name: "revert",
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
    const out = await openRevertPr(octokit, ref, record("r1"), opts);
    expect(out).toMatchObject({ state: "merged", branch: "jit/expire/orders-prod/r1", created: true });
    expect(revertBranch("orders-prod", "r1")).toBe(out.branch);
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
    expect(await openRevertPr(octokit, ref, record("r1"), opts)).toMatchObject({ state: "merged", number: out.number, created: false });
    expect(repo.pulls().filter((p) => p.headRef === out.branch)).toHaveLength(1);
  });

  it("with merging turned off (JIT_MERGE_REVERT_PRS=false) the PR stays open for owners; a retry reuses it", async () => {
    const repo = e2e.sim.repo("acme/revert");
    const out = await openRevertPr(octokit, ref, record("r2"), { ...opts, merge: false });
    expect(out).toMatchObject({ state: "open", created: true });
    const again = await openRevertPr(octokit, ref, record("r2"), { ...opts, merge: false });
    expect(again).toMatchObject({ state: "open", number: out.number, created: false });
    expect(repo.pulls().filter((p) => p.headRef === out.branch)).toHaveLength(1);
    expect(await repo.fileAt(repo.defaultBranch, "access-requests/orders-prod/r2.yaml")).not.toBeNull();
  });

  it("when protection does not let the app merge, the PR is left open for owners (not an error, not retried)", async () => {
    const repo = e2e.sim.repo("acme/revert");
    repo.setProtection({ requiredApprovingReviews: 1 });
    try {
      const out = await openRevertPr(octokit, ref, record("r3"), opts);
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
    expect(await openRevertPr(octokit, ref, record("never-there"), opts)).toMatchObject({ state: "file_absent", created: false });
    expect(repo.pulls()).toHaveLength(before);
  });

  it("a 5xx from GitHub is thrown (for the outbox to retry), and the retry treats the branch it left as its own", async () => {
    const repo = e2e.sim.repo("acme/revert");
    await repo.pushToDefaultBranch({ "access-requests/orders-prod/r4.yaml": "role: orders_readonly\n" });
    const fault = e2e.sim.injectFault({ route: "pulls/create", status: 503 });
    await expect(openRevertPr(octokit, ref, record("r4"), opts)).rejects.toMatchObject({ status: 503 });
    expect(fault.hits).toBe(1);
    expect(await repo.branchSha("jit/expire/orders-prod/r4")).not.toBeNull();
    const out = await openRevertPr(octokit, ref, record("r4"), opts);
    expect(out).toMatchObject({ state: "merged", created: true });
    expect(await repo.fileAt(repo.defaultBranch, "access-requests/orders-prod/r4.yaml")).toBeNull();
  });
});
