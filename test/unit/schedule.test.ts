// Scheduled start, the pure parts: the start grammar (offset required, whole seconds, real dates),
// the lead-time rules against a reference instant, and the re-check of approvals at activation.
import { describe, expect, it } from "vitest";
import { parsePolicies } from "../../src/core/policy.ts";
import { parseStart, recheckApprovers, startProblems } from "../../src/core/schedule.ts";
import type { RolePolicy } from "../../src/core/types.ts";
import { codes, GOOD, request, utf8, validRequest } from "./support/core-fixtures.ts";

const T0 = Date.UTC(2026, 11, 1, 8, 0, 0); // 2026-12-01T08:00:00Z
const H = 3_600_000;
const role = (o: Partial<RolePolicy> = {}): RolePolicy => ({
  maxDuration: "8h", maxDurationMs: 8 * H, approvals: 1, approvers: ["@acme/dba"], requireTicket: false, maxLeadTimeMs: 14 * 24 * H, ...o,
});

describe("parseStart", () => {
  it("converts an explicit offset to UTC, on the second", () => {
    expect(parseStart("2026-12-01T09:00:00+01:00")).toEqual({ ok: true, ms: T0 });
    expect(parseStart("2026-12-01T08:00:00Z")).toEqual({ ok: true, ms: T0 });
    expect(parseStart("2026-12-01T02:30:00-05:30")).toEqual({ ok: true, ms: T0 });
    expect(parseStart("2026-12-01T00:30:00+23:59")).toEqual({ ok: true, ms: Date.UTC(2026, 10, 30, 0, 31, 0) });
  });

  it.each([
    ["no offset (local time is ambiguous)", "2026-12-01T09:00:00"],
    ["date only", "2026-12-01"],
    ["fraction of a second", "2026-12-01T09:00:00.5Z"],
    ["space instead of T", "2026-12-01 09:00:00Z"],
    ["lowercase z", "2026-12-01T09:00:00z"],
    ["rolled-over date", "2026-02-30T09:00:00Z"],
    ["leap second", "2026-12-31T23:59:60Z"],
    ["hour 24", "2026-12-01T24:00:00Z"],
    ["offset hour 24", "2026-12-01T09:00:00+24:00"],
    ["offset without colon", "2026-12-01T09:00:00+0100"],
    ["trailing newline", "2026-12-01T09:00:00Z\n"],
    ["leading space", " 2026-12-01T09:00:00Z"],
    ["full-width digits", "２026-12-01T09:00:00Z"],
  ])("refuses %s with JIT_START_INVALID", (_why, s) => {
    const r = parseStart(s);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem.code).toBe("JIT_START_INVALID");
  });
});

describe("request field start", () => {
  it("is read as a string (no YAML timestamp typing) and positioned", () => {
    const r = validRequest(`${GOOD}start: 2026-12-01T09:00:00+01:00\n`);
    expect(r.start).toBe("2026-12-01T09:00:00+01:00");
    expect(r.startMs).toBe(T0);
    expect(r.positions?.start).toEqual({ line: 5, column: 8 });
  });

  it("a start without an offset gets the sharp code, not a schema error", () => {
    expect(codes(request(`${GOOD}start: 2026-12-01T09:00:00\n`))).toEqual(["JIT_START_INVALID"]);
    expect(codes(request(`${GOOD}start: "2026-12-01 09:00"\n`))).toEqual(["JIT_START_INVALID"]);
  });

  it("a non-string start is a schema error (no coercion)", () => {
    expect(codes(request(`${GOOD}start: 1764576000\n`))).toEqual(["JIT_SCHEMA"]);
    expect(codes(request(`${GOOD}start: [2026-12-01T09:00:00Z]\n`))).toEqual(["JIT_SCHEMA"]);
  });
});

