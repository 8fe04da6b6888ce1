// docs/security.md cases 13-16 through the app: the shape of a request pull request. Each case asserts
// the exact code in the check run or the refusal comment, and that nothing was granted (no
// app-granted membership, no active ledger row).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP_ROLE, CODEOWNERS, POLICY_YAML, codesIn, requestPath, requestYaml, startJitE2E, type JitE2E } from "./app-fixture.ts";

let w: JitE2E;
beforeAll(async () => { w = await startJitE2E(); });
afterAll(async () => { await w?.stop(); });



describe("case 13: a request plus a change to what decides access fails; evaluation uses the base files", () => {
  const MALLORY_OWNS = "*  @acme/security\n/access-requests/ @mallory\n";
  const variants: { name: string; files: Record<string, string>; base?: Record<string, string | null>; shows?: string }[] = [
    // the PR raises the maximum to 30d in its own copy of the policy: the base maximum (8h) still applies
    { name: "policies/orders.yaml", files: { "policies/orders.yaml": POLICY_YAML.replace("max_duration: 8h", "max_duration: 30d") }, shows: "JIT_DURATION_TOO_LONG" },
    { name: "a new file under policies/", files: { "policies/zz.yaml": "identities:\n  mallory: alice\n" } },
    // the PR makes mallory the owner of access-requests/: her approval still does not count
    { name: ".github/CODEOWNERS", files: { ".github/CODEOWNERS": MALLORY_OWNS }, shows: "JIT_APPROVER_NOT_OWNER" },
    { name: "a root CODEOWNERS", files: { CODEOWNERS: MALLORY_OWNS }, shows: "JIT_APPROVER_NOT_OWNER" },
    { name: "docs/CODEOWNERS", files: { "docs/CODEOWNERS": MALLORY_OWNS }, shows: "JIT_APPROVER_NOT_OWNER" },
    // the base has only a root CODEOWNERS; the PR adds .github/CODEOWNERS, which would take precedence
    {
      name: "an added higher-precedence .github/CODEOWNERS", files: { ".github/CODEOWNERS": MALLORY_OWNS },
      base: { ".github/CODEOWNERS": null, CODEOWNERS }, shows: "JIT_APPROVER_NOT_OWNER",
    },
    { name: ".github/workflows", files: { ".github/workflows/steal.yml": "on: pull_request\njobs: {}\n" } },
    { name: "schemas/", files: { "schemas/access-request.schema.json": "{ \"type\": \"object\" }\n" } },
    { name: "package.json", files: { "package.json": "{ \"name\": \"access\", \"scripts\": { \"postinstall\": \"curl evil\" } }\n" } },
  ];

  for (const [i, v] of variants.entries()) {
    it(`case 13: request + ${v.name} → JIT_PR_TOUCHES_OTHER_FILES, nothing granted`, async () => {
      const repo = await w.newRepo(`access-13-${i}`, { files: v.base ?? {} });
      const id = `alice-13-${i}`;
      const yaml = requestYaml({ duration: v.shows === "JIT_DURATION_TOO_LONG" ? "9h" : "2h" });
      const { number, headSha } = await w.request("alice", id, yaml, { repo, extra: v.files });
      await repo.review("dora", number, "APPROVE");
      await repo.review("mallory", number, "APPROVE");
      await w.idle();

      const check = await w.check(headSha, repo);
      expect(check.conclusion).toBe("failure");
      expect(check.output.title).toMatch(/^JIT_PR_TOUCHES_OTHER_FILES: /);
      const touched = Object.keys(v.files)[0]!;
      expect(check.output.summary).toContain(`**JIT_PR_TOUCHES_OTHER_FILES**: ${touched} is changed too`);
      expect(check.annotations.map((a) => [a.path, a.title])).toContainEqual([touched, "JIT_PR_TOUCHES_OTHER_FILES"]);
      if (v.shows) expect(codesIn(check.output.summary)).toContain(v.shows);
      if (v.shows === "JIT_APPROVER_NOT_OWNER") {
        expect(check.output.summary).toContain("@mallory: **JIT_APPROVER_NOT_OWNER**");
        expect(check.output.summary).toContain(v.base ? "(CODEOWNERS line 3;" : "(.github/CODEOWNERS line 3;");
      }
      expect(check.output.summary).toContain(`policies and CODEOWNERS read at ${(await repo.git.resolveCommit("main"))!.slice(0, 12)}`);

      const refusal = await w.mergeAndRefusal(number, repo);
      expect(refusal).toContain("(**JIT_PR_TOUCHES_OTHER_FILES**)");
      await w.nothingGranted(id, null);
      expect(w.alerts(repo).map((a) => a.title)).toEqual([`[JIT_MERGE_REFUSED] Merged request PR #${number} was refused (JIT_PR_TOUCHES_OTHER_FILES)`]);
    });
  }
});

