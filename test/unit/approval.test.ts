// evaluateApproval on its own: eligibility, exclusions, review order, and what it reads.
import { describe, expect, it } from "vitest";
import { contributorLogins, evaluateApproval, latestDecisiveReviews, type ApprovalInput } from "../../src/core/approval.ts";
import { parseCodeowners } from "../../src/core/codeowners.ts";
import { parseCoAuthors, type Review } from "../../src/core/context.ts";
import { approve, commit, PERMISSIONS, requestScenario, review, SHA, TEAMS } from "../helpers/fake-context.ts";

const PATH = "access-requests/orders-prod/alice-inc-1234.yaml";

function input(o: Partial<Omit<ApprovalInput, "codeowners">> & { codeowners?: string | null } = {}) {
  const ctx = requestScenario({ teams: TEAMS, permissions: PERMISSIONS });
  const text = o.codeowners === undefined ? "* @acme/security\n/access-requests/ @acme/dba\n" : o.codeowners;
  const full: ApprovalInput = {
    requestPath: PATH,
    headSha: SHA.head,
    author: "alice",
    beneficiaries: ["alice"],
    commits: [commit("alice", "c1")],
    reviews: [],
    requirement: { count: 1, approvers: ["@acme/dba"] },
    pushers: [],
    at: { mode: "check", now: Date.parse("2026-03-02T00:00:00Z") },
    ctx,
    ...o,
    codeowners: text === null ? null : { path: ".github/CODEOWNERS", parsed: parseCodeowners(text) },
  };
  return { ctx, full };
}

async function run(o: Parameters<typeof input>[0] = {}) {
  const { ctx, full } = input(o);
  return { ctx, d: await evaluateApproval(full) };
}

describe("evaluateApproval", () => {
  it("counts an eligible owner's approval on the head SHA", async () => {
    const { d } = await run({ reviews: [approve("dave")] });
    expect(d.ok).toBe(true);
    expect(d.details).toEqual(expect.objectContaining({
      required: 1, approvals: 1, owners: ["@acme/dba"], ownersLine: 2, policyApprovers: ["@acme/dba"], eligibleOwners: ["@acme/dba"],
      excluded: [], blockedBy: [],
    }));
  });

  it("case 18: the beneficiary's approval does not count", async () => {
    const { d } = await run({ beneficiaries: ["Erin"], reviews: [approve("erin")] });
    expect(d.ok).toBe(false);
    expect(d.code).toBe("JIT_APPROVALS_MISSING");
    expect(d.details.excluded).toEqual([expect.objectContaining({ login: "erin", code: "JIT_APPROVER_IS_BENEFICIARY" })]);
    expect(d.problems.map((p) => p.code)).toEqual(["JIT_APPROVALS_MISSING", "JIT_APPROVER_IS_BENEFICIARY"]);
  });

  it("logins compare case-insensitively everywhere", async () => {
    const { d } = await run({ codeowners: "/access-requests/ @DAVE\n", requirement: { count: 1, approvers: ["dave"] }, reviews: [approve("Dave")] });
    expect(d.ok).toBe(true);
    const { d: author } = await run({ author: "DAVE", codeowners: "/access-requests/ @dave\n", requirement: { count: 1, approvers: ["dave"] }, reviews: [approve("dave")] });
    expect(author.details.excluded[0]?.code).toBe("JIT_APPROVER_IS_AUTHOR");
  });

  it("two required approvals need two distinct people; approving twice counts once", async () => {
    const req = { count: 2, approvers: ["@acme/dba"] };
    const { d: once } = await run({ requirement: req, reviews: [approve("dave", SHA.head, { minute: 1 }), approve("dave", SHA.head, { minute: 2 })] });
    expect(once.code).toBe("JIT_APPROVALS_MISSING");
    expect(once.message).toContain("1 of 2");
    const { d: twice } = await run({ requirement: req, reviews: [approve("dave"), approve("grace")] });
    expect(twice.ok).toBe(true);
    expect(twice.details.counted.map((c) => c.login)).toEqual(["dave", "grace"]);
  });

  it("a bot is a bot by type or by a [bot] login", async () => {
    const { d } = await run({ reviews: [approve("renovate[bot]"), approve("helper", SHA.head, { type: "Bot" })] });
    expect(d.details.excluded.map((x) => [x.login, x.code])).toEqual([["helper", "JIT_APPROVER_IS_BOT"], ["renovate[bot]", "JIT_APPROVER_IS_BOT"]]);
  });

  it("an excluded owner who requests changes still blocks (identity rules stop approving, not objecting)", async () => {
    const { d } = await run({
      commits: [commit("alice", "c1"), commit("alice", "c2", { committer: { login: "grace" } })],
      reviews: [approve("dave"), review("grace", "CHANGES_REQUESTED")],
    });
    expect(d.code).toBe("JIT_CHANGES_REQUESTED");
  });

  it("fails closed when no owner entry can satisfy the policy", async () => {
    for (const [codeowners, approvers] of [
      ["/access-requests/ docs@example.com\n", ["@acme/dba"]], // email owners cannot be matched to reviewers
      ["/access-requests/ @sam\n", ["dave"]], // a user owner who is not an approver
      ["/access-requests/\n", ["@acme/dba"]], // owner-less
      ["/policies/ @acme/dba\n", ["@acme/dba"]], // nothing matches
      [null, ["@acme/dba"]], // no CODEOWNERS file
    ] as const) {
      const { d } = await run({ codeowners, requirement: { count: 1, approvers: [...approvers] }, reviews: [approve("dave")] });
      expect(d.ok).toBe(false);
      expect(d.code).toBe("JIT_NO_ELIGIBLE_OWNER");
    }
  });

  it("a CODEOWNERS error before the deciding line cannot matter; one after it fails closed", async () => {
    const { d: before } = await run({ codeowners: "!x @a\n/access-requests/ @acme/dba\n", reviews: [approve("dave")] });
    expect(before.ok).toBe(true);
    const { d: after } = await run({ codeowners: "/access-requests/ @acme/dba\n[ab]* @a\n", reviews: [approve("dave")] });
    expect(after.code).toBe("JIT_CODEOWNERS_ERROR");
    expect(after.problems[0]).toEqual(expect.objectContaining({ path: ".github/CODEOWNERS", line: 2 }));
  });

  it("reads: nothing for reviewers excluded by identity or staleness; membership and permission once each", async () => {
    const { ctx, d } = await run({
      reviews: [
        approve("alice"), approve("bot[bot]"), approve("frank", SHA.old), // excluded without reads
        approve("dave", SHA.head, { minute: 1 }), review("dave", "COMMENTED", SHA.head, { minute: 2 }),
        approve("sam"),
      ],
    });
    expect(d.ok).toBe(true);
    expect(ctx.calls).toEqual([
      { method: "isTeamMember", args: ["dave", "@acme/dba"] }, // owner team and approver team: asked once
      { method: "permission", args: ["dave"] },
      { method: "isTeamMember", args: ["sam", "@acme/dba"] }, // not an owner: no permission read
    ]);
  });
});

