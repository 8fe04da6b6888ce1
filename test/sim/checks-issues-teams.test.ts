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
  sim.createOrg("acme");
  sim.createTeam("acme", "dba", { members: ["dora"], maintainers: ["mia"], pending: ["pat"] });
  sim.createTeam("acme", "readers", { members: ["rita"] });
  repo = await sim.createRepo({ owner: "acme", name: "access", collaborators: { alice: "write", tom: "triage" }, teams: { dba: "maintain", readers: "read" } });
  gh = await installationOctokit(sim, "acme");
});
afterAll(async () => { await sim.close(); await receiver.close(); });

describe("check runs", () => {
  it("create → check_run.created delivery; update with annotations → completed; list for ref", async () => {
    const { number, headSha } = await repo.openPullRequest("alice", "req", { "a.yaml": "1\n" });
    await sim.waitForIdle();
    const mark = receiver.received.length;
    const created = await gh.rest.checks.create({ ...o, name: "jit-access", head_sha: headSha, status: "in_progress", output: { title: "Evaluating", summary: "…" } });
    expect(created.data).toMatchObject({ status: "in_progress", conclusion: null, head_sha: headSha, name: "jit-access" });
    expect(created.data.pull_requests.map((p) => p.number)).toEqual([number]);
    await sim.waitForIdle();
    const hook = receiver.received.slice(mark);
    expect(hook.map((r) => `${String(r.headers["x-github-event"])}.${String(r.json.action)}`)).toEqual(["check_run.created"]);
    expect((hook[0]!.json.check_run as { id: number; app: { id: number } })).toMatchObject({ id: created.data.id, app: { id: sim.app.id } });

    const annotations = [{ path: "a.yaml", start_line: 1, end_line: 1, annotation_level: "failure" as const, message: "unknown role", title: "JIT_ROLE_UNKNOWN" }];
    const updated = await gh.rest.checks.update({ ...o, check_run_id: created.data.id, conclusion: "failure", output: { title: "Refused", summary: "nope", annotations } });
    expect(updated.data).toMatchObject({ status: "completed", conclusion: "failure", output: { title: "Refused", annotations_count: 1 } });
    expect(updated.data.completed_at).not.toBeNull();
    const listed = await gh.rest.checks.listAnnotations({ ...o, check_run_id: created.data.id });
    expect(listed.data).toEqual([expect.objectContaining({ path: "a.yaml", start_line: 1, annotation_level: "failure", message: "unknown role", title: "JIT_ROLE_UNKNOWN" })]);
    await sim.waitForIdle();
    expect(receiver.received.slice(mark).map((r) => r.json.action)).toEqual(["created", "completed"]);

    const second = await gh.rest.checks.create({ ...o, name: "jit-access", head_sha: headSha, conclusion: "success", output: { title: "OK", summary: "fine" } });
    const forRef = await gh.rest.checks.listForRef({ ...o, ref: headSha, check_name: "jit-access" });
    expect(forRef.data.total_count).toBe(1);
    expect(forRef.data.check_runs[0]!.id).toBe(second.data.id);
    const all = await gh.rest.checks.listForRef({ ...o, ref: "req", filter: "all" });
    expect(all.data.check_runs.map((c) => c.id)).toEqual([second.data.id, created.data.id]);
    expect((await gh.rest.checks.get({ ...o, check_run_id: second.data.id })).data.conclusion).toBe("success");
  });

  it("refuses a completed run without a conclusion and an unknown head_sha (422)", async () => {
    await expect(gh.rest.checks.create({ ...o, name: "x", head_sha: "f".repeat(40) })).rejects.toMatchObject({ status: 422 });
    const head = (await repo.branchSha("main"))!;
    await expect(gh.rest.checks.create({ ...o, name: "x", head_sha: head, status: "completed" })).rejects.toMatchObject({ status: 422 });
  });

  it("a person re-running a check sends check_run.rerequested; a suite re-run sends check_suite.rerequested", async () => {
    const head = (await repo.branchSha("main"))!;
    const run = await gh.rest.checks.create({ ...o, name: "jit-access", head_sha: head, conclusion: "neutral", output: { title: "t", summary: "s" } });
    await sim.waitForIdle();
    const mark = receiver.received.length;
    await repo.rerequestCheckRun(run.data.id, "alice");
    await repo.rerequestCheckSuite(head, "alice");
    await sim.waitForIdle();
    expect(receiver.received.slice(mark).map((r) => `${String(r.headers["x-github-event"])}.${String(r.json.action)}`)).toEqual(["check_run.rerequested", "check_suite.rerequested"]);
    expect((receiver.received[mark]!.json.sender as { login: string }).login).toBe("alice");
  });
});

