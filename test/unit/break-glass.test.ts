// Break-glass, the pure parts: who may, how long, never with start, attribution of every commit
// (I13), and which problems a break-glass grant may open with (approval ones only).
import { describe, expect, it } from "vitest";
import { attributionProblem, breakGlassProblems, breakGlassReady, breakGlassTeamsToAsk } from "../../src/core/break-glass.ts";
import type { PullRequestCommit } from "../../src/core/context.ts";
import { parsePolicies } from "../../src/core/policy.ts";
import { problem } from "../../src/core/problem.ts";
import type { RolePolicy } from "../../src/core/types.ts";
import { codes, GOOD, request, utf8, validRequest } from "./support/core-fixtures.ts";

const M = 60_000;
const role = (bg: RolePolicy["breakGlass"] | null = { requesters: ["@acme/oncall", "erin"], maxDuration: "1h", maxDurationMs: 60 * M, retroApprovalWithinMs: 240 * M }): RolePolicy => ({
  maxDuration: "8h", maxDurationMs: 480 * M, approvals: 1, approvers: ["@acme/dba"], requireTicket: false, ...(bg ? { breakGlass: bg } : {}),
});
const bg = (extra = "") => validRequest(`role: orders_readonly\nduration: 30m\nreason: INC-9 outage\nbreak_glass: true\n${extra}`);
const commit = (sha: string, author: string | undefined, committer: string | undefined, message = "req"): PullRequestCommit =>
  ({ sha, message, author: { ...(author ? { login: author } : {}), name: "x", email: "x@example.com" }, committer: { ...(committer ? { login: committer } : {}), name: "x", email: "x@example.com" } });

describe("request field break_glass", () => {
  it("accepts only true", () => {
    expect(bg().breakGlass).toBe(true);
    for (const v of ["false", '"true"', "yes", "1"]) expect([...new Set(codes(request(`${GOOD}break_glass: ${v}\n`)))], v).toEqual(["JIT_SCHEMA"]);
  });
});

describe("breakGlassProblems", () => {
  it("allows a listed login or a member of a listed team, within max_duration", () => {
    expect(breakGlassProblems(bg(), role(), "Erin", new Set())).toEqual([]);
    expect(breakGlassProblems(bg(), role(), "bob", new Set(["@acme/oncall"]))).toEqual([]);
    expect(breakGlassTeamsToAsk("erin", role())).toEqual([]);
    expect(breakGlassTeamsToAsk("bob", role())).toEqual(["@acme/oncall"]);
  });

  it("I1: refuses a requester outside break_glass.requesters, and unknown membership never counts", () => {
    expect(codes({ problems: breakGlassProblems(bg(), role(), "carol", new Set()) })).toEqual(["JIT_BREAK_GLASS_NOT_ALLOWED"]);
    expect(codes({ problems: breakGlassProblems(bg(), role(), "carol", new Set(["@acme/dba"])) })).toEqual(["JIT_BREAK_GLASS_NOT_ALLOWED"]);
  });

  it("refuses a role without break_glass, a duration over its max, and a start", () => {
    expect(codes({ problems: breakGlassProblems(bg(), role(null), "erin", new Set()) })).toEqual(["JIT_BREAK_GLASS_NOT_ALLOWED"]);
    const long = validRequest("role: orders_readonly\nduration: 61m\nreason: INC-9\nbreak_glass: true\n");
    expect(codes({ problems: breakGlassProblems(long, role(), "erin", new Set()) })).toEqual(["JIT_BREAK_GLASS_DURATION"]);
    expect(codes({ problems: breakGlassProblems(bg("start: 2026-12-01T09:00:00Z\n"), role(), "erin", new Set()) })).toEqual(["JIT_BREAK_GLASS_NOT_ALLOWED"]);
  });

  it("says nothing about a request without break_glass", () => {
    expect(breakGlassProblems(validRequest(GOOD), role(null), "carol", new Set())).toEqual([]);
  });
});

describe("attributionProblem (I13)", () => {
  it("passes commits authored and committed by the requester alone", () => {
    expect(attributionProblem("Bob", [commit("a1", "bob", "bob")], [{ login: "bob", action: "opened", headSha: "a1" }])).toBeNull();
  });

  it.each([
    ["authored by someone else", [commit("a1", "dora", "bob")], []],
    ["committed by someone else", [commit("a1", "bob", "dora")], []],
    ["an identity not linked to an account", [commit("a1", undefined, "bob")], []],
    ["a co-author trailer", [commit("a1", "bob", "bob", "req\n\nCo-authored-by: Dora <d@example.com>")], []],
    ["pushed to by someone else", [commit("a1", "bob", "bob")], [{ login: "dora", action: "synchronize", headSha: "a1" }]],
  ] as const)("refuses %s", (_why, commits, pushers) => {
    expect(attributionProblem("bob", commits, pushers)?.code).toBe("JIT_BREAK_GLASS_UNATTRIBUTED");
  });
});

describe("breakGlassReady", () => {
  it("tolerates only missing approval", () => {
    expect(breakGlassReady([problem("JIT_APPROVALS_MISSING", "x")])).toBe(true);
    for (const c of ["JIT_CHANGES_REQUESTED", "JIT_NO_ELIGIBLE_OWNER", "JIT_PR_DRAFT", "JIT_ALREADY_HAS_ACCESS", "JIT_LIST_INCOMPLETE", "JIT_BREAK_GLASS_NOT_ALLOWED"] as const) {
      expect(breakGlassReady([problem("JIT_APPROVALS_MISSING", "x"), problem(c, "y")]), c).toBe(false);
    }
  });
});

describe("policy break_glass", () => {
  const policy = (bgYaml: string) => parsePolicies([{ path: "policies/p.yaml", bytes: utf8(`databases:
  orders-prod:
    connection_env: ORDERS_PROD_DATABASE_URL
    roles:
      orders_readonly: { max_duration: 8h, approvals: 1, approvers: ["@acme/dba"], break_glass: ${bgYaml} }
`) }]);

  it("parses, and refuses a break-glass maximum over the role's maximum or unknown keys", () => {
    expect(policy('{ requesters: ["@Acme/OnCall"], max_duration: 1h, retro_approval_within: 4h }').details?.databases["orders-prod"]?.roles.orders_readonly?.breakGlass)
      .toEqual({ requesters: ["@acme/oncall"], maxDuration: "1h", maxDurationMs: 60 * M, retroApprovalWithinMs: 240 * M });
    expect(codes(policy('{ requesters: ["@acme/oncall"], max_duration: 9h, retro_approval_within: 4h }'))).toEqual(["JIT_POLICY_INVALID"]);
    expect(codes(policy('{ requesters: ["@acme/oncall"], max_duration: 1h, retro_approval_within: 4h, auto: true }'))).toContain("JIT_SCHEMA");
    expect(codes(policy('{ requesters: [], max_duration: 1h, retro_approval_within: 4h }'))).toContain("JIT_SCHEMA");
  });
});
