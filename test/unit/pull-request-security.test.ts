// docs/security.md cases 13-24 against the one pull-request decision (src/core/pull-request.ts), with a
// fake PullRequestContext. "Nothing granted" here means: the decision is not ok, with the exact code.
import { describe, expect, it } from "vitest";
import type { PullRequestContext } from "../../src/core/context.ts";
import type { Decision } from "../../src/core/problem.ts";
import { evaluatePullRequest, type PullRequestEvaluation } from "../../src/core/pull-request.ts";
import {
  approve, BASE_FILES, CODEOWNERS, commit, POLICY, REQUEST, REQUEST_PATH, requestScenario, review, SHA, TEAMS,
  type FakeContext, type ScenarioOptions,
} from "../helpers/fake-context.ts";

const NOW = 1_780_000_000_000;
const HOUR = 3_600_000;

async function evaluate(o: ScenarioOptions, mode: "check" | "merge" = "check"): Promise<{ ctx: FakeContext; d: Decision<PullRequestEvaluation> }> {
  const ctx = requestScenario(o);
  return { ctx, d: await evaluatePullRequest(ctx, { now: NOW, mode }) };
}

/** Not ok, and the decision's code is exactly `code`. */
function refused(d: Decision<PullRequestEvaluation>, code: string): void {
  expect(d.ok).toBe(false);
  expect(d.code).toBe(code);
}

const codes = (d: Decision<unknown>) => d.problems.map((p) => p.code);

/** Commit SHAs that files under `prefix` were read at. */
const readsAt = (ctx: FakeContext, prefix: string) =>
  ctx.calls.filter((c) => (c.method === "fileAt" || c.method === "listDir") && String(c.args[1]).startsWith(prefix)).map((c) => c.args[0]);

describe("happy path", () => {
  it("a valid request approved by an eligible owner on the head SHA is a grant", async () => {
    const { d } = await evaluate({ reviews: [approve("dave")] });
    expect(d.ok).toBe(true);
    expect(d.code).toBe("JIT_OK");
    expect(d.details.kind).toBe("grant");
    expect(d.details.request?.role).toBe("orders_readonly");
    expect(d.details.dbUser).toBe("alice");
    expect(d.details.requester).toBe("alice");
    expect(d.details.approval?.counted).toEqual([{ login: "dave", reviewId: expect.any(Number), commitId: SHA.head }]);
    expect(d.details.approval?.eligibleOwners).toEqual(["@acme/dba"]);
    expect(d.details.expiresAtIfMergedNow).toBe(NOW + 2 * HOUR);
    expect(d.message).toContain("orders_readonly");
  });

  it("the same PR, merged, passes re-verification in merge mode", async () => {
    const { ctx, d } = await evaluate({ merged: true, reviews: [approve("dave")] }, "merge");
    expect(d.ok).toBe(true);
    expect(d.details.kind).toBe("grant");
    expect(d.details.pullRequest.baseSha).toBe(SHA.mergeParent);
    expect(readsAt(ctx, "policies")).toEqual([SHA.mergeParent, SHA.mergeParent]);
  });

  it("team owners count through membership: erin (maintain) approves", async () => {
    const { d } = await evaluate({ reviews: [approve("ERIN")] });
    expect(d.ok).toBe(true);
    expect(d.details.approval?.counted.map((c) => c.login)).toEqual(["erin"]);
  });
});

describe("I1: only the default branch decides", () => {
  it("an approved request into another branch is refused before that branch's policies or CODEOWNERS are read", async () => {
    for (const mode of ["check", "merge"] as const) {
      const { ctx, d } = await evaluate({ baseRef: "evil", merged: mode === "merge", reviews: [approve("dave")] }, mode);
      refused(d, "JIT_PR_BASE_NOT_DEFAULT");
      expect(readsAt(ctx, "policies")).toEqual([]);
      expect(readsAt(ctx, "CODEOWNERS").concat(readsAt(ctx, ".github"))).toEqual([]);
    }
  });
});

