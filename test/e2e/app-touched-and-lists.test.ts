// I13 and I12 through the app on the simulator: a pusher recorded from the synchronize delivery
// never approves, and a push whose request file GitHub's compare leaves out (file #301) is still
// seen, alerted or revoked; a tree GitHub truncated fails closed.
import type { Octokit as RestOctokit } from "@octokit/rest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installationOctokit, octokitWith } from "../sim/test-helpers.ts";
import { codesIn, OWNER, REPO, requestPath, requestYaml, startJitE2E, type JitE2E } from "./app-fixture.ts";

let w: JitE2E;
let gh: RestOctokit;
const o = { owner: OWNER, repo: REPO };
beforeAll(async () => {
  w = await startJitE2E({ protection: { requiredApprovingReviews: 1 } });
  gh = await installationOctokit(w.e2e.sim, OWNER);
});
afterAll(async () => { await w?.stop(); });

/** 300 files that sort before access-requests/, so a request file in the same push is #301. */
const filler = (tag: string) => Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`aa/${tag}/f${String(i).padStart(3, "0")}.txt`, `${tag}\n`]));

describe("I13: pushers through the app", () => {
  it("I13: a DBA who pushed alice's own commit to the PR (synchronize sender) cannot approve it; nothing granted", async () => {
    const id = "alice-i13-pusher";
    const { number, headSha } = await w.request("alice", id);
    // alice's commit on a side branch: author and committer are alice, nothing in it names dora
    const side = await w.repo.commitToBranch("alice", "side/alice-i13", { files: { [requestPath(id)]: requestYaml({ reason: "Investigate INC-1234 second step" }) } }, { from: headSha });
    await octokitWith(w.e2e.sim, w.e2e.sim.userToken("dora")).rest.git.updateRef({ ...o, ref: `heads/req/${id}`, sha: side });
    await w.idle();
    const { rows } = await w.stateSu.query("SELECT login, action, head_sha FROM pushers WHERE repository = $1 AND pr_number = $2 ORDER BY recorded_at", [`${OWNER}/${REPO}`, number]);
    expect(rows).toEqual([{ login: "alice", action: "opened", head_sha: headSha }, { login: "dora", action: "synchronize", head_sha: side }]);
    // a redelivery records nothing twice
    w.e2e.sim.redeliver(w.e2e.sim.findDeliveries({ event: "pull_request", action: "synchronize" }).at(-1)!.guid);
    await w.idle();
    expect((await w.stateSu.query("SELECT count(*)::int AS n FROM pushers WHERE pr_number = $1", [number])).rows[0].n).toBe(2);

    await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    const check = await w.check(side);
    expect(check.conclusion).toBe("failure");
    expect(check.output.summary).toContain("@dora: **JIT_APPROVER_IS_PUSHER** pushed to the head branch (synchronize");
    expect(codesIn(check.output.summary)).toEqual(expect.arrayContaining(["JIT_APPROVALS_MISSING", "JIT_APPROVER_IS_PUSHER"]));

    await w.repo.merge(number); // GitHub's protection counts dora's approval
    await w.idle();
    const refusal = w.comments(number).filter((c) => c.body.startsWith("❌")).map((c) => c.body);
    expect(refusal).toHaveLength(1);
    expect(refusal[0]).toContain("**JIT_APPROVER_IS_PUSHER**");
    await w.nothingGranted(id);
    expect(await w.ledger(id)).toEqual([]);
  });
});

describe("I12: pushes whose compare GitHub truncates", () => {
  it("I12: a request file pushed to main as file #301 (beyond the compare's 300) is alerted; nothing granted", async () => {
    const path = requestPath("alice-page2");
    const sha = await w.repo.pushToDefaultBranch({ ...filler("add"), [path]: requestYaml() }, { asUser: "alice", message: "bulk" });
    await w.idle();
    // the premise: GitHub's compare of this push lists 300 files and not the request file
    const parent = (await w.repo.git.readCommit(sha)).parents[0]!;
    const cmp = await gh.rest.repos.compareCommitsWithBasehead({ ...o, basehead: `${parent}...${sha}` });
    expect(cmp.data.files).toHaveLength(300);
    expect(cmp.data.files!.some((f) => f.filename === path)).toBe(false);

    await w.nothingGranted("alice-page2");
    expect(w.alerts().map((a) => a.title)).toContain(`[JIT_UNVERIFIED_PUSH] ${path} reached main without a verified pull request`);
  });

  it("I12: deleting an active grant's file as file #301 of a push is still seen (revoke_by decides, default: alerted, not revoked)", async () => {
    const id = "alice-page2-revoke";
    const { number } = await w.request("alice", id);
    await w.repo.review("dora", number, "APPROVE");
    await w.repo.merge(number);
    await w.idle();
    expect((await w.ledger(id)).map((r) => r.status)).toEqual(["active"]);
    expect((await w.appGranted()).filter((m) => m.member === "alice")).toHaveLength(1);

    await w.repo.pushToDefaultBranch({ ...filler("del"), [requestPath(id)]: null }, { asUser: "dora", message: "bulk, and end alice's access" });
    await w.idle();
    // The deletion was found on page 2: under the default revoke_by a direct push ends nothing early,
    // and says so for exactly that file.
    expect((await w.ledger(id)).map((r) => r.status)).toEqual(["active"]);
    const seen = w.alerts().filter((a) => a.title.startsWith("[JIT_REVOKE_NOT_AUTHORIZED]"));
    expect(seen).toHaveLength(1);
    expect(seen[0]!.title).toContain(requestPath(id));
  });

  it("I12: when GitHub truncates the access-requests/ tree, the push fails closed with one JIT_LIST_INCOMPLETE alert", async () => {
    const before = await w.appGranted();
    const fault = w.e2e.sim.injectFault({ route: "git/get-tree", count: Infinity, mutateResponse: (b) => { b.truncated = true; } });
    try {
      const sha = await w.repo.pushToDefaultBranch({ [requestPath("alice-trunc")]: requestYaml() }, { asUser: "alice", message: "hidden in a huge tree" });
      await w.idle();
      const alerts = w.alerts().filter((a) => a.title.startsWith("[JIT_LIST_INCOMPLETE]"));
      expect(alerts).toHaveLength(1);
      expect(alerts[0]!.body).toContain(`Commit ${sha}`);
      expect(alerts[0]!.body).toContain("truncated the tree of access-requests/");
      expect(await w.ledger("alice-trunc")).toEqual([]);
      expect(await w.appGranted()).toEqual(before); // nothing granted (alice's earlier grant is unchanged)
    } finally {
      fault.clear();
    }
  });
});
