// I12 over the simulator: it caps lists where GitHub does (per_page 100, 250 commits and 3 000
// files of a PR, 300 files and 250 commits of an unpaged compare, 100 000 tree entries), and the
// real adapter (src/github/pr-context.ts) with the one decision reads every page or refuses.
import type { Octokit as RestOctokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluatePullRequest } from "../../src/core/pull-request.ts";
import type { Octokit } from "../../src/github/octokit.ts";
import { OctokitPullRequestContext } from "../../src/github/pr-context.ts";
import { GitHubSimulator, type RepoScenario } from "../sim/index.ts";
import { installationOctokit, octokitWith } from "../sim/test-helpers.ts";
import { BASE_FILES, requestPath, requestYaml } from "./app-fixture.ts";

let sim: GitHubSimulator;
let repo: RepoScenario;
let gh: RestOctokit;
const o = { owner: "acme", repo: "access" };
const MEMBERS = Array.from({ length: 150 }, (_, i) => `member${String(i + 1).padStart(3, "0")}`);

beforeAll(async () => {
  sim = await GitHubSimulator.start({});
  sim.createOrg("acme", ["alice", "dora", "sam", ...MEMBERS]);
  sim.createTeam("acme", "engineering", { members: ["alice"] });
  sim.createTeam("acme", "dba", { members: ["dora", ...MEMBERS] });
  sim.createTeam("acme", "security", { members: ["sam"] });
  repo = await sim.createRepo({ owner: "acme", name: "access", files: BASE_FILES, teams: { engineering: "write", dba: "write", security: "admin" } });
  gh = await installationOctokit(sim, "acme");
});
afterAll(async () => { await sim?.close(); });

function evaluate(number: number) {
  const ctx = new OctokitPullRequestContext(gh as unknown as Octokit, o, number, async () => ({ status: "none" }), async () => []);
  return evaluatePullRequest(ctx, { now: Date.now(), mode: "check" });
}

const pagesRead = (route: string) => sim.requests(route).map((r) => new URL(r.path, "http://x").searchParams.get("page") ?? "1");

describe("I12: the simulator caps lists as GitHub does", () => {
  it("I12: per_page is at most 100; a 151-member team lists in two pages", async () => {
    const first = await gh.rest.teams.listMembersInOrg({ org: "acme", team_slug: "dba", per_page: 500 });
    expect(first.data).toHaveLength(100);
    expect(first.headers.link).toMatch(/page=2>; rel="next"/);
    const all = await gh.paginate(gh.rest.teams.listMembersInOrg, { org: "acme", team_slug: "dba", per_page: 100 });
    expect(all).toHaveLength(151);
    const m = await gh.rest.teams.getMembershipForUserInOrg({ org: "acme", team_slug: "dba", username: "member150" });
    expect(m.data.state).toBe("active");
  });
});

/** Opens a PR on a branch that already holds its commits (openPullRequest would add one more). */
async function openOn(branch: string, title: string): Promise<number> {
  const { data } = await octokitWith(sim, sim.userToken("alice")).rest.pulls.create({ ...o, head: branch, base: "main", title });
  return data.number;
}

describe("I12: 251 commits", () => {
  let number: number;
  beforeAll(async () => {
    const path = requestPath("alice-251");
    const specs = Array.from({ length: 251 }, (_, i) => ({ files: { [path]: requestYaml({ reason: `Investigate INC-1234 step ${i}` }) }, message: `step ${i}` }));
    await repo.commitToBranch("alice", "req/alice-251", specs, { from: "main" });
    number = await openOn("req/alice-251", "Access request alice-251");
    await repo.review("dora", number, "APPROVE");
  });

  it("I12: pulls/get counts 251; the commit list stops at 250 across pages of 100", async () => {
    const pr = await gh.rest.pulls.get({ ...o, pull_number: number });
    expect(pr.data.commits).toBe(251);
    const page3 = await gh.rest.pulls.listCommits({ ...o, pull_number: number, per_page: 100, page: 3 });
    expect(page3.data).toHaveLength(50);
    expect(page3.headers.link ?? "").not.toContain('rel="next"');
    const listed = await gh.paginate(gh.rest.pulls.listCommits, { ...o, pull_number: number, per_page: 100 });
    expect(listed).toHaveLength(250);
  });

  it("I12: the decision over the real adapter refuses with JIT_LIST_INCOMPLETE although dora approved", async () => {
    sim.clearRequestLog();
    const d = await evaluate(number);
    expect(d.ok).toBe(false);
    expect(d.code).toBe("JIT_LIST_INCOMPLETE");
    expect(d.problems.find((p) => p.code === "JIT_LIST_INCOMPLETE")?.message).toContain("250 of the 251 commits");
    expect(d.details.approval?.counted.map((c) => c.login)).toEqual(["dora"]);
    expect(pagesRead("pulls/list-commits")).toEqual(["1", "2", "3"]);
  });
});

describe("I12: 3 001 files", () => {
  let number: number;
  beforeAll(async () => {
    const files: Record<string, string> = { [requestPath("alice-3001")]: requestYaml() };
    for (let i = 0; i < 3000; i++) files[`access-requests/zz/f${String(i).padStart(4, "0")}.txt`] = "x\n";
    ({ number } = await repo.openPullRequest("alice", "req/alice-3001", files, { title: "Access request alice-3001" }));
  });

  it("I12: pulls/get counts 3 001; the file list stops at 3 000", async () => {
    const pr = await gh.rest.pulls.get({ ...o, pull_number: number });
    expect(pr.data.changed_files).toBe(3001);
    const last = await gh.rest.pulls.listFiles({ ...o, pull_number: number, per_page: 100, page: 30 });
    expect(last.data).toHaveLength(100);
    expect(last.headers.link ?? "").not.toContain('rel="next"');
    expect((await gh.rest.pulls.listFiles({ ...o, pull_number: number, per_page: 100, page: 31 })).data).toEqual([]);
  });

  it("I12: the decision refuses with JIT_LIST_INCOMPLETE", async () => {
    const d = await evaluate(number);
    expect(d.ok).toBe(false);
    expect(d.problems.find((p) => p.code === "JIT_LIST_INCOMPLETE")?.message).toContain("3000 of the 3001 files");
  });
});

describe("I12: reviews beyond the first pages, members of a large team", () => {
  it("I12: an approval on page 3 of the reviews, by member #150 of a 151-member team, counts; an objection on page 3 blocks", async () => {
    const { number } = await repo.openPullRequest("alice", "req/alice-p3", { [requestPath("alice-p3")]: requestYaml() }, { title: "Access request alice-p3" });
    for (let i = 0; i < 200; i++) await repo.review("sam", number, "COMMENT", { body: `note ${i}` });
    await repo.review("member150", number, "APPROVE"); // review #201: page 3 at 100 per page
    sim.clearRequestLog();
    const d = await evaluate(number);
    expect(d.ok, d.problems.map((p) => p.code).join(",")).toBe(true);
    expect(d.details.approval?.counted.map((c) => c.login)).toEqual(["member150"]);
    expect(pagesRead("pulls/list-reviews")).toEqual(["1", "2", "3"]);

    await repo.review("member001", number, "REQUEST_CHANGES", { body: "no" }); // #202, page 3
    const blocked = await evaluate(number);
    expect(blocked.ok).toBe(false);
    expect(blocked.code).toBe("JIT_CHANGES_REQUESTED");
  });
});