describe("pull-request shape", () => {
  const valid = { [REQUEST_PATH]: REQUEST };
  const others: [string, ScenarioOptions][] = [
    ["a policy change", { head: { ...valid, "policies/orders.yaml": POLICY.replace("max_duration: 8h", "max_duration: 30d") } }],
    ["a new policy file", { head: { ...valid, "policies/zz.yaml": "identities:\n  mallory: postgres\n" } }],
    [".github/CODEOWNERS", { head: { ...valid, ".github/CODEOWNERS": "* @alice\n" } }],
    ["a root CODEOWNERS next to .github/CODEOWNERS", { head: { ...valid, CODEOWNERS: "* @alice\n" } }],
    ["docs/CODEOWNERS", { head: { ...valid, "docs/CODEOWNERS": "* @alice\n" } }],
    ["adding .github/CODEOWNERS when only the root one exists", {
      base: { ".github/CODEOWNERS": null, CODEOWNERS: CODEOWNERS },
      head: { ...valid, ".github/CODEOWNERS": "* @alice\n" },
    }],
    ["deleting .github/CODEOWNERS so the root one applies", {
      base: { CODEOWNERS: "* @alice\n" },
      head: { ...valid, ".github/CODEOWNERS": null },
    }],
    [".github/ workflows", { head: { ...valid, ".github/workflows/steal.yml": "on: pull_request\n" } }],
    ["schemas/", { head: { ...valid, "schemas/access-request.schema.json": "{\"type\":\"object\"}\n" } }],
    ["package.json", { head: { ...valid, "package.json": "{\"scripts\":{\"postinstall\":\"curl evil\"}}\n" } }],
    ["anything else (README.md)", { head: { ...valid, "README.md": "# changed\n" } }],
  ];
  for (const [what, o] of others) {
    it(`case 13: request plus ${what} -> JIT_PR_TOUCHES_OTHER_FILES, evaluated with base files`, async () => {
      const { ctx, d } = await evaluate({ ...o, reviews: [approve("dave")] });
      refused(d, "JIT_PR_TOUCHES_OTHER_FILES");
      // Policies and CODEOWNERS were read at the base, never the head.
      expect(readsAt(ctx, "policies").every((s) => s === SHA.base)).toBe(true);
      const ownersReads = ctx.calls.filter((c) => c.method === "fileAt" && String(c.args[1]).endsWith("CODEOWNERS"));
      expect(ownersReads.map((c) => c.args[0])).toEqual([SHA.base, SHA.base, SHA.base]);
      expect(ctx.calls.some((c) => c.args[0] === SHA.head && !String(c.args[1]).startsWith("access-requests/"))).toBe(false);
    });
  }

  it("case 13: a head policy that would allow the request changes nothing: the base policy refuses it", async () => {
    const { d } = await evaluate({
      head: { [REQUEST_PATH]: REQUEST.replace("duration: 2h", "duration: 12h"), "policies/orders.yaml": POLICY.replace("max_duration: 8h", "max_duration: 1d") },
      reviews: [approve("dave")],
    });
    refused(d, "JIT_PR_TOUCHES_OTHER_FILES");
    expect(codes(d)).toContain("JIT_DURATION_TOO_LONG");
  });

  it("case 13: a head CODEOWNERS naming the author changes nothing: base owners decide", async () => {
    const { d } = await evaluate({
      head: { [REQUEST_PATH]: REQUEST, ".github/CODEOWNERS": "* @bob\n" },
      reviews: [approve("bob")],
    });
    refused(d, "JIT_PR_TOUCHES_OTHER_FILES");
    expect(d.details.approval?.owners).toEqual(["@acme/dba"]);
    expect(d.details.approval?.excluded).toEqual([expect.objectContaining({ login: "bob", code: "JIT_APPROVER_NOT_OWNER" })]);
  });

  it("I12: a listing GitHub truncated (changed_files > listed files) fails closed", async () => {
    const { d } = await evaluate({ changedFilesCount: 3001, reviews: [approve("dave")] });
    refused(d, "JIT_LIST_INCOMPLETE");
  });

  it("case 14: two request files in one PR -> JIT_PR_MULTIPLE_REQUESTS", async () => {
    const { d } = await evaluate({
      head: { [REQUEST_PATH]: REQUEST, "access-requests/orders-prod/alice-inc-1235.yaml": REQUEST },
      reviews: [approve("dave")],
    });
    refused(d, "JIT_PR_MULTIPLE_REQUESTS");
    expect(d.details.request).toBeNull();
  });

  const badPaths = [
    "access-requests/orders-prod/Alice-inc-1234.yaml",
    "access-requests/orders-prod/alice-inc-1234.yml",
    "access-requests/orders-prod/alice_inc.yaml",
    "access-requests/alice-inc-1234.yaml",
    "access-requests/orders-prod/sub/alice-inc-1234.yaml",
    "access-requests/Orders-Prod/alice-inc-1234.yaml",
    "Access-Requests/orders-prod/alice-inc-1234.yaml",
    "access-requests/orders-prod/alice-inc-1234.yaml.bak",
  ];
  for (const path of badPaths) {
    it(`case 14: a file outside the exact path pattern (${path}) -> JIT_PATH_INVALID`, async () => {
      const { d } = await evaluate({ head: { [path]: REQUEST }, reviews: [approve("dave")] });
      refused(d, "JIT_PATH_INVALID");
      expect(d.details.kind).toBe("none");
    });
  }

  it("case 14: a request file that is a symlink or executable -> JIT_PR_FILE_MODE", async () => {
    for (const mode of ["120000", "100755"]) {
      const { d } = await evaluate({ head: { [REQUEST_PATH]: { content: REQUEST, mode } }, reviews: [approve("dave")] });
      refused(d, "JIT_PR_FILE_MODE");
      expect(d.details.request).toBeNull();
    }
  });

  it("case 14: renaming a request file -> JIT_PR_MULTIPLE_REQUESTS", async () => {
    const { d } = await evaluate({
      files: [{ filename: REQUEST_PATH, previousFilename: "access-requests/orders-prod/old.yaml", status: "renamed", sha: null }],
      reviews: [approve("dave")],
    });
    refused(d, "JIT_PR_MULTIPLE_REQUESTS");
  });

  it("case 14: a PR without any request file -> JIT_PR_NO_REQUEST", async () => {
    const { d } = await evaluate({ head: { "README.md": "# hi\n" } });
    expect(d.ok).toBe(false);
    expect(codes(d)).toEqual(["JIT_PR_TOUCHES_OTHER_FILES", "JIT_PR_NO_REQUEST"]);
  });
});