describe("case 14: one request file per PR, at the exact path, a regular file", () => {
  it("case 14: two request files → JIT_PR_MULTIPLE_REQUESTS, nothing granted", async () => {
    const { number, headSha } = await w.request("alice", "alice-14a", requestYaml(), { extra: { [requestPath("alice-14b")]: requestYaml() } });
    await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    const check = await w.check(headSha);
    expect(check.conclusion).toBe("failure");
    expect(check.output.title).toMatch(/^JIT_PR_MULTIPLE_REQUESTS: /);
    expect(await w.mergeAndRefusal(number)).toContain("(**JIT_PR_MULTIPLE_REQUESTS**)");
    await w.nothingGranted("alice-14a", null);
    await w.nothingGranted("alice-14b", null);
  });

  const outside = [
    "access-requests/orders-prod/Alice-14.yaml",
    "access-requests/orders-prod/alice-14.yml",
    "access-requests/alice-14.yaml",
    "access-requests/orders-prod/sub/alice-14.yaml",
    "Access-Requests/orders-prod/alice-14.yaml",
    "access-requests/Orders-Prod/alice-14.yaml",
  ];
  for (const [i, path] of outside.entries()) {
    it(`case 14: a file outside the exact path pattern (${path}) → JIT_PATH_INVALID, nothing granted`, async () => {
      const { number, headSha } = await w.repo.openPullRequest("alice", `req/outside-${i}`, { [path]: requestYaml() });
      await w.repo.review("dora", number, "APPROVE");
      await w.idle();
      const check = await w.check(headSha);
      expect(check.conclusion).toBe("failure");
      expect(check.output.title).toMatch(/^JIT_PATH_INVALID: /);
      expect(check.annotations.map((a) => [a.path, a.title])).toEqual([[path, "JIT_PATH_INVALID"]]);
      expect(await w.mergeAndRefusal(number)).toContain("(**JIT_PATH_INVALID**)");
      expect(await w.appGranted()).toEqual([]);
      expect(await w.ledger()).toEqual([]);
    });
  }

  for (const [what, mode] of [["an executable file", "100755"], ["a symbolic link", "120000"]] as const) {
    it(`case 14: the request as ${what} (mode ${mode}) → JIT_PR_FILE_MODE, nothing granted`, async () => {
      const id = `alice-mode-${mode}`;
      const content = mode === "120000" ? "../../README.md" : requestYaml();
      const { number, headSha } = await w.repo.openPullRequest("alice", `req/${id}`, { [requestPath(id)]: { content, mode } });
      await w.repo.review("dora", number, "APPROVE");
      await w.idle();
      const check = await w.check(headSha);
      expect([check.conclusion, check.output.title?.split(":")[0]]).toEqual(["failure", "JIT_PR_FILE_MODE"]);
      expect(await w.mergeAndRefusal(number)).toContain("(**JIT_PR_FILE_MODE**)");
      await w.nothingGranted(id, null);
    });
  }
});

