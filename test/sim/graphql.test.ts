// The simulator's GraphQL endpoint: documents are validated against GitHub's published schema, only
// `pinIssue` is simulated, and permissions and unknown ids fail as on GitHub.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Octokit } from "@octokit/rest";
import { GitHubSimulator, type RepoScenario } from "./index.ts";
import { installationOctokit } from "./test-helpers.ts";

let sim: GitHubSimulator;
let repo: RepoScenario;
let gh: Octokit;
const o = { owner: "acme", repo: "access" };
const PIN = "mutation($id: ID!) { pinIssue(input: { issueId: $id }) { issue { number } } }";

beforeAll(async () => {
  sim = await GitHubSimulator.start({});
  sim.createOrg("acme");
  repo = await sim.createRepo({ owner: "acme", name: "access", collaborators: { alice: "write", rita: "read" } });
  gh = await installationOctokit(sim, "acme");
});
afterAll(async () => { await sim.close(); });

const pinnedOf = (number: number) => repo.issues().find((i) => i.number === number)?.pinned === true;

describe("GraphQL", () => {
  it("pinIssue pins an issue of the installation's repository and answers the selected fields", async () => {
    const { data: issue } = await gh.rest.issues.create({ ...o, title: "dashboard" });
    expect(pinnedOf(issue.number)).toBe(false);
    const r = await gh.graphql<{ pinIssue: { issue: { number: number } } }>(PIN, { id: issue.node_id });
    expect(r).toEqual({ pinIssue: { issue: { number: issue.number } } });
    expect(pinnedOf(issue.number)).toBe(true);
    expect(sim.countRequests("graphql")).toBeGreaterThanOrEqual(1);
  });

  it("a document GitHub's schema rejects is refused (unknown argument, unknown field)", async () => {
    const { data: issue } = await gh.rest.issues.create({ ...o, title: "x" });
    await expect(gh.graphql("mutation($id: ID!) { pinIssue(input: { issueId: $id, pinned: true }) { issue { number } } }", { id: issue.node_id }))
      .rejects.toThrow(/pinned/);
    await expect(gh.graphql("mutation($id: ID!) { pinIssue(input: { issueId: $id }) { issue { numbr } } }", { id: issue.node_id }))
      .rejects.toThrow(/numbr/);
    expect(pinnedOf(issue.number)).toBe(false);
  });

  it("an unknown node id is NOT_FOUND; a read-only user is FORBIDDEN; nothing is pinned", async () => {
    await expect(gh.graphql(PIN, { id: "I_doesnotexist" })).rejects.toThrow(/Could not resolve/);
    const { data: issue } = await gh.rest.issues.create({ ...o, title: "y" });
    const rita = new Octokit({ auth: sim.userToken("rita"), baseUrl: sim.baseUrl });
    await expect(rita.graphql(PIN, { id: issue.node_id })).rejects.toThrow(/not accessible/);
    expect(pinnedOf(issue.number)).toBe(false);
  });

  it("a valid document the simulator does not implement is an error, never an invented answer", async () => {
    await expect(gh.graphql("{ viewer { login } }")).rejects.toThrow(/does not implement viewer/);
  });
});