describe("active requests: extension, single use, early revoke", () => {
  const active = { "orders-prod/alice-inc-1234": { status: "active" as const, grantedAt: NOW - HOUR, expiresAt: NOW + HOUR, durationMs: 2 * HOUR } };
  const onBase = { [REQUEST_PATH]: REQUEST };
  const edit = (from: string, to: string) => ({ [REQUEST_PATH]: REQUEST.replace(from, to) });

  it("case 15: editing only duration of an active request is an extension; fresh approval makes it ok", async () => {
    const { d } = await evaluate({ base: onBase, head: edit("duration: 2h", "duration: 4h"), requestStates: active, reviews: [approve("dave")] });
    expect(d.ok).toBe(true);
    expect(d.details.kind).toBe("extension");
    expect(d.details.expiresAtIfMergedNow).toBe(NOW - HOUR + 4 * HOUR); // counted from the original grant
  });

  it("case 15: an extension needs fresh approval like a new request", async () => {
    const { d } = await evaluate({ base: onBase, head: edit("duration: 2h", "duration: 4h"), requestStates: active, reviews: [approve("dave", SHA.old)] });
    refused(d, "JIT_APPROVALS_MISSING");
    expect(d.details.kind).toBe("extension");
    expect(codes(d)).toContain("JIT_APPROVAL_STALE");
  });

  it("case 15: an extension beyond the policy maximum (total from the original grant) -> JIT_DURATION_TOO_LONG", async () => {
    const { d } = await evaluate({ base: onBase, head: edit("duration: 2h", "duration: 9h"), requestStates: active, reviews: [approve("dave")] });
    refused(d, "JIT_DURATION_TOO_LONG");
  });

  it("case 15: any other edit of an active request -> JIT_EXTENSION_NOT_ALLOWED", async () => {
    for (const head of [
      edit("role: orders_readonly", "role: orders_admin"),
      edit("reason: Investigate", "reason: Also investigate"),
      edit("ticket: INC-1234", "ticket: INC-9999"),
      edit("duration: 2h\n", "duration: 4h\nuser: alice\n"),
      { [REQUEST_PATH]: `# a comment-only edit\n${REQUEST}` },
      edit("duration: 2h", "duration: 1h"), // shortening is not an extension; delete the file to end early
    ]) {
      const { d } = await evaluate({ base: onBase, head, requestStates: active, reviews: [approve("dave")] });
      expect(d.ok).toBe(false);
      expect(d.details.kind).toBe("extension");
      refused(d, "JIT_EXTENSION_NOT_ALLOWED");
    }
  });

  it("case 15 / I9: a used request id is never granted again (ended, or active and re-added)", async () => {
    const ended = { "orders-prod/alice-inc-1234": { status: "ended" as const } };
    const readded = await evaluate({ requestStates: ended, reviews: [approve("dave")] });
    refused(readded.d, "JIT_REQUEST_ID_USED");
    const edited = await evaluate({ base: onBase, head: edit("2h", "3h"), requestStates: ended, reviews: [approve("dave")] });
    refused(edited.d, "JIT_REQUEST_ID_USED");
    const activeAdded = await evaluate({ requestStates: active, reviews: [approve("dave")] });
    refused(activeAdded.d, "JIT_REQUEST_ID_USED");
  });

  it("deleting an active request file is an early-revoke intent, not an error", async () => {
    const { ctx, d } = await evaluate({ base: onBase, head: { [REQUEST_PATH]: null }, requestStates: active });
    expect(d.ok).toBe(true);
    expect(d.details.kind).toBe("revoke");
    expect(d.details.requestId).toBe("alice-inc-1234");
    // pull + changedFiles, then the base policies (the revoke needs the database's connection).
    expect(ctx.calls.map((c) => c.method)).toEqual(["pull", "changedFiles", "requestState", "listDir", "fileAt"]);
    expect(readsAt(ctx, "policies")).toEqual([SHA.base, SHA.base]);
    expect(d.details.basePolicy?.databases["orders-prod"]?.connectionEnv).toBe("ORDERS_PROD_DATABASE_URL");
  });

  it("deleting an inactive request file grants nothing", async () => {
    const { d } = await evaluate({ base: onBase, head: { [REQUEST_PATH]: null } });
    expect(d.ok).toBe(true);
    expect(d.details.kind).toBe("none");
  });
});