describe("case 16: closed-unmerged and draft pull requests are never granted", () => {
  it("case 16: an approved PR closed without merging → check JIT_PR_NOT_MERGED, nothing granted", async () => {
    const { number, headSha } = await w.request("alice", "alice-16-closed");
    await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    expect((await w.check(headSha)).conclusion).toBe("success");
    await w.repo.close(number, { asUser: "alice" });
    await w.idle();
    const check = await w.check(headSha);
    expect(check.conclusion).toBe("failure");
    expect(check.output.title).toMatch(/^JIT_PR_NOT_MERGED: pull request #\d+ was closed without merging/);
    await w.nothingGranted("alice-16-closed", null);
    expect(await w.ledger("alice-16-closed")).toEqual([]);
    expect(w.comments(number).some((c) => c.body.includes("granted `"))).toBe(false);
  });

  it("case 16: a draft PR → check JIT_PR_DRAFT even when approved; GitHub refuses to merge it; nothing granted", async () => {
    const { number, headSha } = await w.request("alice", "alice-16-draft", requestYaml(), { draft: true });
    await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    const check = await w.check(headSha);
    expect(check.conclusion).toBe("action_required");
    expect(check.output.title).toBe("Draft: orders_readonly on orders-prod for 2h");
    expect(codesIn(check.output.summary)).toEqual(["JIT_PR_DRAFT"]);
    await expect(w.repo.merge(number, { asAdminBypass: true })).rejects.toMatchObject({ status: 405 });
    await w.idle();
    await w.nothingGranted("alice-16-draft", null);
    expect(await w.ledger("alice-16-draft")).toEqual([]);
  });
});

describe("case 15: editing an active request", () => {
  let grantedPr: number;
  beforeAll(async () => {
    const { number } = await w.request("carol", "carol-15");
    await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    await w.repo.merge(number);
    await w.idle();
    grantedPr = number;
  });

  const expiresAt = async () => (await w.ledger("carol-15"))[0]!.expires_at!.getTime();

  it("case 15: the grant under test is active", async () => {
    expect(await w.appGranted()).toEqual([{ role: "orders_readonly", member: "carol", grantor: APP_ROLE }]);
    expect((await w.ledger("carol-15"))[0]).toMatchObject({ status: "active", pr_number: grantedPr });
  });

  // Edits are checked, not merged: a merge would change the file on the default branch, and the
  // next edit would be compared with that. One refused merge below shows the ledger stays put.
  for (const [what, yaml] of [
    ["reason", requestYaml({ reason: "Something else entirely" })],
    ["role", requestYaml({ role: "orders_admin" })],
    ["ticket", requestYaml({ ticket: "INC-9999" })],
  ] as const) {
    it(`case 15: editing the ${what} of an active request → JIT_EXTENSION_NOT_ALLOWED`, async () => {
      const { number, headSha } = await w.repo.openPullRequest("carol", `edit/${what}`, { [requestPath("carol-15")]: yaml });
      await w.repo.review("dora", number, "APPROVE");
      await w.repo.review("dan", number, "APPROVE");
      await w.idle();
      const check = await w.check(headSha);
      expect(check.conclusion).toBe("failure");
      expect(check.output.title).toBe(`JIT_EXTENSION_NOT_ALLOWED: ${requestPath("carol-15")} is an active request: ${what} changed`);
      await w.repo.close(number);
      await w.idle();
    });
  }

  it("case 15: a shorter or equal duration is not an extension → JIT_EXTENSION_NOT_ALLOWED", async () => {
    for (const duration of ["1h", "30m"]) {
      const { number, headSha } = await w.repo.openPullRequest("carol", `ext/shorter-${duration}`, { [requestPath("carol-15")]: requestYaml({ duration }) });
      await w.repo.review("dora", number, "APPROVE");
      await w.idle();
      const check = await w.check(headSha);
      expect(check.output.title).toMatch(/^JIT_EXTENSION_NOT_ALLOWED: .*an extension must ask for more than the current 2h/);
      await w.repo.close(number);
      await w.idle();
    }
  });

  it("case 15: an edited reason merged anyway → JIT_EXTENSION_NOT_ALLOWED, the ledger does not change", async () => {
    const before = await expiresAt();
    const { number } = await w.repo.openPullRequest("carol", "edit/merged", { [requestPath("carol-15")]: requestYaml({ reason: "Changed after approval" }) });
    await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    expect(await w.mergeAndRefusal(number)).toContain("(**JIT_EXTENSION_NOT_ALLOWED**)");
    expect(await expiresAt()).toBe(before);
    expect(await w.appGranted()).toEqual([{ role: "orders_readonly", member: "carol", grantor: APP_ROLE }]);
    // put the file back as granted, for the next test
    await w.repo.pushToDefaultBranch({ [requestPath("carol-15")]: requestYaml() }, { asUser: "sam" });
    await w.idle();
  });

  it("case 15: a longer duration without fresh approval, merged anyway → JIT_APPROVALS_MISSING, expiry unchanged", async () => {
    const before = await expiresAt();
    const { number, headSha } = await w.repo.openPullRequest("carol", "ext/unapproved", { [requestPath("carol-15")]: requestYaml({ duration: "6h" }) });
    await w.idle();
    const check = await w.check(headSha);
    expect(check.conclusion).toBe("action_required");
    expect(check.output.summary).toContain("6h (extension, counted from the original grant)");
    expect(await w.mergeAndRefusal(number)).toContain("(**JIT_APPROVALS_MISSING**)");
    expect(await expiresAt()).toBe(before);
    const { rows } = await w.stateSu.query("SELECT count(*)::int AS n FROM events WHERE request_id = 'carol-15' AND kind = 'extended'");
    expect(rows[0]).toEqual({ n: 0 });
  });

  it("case 15: once revoked, the request id is never granted again (single use) → JIT_REQUEST_ID_USED", async () => {
    const del = await w.repo.openPullRequest("carol", "revoke/carol-15", { [requestPath("carol-15")]: null });
    await w.idle();
    await w.repo.merge(del.number);
    await w.idle();
    expect((await w.ledger("carol-15"))[0]!.status).toBe("revoked");
    expect(await w.appGranted()).toEqual([]);

    const { number, headSha } = await w.request("carol", "carol-15", requestYaml(), { branch: "again/carol-15" });
    await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    const check = await w.check(headSha);
    expect(check.conclusion).toBe("failure");
    expect(check.output.title).toMatch(/^JIT_REQUEST_ID_USED: /);
    expect(await w.mergeAndRefusal(number)).toContain("(**JIT_REQUEST_ID_USED**)");
    expect(await w.appGranted()).toEqual([]);
    expect((await w.ledger("carol-15")).map((r) => r.status)).toEqual(["revoked"]);
  });
});

describe("I1: policies and CODEOWNERS come from the default branch", () => {
  it("I1: a request PR into another branch, whose policies and CODEOWNERS its author rewrote, grants nothing → JIT_PR_BASE_NOT_DEFAULT", async () => {
    const repo = await w.newRepo("access-i1-base");
    // mallory (write access, owns nothing on main) prepares a branch where she owns and approves requests
    await repo.commitToBranch("mallory", "evil", {
      files: {
        ".github/CODEOWNERS": "* @mallory\n",
        "policies/orders.yaml": POLICY_YAML.replace('approvers: ["@acme/dba"]\n        requesters: ["@acme/engineering", "@acme/dba"]\n        require_ticket', 'approvers: ["mallory"]\n        requesters: ["@acme/engineering", "@acme/dba"]\n        require_ticket'),
      },
      message: "my own rules",
    });
    const { number, headSha } = await w.request("alice", "alice-i1", requestYaml(), { repo, base: "evil" });
    await repo.review("mallory", number, "APPROVE");
    await w.idle();
    const check = await w.check(headSha, repo);
    expect(check.conclusion).toBe("failure");
    expect(check.output.title).toBe("JIT_PR_BASE_NOT_DEFAULT: pull request #1 targets evil, not the default branch main; requests are granted only from main");
    await repo.merge(number);
    await w.idle();
    const refusals = w.comments(number, repo).filter((c) => c.body.startsWith("❌")).map((c) => c.body);
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toContain("(**JIT_PR_BASE_NOT_DEFAULT**)");
    expect((await w.appGranted()).filter((m) => m.member === "alice")).toEqual([]);
    expect(await w.ledger("alice-i1")).toEqual([]);
  });
});