describe("startProblems", () => {
  const at = (start: string) => validRequest(`${GOOD}start: ${start}\n`);

  it("accepts a start ahead and within max_lead_time", () => {
    expect(startProblems(at("2026-12-01T09:00:00Z"), role(), T0)).toEqual([]);
    expect(startProblems(at("2026-12-15T08:00:00Z"), role(), T0)).toEqual([]); // exactly 14d
  });

  it("refuses a start at or before the reference (JIT_START_PAST)", () => {
    expect(codes({ problems: startProblems(at("2026-12-01T08:00:00Z"), role(), T0) })).toEqual(["JIT_START_PAST"]);
    expect(codes({ problems: startProblems(at("2026-12-01T07:59:59Z"), role(), T0) })).toEqual(["JIT_START_PAST"]);
    // The same instant written with an offset that makes it look later is still past.
    expect(codes({ problems: startProblems(at("2026-12-01T08:59:59+01:00"), role(), T0) })).toEqual(["JIT_START_PAST"]);
  });

  it("refuses a start beyond max_lead_time by one second (JIT_START_TOO_FAR)", () => {
    const p = startProblems(at("2026-12-15T08:00:01Z"), role(), T0);
    expect(codes({ problems: p })).toEqual(["JIT_START_TOO_FAR"]);
    expect(p[0]!.line).toBe(5);
  });

  it("refuses any start where the role sets no max_lead_time (JIT_START_NOT_ALLOWED)", () => {
    const { maxLeadTimeMs: _, ...noLead } = role();
    expect(codes({ problems: startProblems(at("2026-12-01T09:00:00Z"), noLead, T0) })).toEqual(["JIT_START_NOT_ALLOWED"]);
  });

  it("says nothing about a request without start", () => {
    expect(startProblems(validRequest(GOOD), role(), T0)).toEqual([]);
  });
});

describe("policy max_lead_time", () => {
  const policy = (lead: string) => parsePolicies([{ path: "policies/p.yaml", bytes: utf8(`databases:
  orders-prod:
    connection_env: ORDERS_PROD_DATABASE_URL
    roles:
      orders_readonly: { max_duration: 8h, approvals: 1, approvers: ["@acme/dba"], max_lead_time: ${lead} }
`) }]);

  it("is parsed with the strict duration grammar", () => {
    expect(policy("14d").details?.databases["orders-prod"]?.roles.orders_readonly?.maxLeadTimeMs).toBe(14 * 24 * H);
    expect(policy("31d").ok).toBe(false);
    expect(codes(policy("\"1.5h\""))).toContain("JIT_SCHEMA");
  });
});

describe("recheckApprovers", () => {
  const base = { approvers: ["dora"], policyApprovers: ["@acme/dba"], required: 1 };

  it("keeps an approver who still belongs to an approver team", () => {
    expect(recheckApprovers({ ...base, teamsOf: new Map([["dora", new Set(["@acme/dba"])]]) })).toEqual({ still: ["dora"], problem: null });
  });

  it("drops an approver removed from the team since the merge", () => {
    const r = recheckApprovers({ ...base, teamsOf: new Map([["dora", new Set<string>()]]) });
    expect(r.still).toEqual([]);
    expect(r.problem?.code).toBe("JIT_APPROVAL_NO_LONGER_ELIGIBLE");
  });

  it("drops an approver whose team is no longer among the policy's approvers", () => {
    const r = recheckApprovers({ ...base, policyApprovers: ["@acme/dba-leads"], teamsOf: new Map([["dora", new Set<string>()]]) });
    expect(r.problem?.code).toBe("JIT_APPROVAL_NO_LONGER_ELIGIBLE");
  });

  it("refuses when today's policy requires more approvals than were recorded", () => {
    const r = recheckApprovers({ ...base, required: 2, teamsOf: new Map([["dora", new Set(["@acme/dba"])]]) });
    expect(r.problem?.code).toBe("JIT_APPROVAL_NO_LONGER_ELIGIBLE");
  });

  it("unknown membership never counts; a login entry counts case-insensitively", () => {
    expect(recheckApprovers({ ...base, teamsOf: new Map() }).problem?.code).toBe("JIT_APPROVAL_NO_LONGER_ELIGIBLE");
    expect(recheckApprovers({ ...base, approvers: ["Dora"], policyApprovers: ["dora"], teamsOf: new Map() }).problem).toBeNull();
  });
});