describe("issues, comments, labels", () => {
  it("comments: create, update, list, delete", async () => {
    const { number } = await repo.openPullRequest("alice", "comments", { "c.yaml": "1\n" });
    const c = await gh.rest.issues.createComment({ ...o, issue_number: number, body: "<!-- jit-access -->\nchecking" });
    expect(c.data.user?.login).toBe(sim.app.botLogin);
    await gh.rest.issues.updateComment({ ...o, comment_id: c.data.id, body: "<!-- jit-access -->\ngranted" });
    repo.comment("dora", number, "LGTM 👍");
    const list = await gh.rest.issues.listComments({ ...o, issue_number: number });
    expect(list.data.map((x) => [x.user?.login, x.body])).toEqual([[sim.app.botLogin, "<!-- jit-access -->\ngranted"], ["dora", "LGTM 👍"]]);
    await gh.rest.issues.deleteComment({ ...o, comment_id: c.data.id });
    expect((await gh.rest.issues.listComments({ ...o, issue_number: number })).data).toHaveLength(1);
  });

  it("issues with labels: create, filter by label, close", async () => {
    await gh.rest.issues.createLabel({ ...o, name: "jit-alert", color: "d73a4a", description: "Alerts" });
    const a = await gh.rest.issues.create({ ...o, title: "Drift", labels: ["jit-alert"] });
    const b = await gh.rest.issues.create({ ...o, title: "Other" });
    await gh.rest.issues.addLabels({ ...o, issue_number: b.data.number, labels: ["misc"] });
    const alerts = await gh.rest.issues.listForRepo({ ...o, labels: "jit-alert" });
    expect(alerts.data.map((i) => i.number)).toEqual([a.data.number]);
    await gh.rest.issues.update({ ...o, issue_number: a.data.number, state: "closed" });
    expect((await gh.rest.issues.listForRepo({ ...o, labels: "jit-alert" })).data).toEqual([]);
    expect((await gh.rest.issues.listForRepo({ ...o, labels: "jit-alert", state: "closed" })).data[0]?.state).toBe("closed");
    expect((await gh.rest.issues.listLabelsForRepo(o)).data.map((l) => l.name).sort()).toEqual(["jit-alert", "misc"]);
    await expect(gh.rest.issues.createLabel({ ...o, name: "jit-alert", color: "000000" })).rejects.toMatchObject({ status: 422 });
  });
});

describe("teams, permissions, users", () => {
  it("team membership: active member, maintainer, pending, non-member 404, removal", async () => {
    const m = (username: string) => gh.rest.teams.getMembershipForUserInOrg({ org: "acme", team_slug: "dba", username });
    expect((await m("dora")).data).toMatchObject({ role: "member", state: "active" });
    expect((await m("mia")).data).toMatchObject({ role: "maintainer", state: "active" });
    expect((await m("pat")).data).toMatchObject({ state: "pending" });
    await expect(m("alice")).rejects.toMatchObject({ status: 404 });
    const members = await gh.rest.teams.listMembersInOrg({ org: "acme", team_slug: "dba" });
    expect(members.data.map((u) => u.login).sort()).toEqual(["dora", "mia"]);
    sim.removeTeamMember("acme", "dba", "dora");
    await expect(m("dora")).rejects.toMatchObject({ status: 404 });
    sim.addTeamMember("acme", "dba", "dora");
    expect((await gh.rest.teams.getByName({ org: "acme", team_slug: "dba" })).data.slug).toBe("dba");
  });

  it("collaborator permission: direct, via team, legacy mapping, none, unknown user 404", async () => {
    const p = async (username: string) => (await gh.rest.repos.getCollaboratorPermissionLevel({ ...o, username })).data;
    expect(await p("alice")).toMatchObject({ permission: "write", role_name: "write" });
    expect(await p("tom")).toMatchObject({ permission: "read", role_name: "triage" });
    expect(await p("dora")).toMatchObject({ permission: "write", role_name: "maintain" });
    expect(await p("rita")).toMatchObject({ permission: "read", role_name: "read" });
    expect(await p("acme")).toMatchObject({ permission: "admin" });
    sim.createUser("nobody");
    expect(await p("nobody")).toMatchObject({ permission: "none" });
    await expect(p("ghost-user")).rejects.toMatchObject({ status: 404 });
    expect((await gh.rest.users.getByUsername({ username: "alice" })).data).toMatchObject({ login: "alice", type: "User" });
  });
});