describe("latestDecisiveReviews", () => {
  const at = (login: string, state: Review["state"], submittedAt: string | undefined, id: number): Review => ({
    id, user: { login, type: "User" }, state, commitId: SHA.head, ...(submittedAt ? { submittedAt } : {}),
  });

  it("orders by submission time (fractions included), then id; COMMENTED and PENDING never decide", () => {
    const latest = latestDecisiveReviews([
      at("dave", "CHANGES_REQUESTED", "2026-03-01T10:00:00.5Z", 1),
      at("dave", "APPROVED", "2026-03-01T10:00:00Z", 2),
      at("Erin", "APPROVED", "2026-03-01T10:00:00Z", 3),
      at("erin", "COMMENTED", "2026-03-01T11:00:00Z", 4),
      at("erin", "PENDING", undefined, 5),
    ]);
    expect([...latest].map(([l, r]) => [l, r.state, r.id])).toEqual([["dave", "CHANGES_REQUESTED", 1], ["erin", "APPROVED", 3]]);
  });
});

describe("contributors and co-authors", () => {
  it("parses Co-authored-by lines, case-insensitive, anywhere in the message", () => {
    expect(parseCoAuthors("Fix\n\nCo-authored-by: Grace Hopper <grace@example.com>\nco-authored-by:bob <1+bob@users.noreply.github.com>\n")).toEqual([
      { name: "Grace Hopper", email: "grace@example.com" },
      { name: "bob", email: "1+bob@users.noreply.github.com" },
    ]);
    expect(parseCoAuthors("no trailers here")).toEqual([]);
  });

  it("collects authors, committers and co-authors by login, noreply address, known email or login-like name", () => {
    const logins = contributorLogins([
      commit("alice", "c1", { committer: { login: "web-flow" }, message: "x\n\nCo-authored-by: Carol <carol@corp.example>\nCo-authored-by: Ann <7+Ann-B@users.noreply.github.com>\nCo-authored-by: Zed Z <zed@nowhere.example>" }),
      commit("carol", "c2", { author: { login: "Carol", email: "carol@corp.example" } }),
    ]);
    expect([...logins.keys()].sort()).toEqual(["alice", "ann", "ann-b", "carol", "web-flow"]);
  });
});