describe("lifecycle", () => {
  it("case 16: a closed, unmerged PR -> JIT_PR_NOT_MERGED in check and merge mode", async () => {
    for (const mode of ["check", "merge"] as const) {
      const { d } = await evaluate({ state: "closed", reviews: [approve("dave")] }, mode);
      refused(d, "JIT_PR_NOT_MERGED");
      expect(d.details.kind).toBe("none");
    }
  });

  it("case 16: a draft PR is never green, even when approved", async () => {
    const { d } = await evaluate({ draft: true, reviews: [approve("dave")] });
    refused(d, "JIT_PR_DRAFT");
  });

  it("case 16: merge mode on an open PR -> JIT_PR_NOT_MERGED", async () => {
    const { d } = await evaluate({ reviews: [approve("dave")] }, "merge");
    refused(d, "JIT_PR_NOT_MERGED");
  });

  it("I1: the blob at the merge commit must be the blob approved at the head", async () => {
    const mergeTree = { ...BASE_FILES, [REQUEST_PATH]: REQUEST.replace("2h", "8h") };
    const { d } = await evaluate({ merged: true, mergeTree, reviews: [approve("dave")] }, "merge");
    refused(d, "JIT_PR_BLOB_MISMATCH");
  });
});

describe("approvals", () => {
  it("case 17: an admin merge with no approval -> nothing granted (JIT_APPROVALS_MISSING)", async () => {
    const { d } = await evaluate({ merged: true, reviews: [] }, "merge");
    refused(d, "JIT_APPROVALS_MISSING");
    expect(d.details.approval?.counted).toEqual([]);
  });

  // dave is a DBA (owner, approver, write access) who may also request.
  const daveRequests: ScenarioOptions = { author: "dave", teams: { ...TEAMS, "@acme/engineering": ["dave"] }, head: { "access-requests/orders-prod/dave-1.yaml": REQUEST } };

  it("case 18: the author's own approval does not count", async () => {
    const { d } = await evaluate({ ...daveRequests, commits: [commit("dave", "c1")], reviews: [approve("dave")] });
    refused(d, "JIT_APPROVALS_MISSING");
    expect(d.details.approval?.excluded).toEqual([expect.objectContaining({ login: "dave", code: "JIT_APPROVER_IS_AUTHOR" })]);
    expect(codes(d)).toContain("JIT_APPROVER_IS_AUTHOR");
  });

  it("case 18: the beneficiary is every login the identities map sends to the database user", async () => {
    // Policies allow one GitHub login per database login and only the requester's own login, so at
    // the PR level the beneficiary is the author (compared case-insensitively); approval.test.ts
    // covers a beneficiary who is not the author.
    const { d } = await evaluate({ ...daveRequests, author: "Dave", commits: [commit("erin", "c1")], reviews: [approve("dave")] });
    refused(d, "JIT_APPROVALS_MISSING");
    expect(d.details.dbUser).toBe("dave");
    expect(d.details.beneficiaries).toEqual(["dave"]);
    expect(d.details.approval?.excluded).toEqual([expect.objectContaining({ login: "dave", code: "JIT_APPROVER_IS_AUTHOR" })]);
  });

  it("case 18: someone who pushed (committed) a commit does not count", async () => {
    const { d } = await evaluate({ commits: [commit("alice", "c1"), commit("alice", "c2", { committer: { login: "erin", email: "erin@example.com" } })], reviews: [approve("erin")] });
    refused(d, "JIT_APPROVALS_MISSING");
    expect(d.details.approval?.excluded).toEqual([expect.objectContaining({ login: "erin", code: "JIT_APPROVER_IS_CONTRIBUTOR" })]);
  });

  it("case 18: someone who authored a commit does not count", async () => {
    const { d } = await evaluate({ commits: [commit("alice", "c1", { author: { login: "grace", email: "grace@example.com" } })], reviews: [approve("grace")] });
    refused(d, "JIT_APPROVALS_MISSING");
    expect(codes(d)).toContain("JIT_APPROVER_IS_CONTRIBUTOR");
  });

  it("case 18: a co-author does not count (trailer with a noreply address, resolved login, or a commit email)", async () => {
    const variants = [
      commit("alice", "c1", { message: "Request\n\nCo-authored-by: Grace H <4242+grace@users.noreply.github.com>" }),
      commit("alice", "c1", { message: "Request", coAuthors: [{ name: "G", email: "g@corp.example", login: "Grace" }] }),
      commit("alice", "c1", { message: "Request\n\nco-authored-by: G <grace@corp.example>" }),
    ];
    const graceCommitted = commit("alice", "c0", { committer: { login: "alice", email: "alice@example.com" }, author: { login: "grace", email: "grace@corp.example" } });
    for (const [i, c] of variants.entries()) {
      const commits = i === 2 ? [c, { ...graceCommitted, author: { email: "grace@corp.example", login: "grace" } }] : [c];
      const { d } = await evaluate({ commits, reviews: [approve("grace")] });
      refused(d, "JIT_APPROVALS_MISSING");
      expect(d.details.approval?.excluded).toEqual([expect.objectContaining({ login: "grace", code: "JIT_APPROVER_IS_CONTRIBUTOR" })]);
    }
  });

  it("case 19: an approval on an older commit, then a push, then merge -> nothing granted", async () => {
    const { d } = await evaluate({ merged: true, reviews: [approve("dave", SHA.old)] }, "merge");
    refused(d, "JIT_APPROVALS_MISSING");
    expect(d.details.approval?.excluded).toEqual([expect.objectContaining({ login: "dave", code: "JIT_APPROVAL_STALE" })]);
  });

  it("case 20: an approver who is not a code owner does not count", async () => {
    const { d } = await evaluate({ reviews: [approve("sam")] }); // security team, admin, owns other paths
    refused(d, "JIT_APPROVALS_MISSING");
    expect(d.details.approval?.excluded).toEqual([expect.objectContaining({ login: "sam", code: "JIT_APPROVER_NOT_OWNER" })]);
  });

  it("case 20: a code owner who is not among the policy's approvers does not count", async () => {
    const { d } = await evaluate({ base: { ".github/CODEOWNERS": "/access-requests/ @acme/dba @sam\n" }, reviews: [approve("sam")] });
    refused(d, "JIT_APPROVALS_MISSING");
    expect(d.details.approval?.excluded[0]).toEqual(expect.objectContaining({ login: "sam", code: "JIT_APPROVER_NOT_OWNER", reason: expect.stringContaining("approvers") }));
  });

  it("case 20: an owner without write access does not count", async () => {
    const { d } = await evaluate({ reviews: [approve("frank")] }); // DBA team, read permission
    refused(d, "JIT_APPROVALS_MISSING");
    expect(d.details.approval?.excluded).toEqual([expect.objectContaining({ login: "frank", code: "JIT_APPROVER_NO_WRITE_ACCESS" })]);
  });

  it("case 20: a team member removed before merge does not count (membership read at evaluation)", async () => {
    const removed = { ...TEAMS, "@acme/dba": ["dave", "frank", "grace"] }; // erin left after approving
    const { ctx, d } = await evaluate({ merged: true, teams: removed, reviews: [approve("erin")] }, "merge");
    refused(d, "JIT_APPROVALS_MISSING");
    expect(d.details.approval?.excluded).toEqual([expect.objectContaining({ login: "erin", code: "JIT_APPROVER_NOT_OWNER" })]);
    expect(ctx.calls).toContainEqual({ method: "isTeamMember", args: ["erin", "@acme/dba"] });
  });

  it("case 21: APPROVED then CHANGES_REQUESTED -> not approved, and blocks", async () => {
    const { d } = await evaluate({ reviews: [approve("dave", SHA.head, { minute: 1 }), review("dave", "CHANGES_REQUESTED", SHA.head, { minute: 2 })] });
    refused(d, "JIT_CHANGES_REQUESTED");
    expect(d.details.approval?.counted).toEqual([]);
  });

  it("case 21: APPROVED then COMMENTED -> still approved", async () => {
    const { d } = await evaluate({ reviews: [approve("dave", SHA.head, { minute: 1 }), review("dave", "COMMENTED", SHA.head, { minute: 2 })] });
    expect(d.ok).toBe(true);
    expect(d.details.approval?.counted.map((c) => c.login)).toEqual(["dave"]);
  });

  it("case 21: DISMISSED -> not approved", async () => {
    const { d } = await evaluate({ reviews: [review("dave", "DISMISSED", SHA.head, { minute: 1 })] });
    refused(d, "JIT_APPROVALS_MISSING");
    const { d: d2 } = await evaluate({ reviews: [approve("dave", SHA.head, { minute: 1 }), review("dave", "DISMISSED", SHA.head, { minute: 2 })] });
    refused(d2, "JIT_APPROVALS_MISSING");
  });

  it("case 21: another eligible owner's outstanding CHANGES_REQUESTED blocks", async () => {
    const { d } = await evaluate({ reviews: [approve("dave", SHA.head, { minute: 2 }), review("grace", "CHANGES_REQUESTED", SHA.old, { minute: 1 })] });
    refused(d, "JIT_CHANGES_REQUESTED");
    expect(d.details.approval?.blockedBy).toEqual([expect.objectContaining({ login: "grace" })]);
  });

  it("case 21: CHANGES_REQUESTED then APPROVED -> approved; the API's order does not matter, time does", async () => {
    const { d } = await evaluate({ reviews: [approve("dave", SHA.head, { minute: 5 }), review("dave", "CHANGES_REQUESTED", SHA.old, { minute: 1 })] });
    expect(d.ok).toBe(true);
  });

  it("case 21: a non-owner's CHANGES_REQUESTED does not block; a pending review is nothing", async () => {
    const { d } = await evaluate({ reviews: [approve("dave"), review("sam", "CHANGES_REQUESTED"), review("grace", "PENDING")] });
    expect(d.ok).toBe(true);
  });

  it("case 22: comment-like reviews (\"LGTM\") never count, and bots never approve", async () => {
    const { ctx, d } = await evaluate({
      reviews: [review("dave", "COMMENTED"), review("erin", "COMMENTED"), approve("github-actions[bot]", SHA.head, { type: "Bot" }), approve("dependabot", SHA.head, { type: "Bot" })],
    });
    refused(d, "JIT_APPROVALS_MISSING");
    expect(d.details.approval?.excluded.map((x) => x.code)).toEqual(["JIT_APPROVER_IS_BOT", "JIT_APPROVER_IS_BOT"]);
    // The context offers no comments, reactions or statuses, and nothing else was read.
    const methods = new Set(ctx.calls.map((c) => c.method));
    for (const m of methods) expect(["pull", "changedFiles", "commits", "reviews", "isTeamMember", "permission", "fileAt", "listDir", "requestState", "pushers"]).toContain(m);
    for (const m of ["comments", "listComments", "reactions", "statuses", "checkRuns"]) expect(m in ctx).toBe(false);
  });

  it("case 23: an owner-less last CODEOWNERS match fails closed -> JIT_NO_ELIGIBLE_OWNER", async () => {
    const { d } = await evaluate({ base: { ".github/CODEOWNERS": `${CODEOWNERS}/access-requests/orders-prod/\n` }, reviews: [approve("dave")] });
    refused(d, "JIT_NO_ELIGIBLE_OWNER");
  });

  it("case 23: .github/CODEOWNERS beats the root file at the base", async () => {
    const { d } = await evaluate({ base: { ".github/CODEOWNERS": "* @acme/security\n", CODEOWNERS: "* @acme/dba\n" }, reviews: [approve("dave")] });
    refused(d, "JIT_APPROVALS_MISSING");
    expect(d.details.approval?.codeownersPath).toBe(".github/CODEOWNERS");
    expect(d.details.approval?.excluded).toEqual([expect.objectContaining({ login: "dave", code: "JIT_APPROVER_NOT_OWNER" })]);
  });

  it("case 23: docs/CODEOWNERS applies only when the others are absent", async () => {
    const { d } = await evaluate({ base: { ".github/CODEOWNERS": null, "docs/CODEOWNERS": "/access-requests/ @acme/dba\n" }, reviews: [approve("dave")] });
    expect(d.ok).toBe(true);
    expect(d.details.approval?.codeownersPath).toBe("docs/CODEOWNERS");
  });

  it("case 23: no CODEOWNERS at the base fails closed", async () => {
    const { d } = await evaluate({ base: { ".github/CODEOWNERS": null }, reviews: [approve("dave")] });
    refused(d, "JIT_NO_ELIGIBLE_OWNER");
  });

  it("case 23: unsupported syntax after the deciding line is not interpreted and fails closed", async () => {
    for (const line of ["!/access-requests/orders-prod/ @acme/dba", "/access-requests/[o]rders-prod/ @acme/security", "\\#x @acme/dba"]) {
      const { d } = await evaluate({ base: { ".github/CODEOWNERS": `${CODEOWNERS}${line}\n` }, reviews: [approve("dave")] });
      refused(d, "JIT_CODEOWNERS_ERROR");
      expect(d.problems[0]).toEqual(expect.objectContaining({ path: ".github/CODEOWNERS", line: 5 }));
      expect(d.details.approval?.owners).toEqual(["@acme/dba"]); // the line was not interpreted
    }
  });

  it("case 23: paths are case-sensitive", async () => {
    const { d } = await evaluate({ base: { ".github/CODEOWNERS": "/Access-Requests/ @acme/dba\n" }, reviews: [approve("dave")] });
    refused(d, "JIT_NO_ELIGIBLE_OWNER");
  });

  it("case 24: base policy tightened between approval and merge -> nothing granted", async () => {
    // The PR was opened and approved against the old policy (head and base.sha still carry it).
    const tightened = POLICY.replace("approvals: 1", "approvals: 2");
    const { ctx, d } = await evaluate({ merged: true, mergeParent: { "policies/orders.yaml": tightened }, reviews: [approve("dave")] }, "merge");
    refused(d, "JIT_APPROVALS_MISSING");
    expect(d.details.approval?.required).toBe(2);
    expect(readsAt(ctx, "policies")).toEqual([SHA.mergeParent, SHA.mergeParent]);

    const shorter = POLICY.replace("max_duration: 8h", "max_duration: 1h");
    const { d: d2 } = await evaluate({ merged: true, mergeParent: { "policies/orders.yaml": shorter }, reviews: [approve("dave")] }, "merge");
    refused(d2, "JIT_DURATION_TOO_LONG");

    // The same PR checked before the change was fine.
    const { d: before } = await evaluate({ reviews: [approve("dave")] });
    expect(before.ok).toBe(true);
  });

  it("case 24: base CODEOWNERS tightened between approval and merge -> nothing granted", async () => {
    const { d } = await evaluate({ merged: true, mergeParent: { ".github/CODEOWNERS": "/access-requests/ @grace\n" }, reviews: [approve("dave")] }, "merge");
    refused(d, "JIT_APPROVALS_MISSING");
    expect(d.details.approval?.excluded).toEqual([expect.objectContaining({ login: "dave", code: "JIT_APPROVER_NOT_OWNER" })]);
  });

  it("case 13: a merge commit that changes CODEOWNERS or policies relative to its first parent (a rebase merge's earlier commit) -> JIT_PR_TOUCHES_OTHER_FILES, nothing read there", async () => {
    // After a rebase merge the first parent is the PR's own previous commit: here it loosened
    // CODEOWNERS and the merged commit put the real file back.
    const loose = { ".github/CODEOWNERS": "/access-requests/ @acme/dba\n# parent of the merged commit\n" };
    const merged = { ...BASE_FILES, [REQUEST_PATH]: REQUEST };
    const { ctx, d } = await evaluate({ merged: true, mergeParent: loose, mergeTree: merged, reviews: [approve("grace")] }, "merge");
    refused(d, "JIT_PR_TOUCHES_OTHER_FILES");
    expect(d.problems[0]!.message).toContain(".github");
    expect(d.details.approval).toBeNull();
    expect(readsAt(ctx, "policies")).toEqual([]);
    // The same merge whose parent is the real base (merge commit or squash) is granted.
    const { d: squash } = await evaluate({ merged: true, reviews: [approve("grace")] }, "merge");
    expect(squash.ok).toBe(true);
  });
});

