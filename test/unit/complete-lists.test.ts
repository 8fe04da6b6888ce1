// I12: a decision reads complete lists or refuses. GitHub stops a PR's commits at 250 and its files
// at 3 000 without an error; pulls/get reports the totals, and the decision compares against them.
import { describe, expect, it } from "vitest";
import type { ChangedFile } from "../../src/core/context.ts";
import { evaluatePullRequest } from "../../src/core/pull-request.ts";
import { approve, commit, REQUEST, REQUEST_PATH, requestScenario, TEAMS, type ScenarioOptions } from "../helpers/fake-context.ts";

const NOW = Date.parse("2026-03-02T00:00:00Z");

async function evaluate(o: ScenarioOptions, mode: "check" | "merge" = "check") {
  const ctx = requestScenario(o);
  return { ctx, d: await evaluatePullRequest(ctx, { now: NOW, mode }) };
}

const commits = (n: number) => Array.from({ length: n }, (_, i) => commit("alice", `c${i}`));

describe("I12: PR commits", () => {
  it("I12: 251 commits, of which GitHub lists 250, refuse with JIT_LIST_INCOMPLETE despite an eligible approval", async () => {
    for (const mode of ["check", "merge"] as const) {
      const { d } = await evaluate({ merged: mode === "merge", commits: commits(250), commitsCount: 251, reviews: [approve("dave")] }, mode);
      expect(d.ok, mode).toBe(false);
      expect(d.code).toBe("JIT_LIST_INCOMPLETE");
      expect(d.problems.find((p) => p.code === "JIT_LIST_INCOMPLETE")?.message).toContain("250 of the 251 commits");
      expect(d.details.approval?.counted.map((c) => c.login)).toEqual(["dave"]); // the approval itself was fine
    }
  });

  it("I12: the 251st commit is where the approver's own commit would hide", async () => {
    // dave's commit is not in the listed 250: without the total he would count.
    const { d } = await evaluate({ commits: commits(250), commitsCount: 251, reviews: [approve("dave")] });
    expect(d.code).toBe("JIT_LIST_INCOMPLETE");
  });

  it("I12: exactly 250 listed of 250 is complete", async () => {
    const { d } = await evaluate({ commits: commits(250), commitsCount: 250, reviews: [approve("dave")] });
    expect(d.ok).toBe(true);
  });

  it("I12: a list longer than the total (changed between the reads) is refused too", async () => {
    const { d } = await evaluate({ commits: commits(3), commitsCount: 2, reviews: [approve("dave")] });
    expect(d.code).toBe("JIT_LIST_INCOMPLETE");
  });
});

describe("I12: PR files", () => {
  it("I12: 3 001 files, of which GitHub lists 3 000, refuse with JIT_LIST_INCOMPLETE", async () => {
    const files: ChangedFile[] = [{ filename: REQUEST_PATH, status: "added", sha: null }];
    for (let i = 0; files.length < 3000; i++) files.push({ filename: `access-requests/zz/f${i}.txt`, status: "added", sha: null });
    const { d } = await evaluate({ files, changedFilesCount: 3001, reviews: [approve("dave")] });
    expect(d.ok).toBe(false);
    expect(d.problems.map((p) => p.code)).toContain("JIT_LIST_INCOMPLETE");
    expect(d.problems.find((p) => p.code === "JIT_LIST_INCOMPLETE")?.message).toContain("3000 of the 3001 files");
  });

  it("I12: a listing that shows only the request file while the PR changes two refuses (the hidden one could be CODEOWNERS)", async () => {
    const { d } = await evaluate({
      head: { [REQUEST_PATH]: REQUEST, ".github/CODEOWNERS": "* @dave\n" },
      files: [{ filename: REQUEST_PATH, status: "added", sha: null }],
      changedFilesCount: 2,
      reviews: [approve("dave")],
    }, "check");
    expect(d.ok).toBe(false);
    expect(d.code).toBe("JIT_LIST_INCOMPLETE");
  });
});

describe("I12: team members", () => {
  it("I12: membership of a 150-member team is asked per person, so member #150 counts", async () => {
    const big = Array.from({ length: 150 }, (_, i) => `member${i + 1}`);
    const { ctx, d } = await evaluate({
      teams: { ...TEAMS, "@acme/dba": big },
      permissions: { member150: "write" },
      reviews: [approve("member150")],
    });
    expect(d.ok).toBe(true);
    expect(ctx.calls.filter((c) => c.method === "isTeamMember").map((c) => c.args[0])).toContain("member150");
  });
});