describe("determinism and cost", () => {
  it("the same context gives the same decision", async () => {
    const o: ScenarioOptions = { reviews: [approve("dave", SHA.head, { minute: 3 }), review("sam", "APPROVED", SHA.head, { minute: 1 }), approve("frank", SHA.old, { minute: 2 })] };
    const a = await evaluate(o);
    const b = await evaluate(o);
    expect(b.d).toEqual(a.d);
    expect(b.ctx.calls).toEqual(a.ctx.calls);
    const again = await evaluatePullRequest(a.ctx, { now: NOW, mode: "check" });
    expect(again).toEqual(a.d);
    const reversed = await evaluate({ reviews: [...o.reviews!].reverse() });
    expect(reversed.d).toEqual(a.d);
  });

  it("the number of API reads is fixed and does not grow with the number of files in the repository", async () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 5000; i++) {
      many[`src/module-${i % 50}/file-${i}.ts`] = `export const x${i} = ${i};\n`;
      if (i < 2000) many[`access-requests/orders-prod/other-${i}.yaml`] = REQUEST;
    }
    const small = await evaluate({ reviews: [approve("dave")] });
    const large = await evaluate({ base: many, reviews: [approve("dave")] });
    expect(small.d.ok).toBe(true);
    expect(large.d.ok).toBe(true);
    // 10 fixed + 1 policy file + 1 requester team + 1 membership and 1 permission for the approver.
    expect(small.ctx.githubReads()).toBe(14);
    expect(large.ctx.githubReads()).toBe(small.ctx.githubReads());
    expect(large.ctx.calls.map((c) => c.method)).toEqual(small.ctx.calls.map((c) => c.method));
    expect(small.ctx.count("requestState")).toBe(1);
  });

  it("merge mode adds exactly three reads (the blob at the merge commit; the root trees of the merge commit and its parent)", async () => {
    const check = await evaluate({ merged: true, reviews: [approve("dave")] });
    const merge = await evaluate({ merged: true, reviews: [approve("dave")] }, "merge");
    expect(merge.ctx.githubReads()).toBe(check.ctx.githubReads() + 3);
  });

  it("a failed read rejects: nothing is decided on partial data", async () => {
    for (const method of ["changedFiles", "reviews", "permission", "fileAt", "isTeamMember", "requestState"] as (keyof PullRequestContext)[]) {
      const ctx = requestScenario({ merged: true, reviews: [approve("dave")], errors: { [method]: new Error(`injected ${method} failure`) } });
      for (const mode of ["check", "merge"] as const) {
        await expect(evaluatePullRequest(ctx, { now: NOW, mode })).rejects.toThrow(`injected ${method} failure`);
      }
      // Without the failure the same PR is granted: the rejection is the failure's doing.
      ctx.data.errors = {};
      expect((await evaluatePullRequest(ctx, { now: NOW, mode: "merge" })).ok).toBe(true);
    }
  });
});
