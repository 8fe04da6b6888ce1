// auto_approve (issue 13 item 7): the pure rule evaluation, its parsing, and the DST behaviour of
// wall-clock rules. Instants are written in UTC; the comments give the local time they denote.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { captureIo } from "../../src/cli/io.ts";
import { run as runValidate } from "../../src/cli/validate.ts";
import { evaluateAutoApprove, localTime, outsideWindow, settleApproval, type AutoApproveInput, type AutoApproveRule } from "../../src/core/auto-approve.ts";
import { parsePolicies } from "../../src/core/policy.ts";
import { problem } from "../../src/core/problem.ts";
import { utf8 } from "./support/core-fixtures.ts";

const at = (iso: string) => Date.parse(iso);
const rule = (o: Partial<AutoApproveRule> = {}): AutoApproveRule => ({
  requesters: ["@acme/dba"], maxDuration: "30m", maxDurationMs: 30 * 60_000, timeZone: "UTC", allowMultiApprovalRoles: false, ...o,
});
const berlinOffice = rule({ days: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], hours: { text: "08:00-18:00", from: 480, to: 1080 }, timeZone: "Europe/Berlin" });
const commit = (login: string, sha = "c".repeat(40)) => ({ sha, message: "request", author: { login, email: `${login}@example.com` }, committer: { login, email: `${login}@example.com` } });

function input(o: Partial<AutoApproveInput> = {}): AutoApproveInput {
  return {
    rules: [rule()], roleApprovals: 1, requester: "dora", durationMs: 30 * 60_000, breakGlass: false,
    at: at("2026-12-01T10:00:00Z"), commits: [commit("dora")], pushers: [],
    isTeamMember: async (login, team) => login === "dora" && team === "@acme/dba",
    ...o,
  };
}

describe("localTime: Intl wall clock in an IANA zone", () => {
  it("reads weekday and minutes in the zone, not in UTC", () => {
    expect(localTime(at("2026-12-01T23:30:00Z"), "Europe/Berlin")).toMatchObject({ day: "wed", minutes: 30 }); // Wed 00:30 CET
    expect(localTime(at("2026-12-01T23:30:00Z"), "UTC")).toMatchObject({ day: "tue", minutes: 23 * 60 + 30 });
    expect(localTime(at("2026-12-01T03:00:00Z"), "America/New_York")).toMatchObject({ day: "mon", minutes: 22 * 60 }); // Mon 22:00 EST
  });
  it("midnight is 00, never 24", () => {
    expect(localTime(at("2026-12-01T23:00:00Z"), "Europe/Berlin").minutes).toBe(0);
  });
});

describe("auto_approve hours across DST (Europe/Berlin: 2026-03-29 02:00 CET -> 03:00 CEST; 2026-10-25 03:00 CEST -> 02:00 CET)", () => {
  it("07:30 local on the spring-forward day is outside 08:00-18:00; 08:30 local is inside", () => {
    // 05:30Z is 07:30 CEST; a fixed +01:00 offset would say 06:30 (also outside), and 06:30Z is 08:30
    // CEST, which a fixed +01:00 offset would wrongly call 07:30 (outside).
    expect(outsideWindow(berlinOffice, at("2026-03-29T05:30:00Z"))).toMatch(/07:30 Europe\/Berlin is outside hours 08:00-18:00/);
    expect(outsideWindow(berlinOffice, at("2026-03-29T06:30:00Z"))).toBeNull();
    expect(outsideWindow(berlinOffice, at("2026-03-29T15:59:00Z"))).toBeNull(); // 17:59 CEST
    expect(outsideWindow(berlinOffice, at("2026-03-29T16:00:00Z"))).toMatch(/18:00/); // 18:00 CEST: end is exclusive
  });
  it("07:30 local on the fall-back day is outside (a fixed +02:00 offset would call it 08:30)", () => {
    expect(outsideWindow(berlinOffice, at("2026-10-25T06:30:00Z"))).toMatch(/07:30 Europe\/Berlin is outside/);
    expect(outsideWindow(berlinOffice, at("2026-10-25T07:00:00Z"))).toBeNull(); // 08:00 CET
    expect(outsideWindow(berlinOffice, at("2026-10-25T06:59:00Z"))).not.toBeNull(); // 07:59 CET
  });
  it("hours that straddle the spring-forward gap (01:00-04:00) cover both sides of it", () => {
    const night = rule({ hours: { text: "01:00-04:00", from: 60, to: 240 }, timeZone: "Europe/Berlin" });
    expect(outsideWindow(night, at("2026-03-28T23:59:00Z"))).not.toBeNull(); // 00:59 CET
    expect(outsideWindow(night, at("2026-03-29T00:30:00Z"))).toBeNull(); // 01:30 CET
    expect(outsideWindow(night, at("2026-03-29T01:00:00Z"))).toBeNull(); // 03:00 CEST (02:00 never happens)
    expect(outsideWindow(night, at("2026-03-29T01:59:00Z"))).toBeNull(); // 03:59 CEST
    expect(outsideWindow(night, at("2026-03-29T02:00:00Z"))).toMatch(/04:00/); // 04:00 CEST: only 2 real hours that night
  });
  it("hours inside the repeated fall-back hour (02:00-03:00) match both 02:xx, then not 03:00", () => {
    const repeated = rule({ hours: { text: "02:00-03:00", from: 120, to: 180 }, timeZone: "Europe/Berlin" });
    expect(outsideWindow(repeated, at("2026-10-25T00:30:00Z"))).toBeNull(); // 02:30 CEST
    expect(outsideWindow(repeated, at("2026-10-25T01:30:00Z"))).toBeNull(); // 02:30 CET, the second time
    expect(outsideWindow(repeated, at("2026-10-25T02:00:00Z"))).toMatch(/03:00/); // 03:00 CET
    expect(outsideWindow(repeated, at("2026-10-24T23:59:00Z"))).toMatch(/01:59/); // 01:59 CEST
  });
  it("America/New_York changes on another day (2026-03-08): the same UTC instant is 07:30 EDT there", () => {
    const ny = rule({ hours: { text: "08:00-18:00", from: 480, to: 1080 }, timeZone: "America/New_York" });
    expect(outsideWindow(ny, at("2026-03-08T11:30:00Z"))).toMatch(/07:30/); // 07:30 EDT (EST would be 06:30)
    expect(outsideWindow(ny, at("2026-03-08T12:30:00Z"))).toBeNull(); // 08:30 EDT
    expect(outsideWindow(ny, at("2026-03-07T12:30:00Z"))).toMatch(/07:30/); // the day before: 07:30 EST
  });
});

describe("auto_approve days", () => {
  const weekdays = rule({ days: ["mon", "tue", "wed", "thu", "fri"], timeZone: "Europe/Berlin" });
  it("uses the local weekday: Friday 23:30Z is already Saturday in Berlin", () => {
    expect(outsideWindow(weekdays, at("2026-12-04T22:30:00Z"))).toBeNull(); // Fri 23:30 CET
    expect(outsideWindow(weekdays, at("2026-12-04T23:30:00Z"))).toMatch(/Sat 00:30 Europe\/Berlin is not on mon/);
  });
  it("an overnight window belongs to the day it starts", () => {
    const fridayNight = rule({ days: ["fri"], hours: { text: "22:00-06:00", from: 1320, to: 360 }, timeZone: "UTC" });
    expect(outsideWindow(fridayNight, at("2026-12-04T23:00:00Z"))).toBeNull(); // Fri 23:00
    expect(outsideWindow(fridayNight, at("2026-12-05T05:59:00Z"))).toBeNull(); // Sat 05:59, Friday's window
    expect(outsideWindow(fridayNight, at("2026-12-05T23:00:00Z"))).toMatch(/not on fri/); // Sat 23:00: Saturday's window
    expect(outsideWindow(fridayNight, at("2026-12-04T05:00:00Z"))).toMatch(/not on fri/); // Fri 05:00: Thursday's window
    expect(outsideWindow(fridayNight, at("2026-12-04T12:00:00Z"))).toMatch(/outside hours/);
  });
});

describe("evaluateAutoApprove", () => {
  it("matches a team member within duration and window, naming the rule", async () => {
    const r = await evaluateAutoApprove(input());
    expect(r.matched?.index).toBe(0);
    expect(r.matched?.description).toContain("auto_approve[0]");
  });
  it("a requester outside the team does not match", async () => {
    const r = await evaluateAutoApprove(input({ requester: "alice", commits: [commit("alice")] }));
    expect(r.matched).toBeNull();
    expect(r.rejected[0]?.reason).toMatch(/alice is not among @acme\/dba/);
  });
  it("a duration above the rule's max does not match (one minute over)", async () => {
    const r = await evaluateAutoApprove(input({ durationMs: 31 * 60_000 }));
    expect(r.matched).toBeNull();
    expect(r.rejected[0]?.reason).toMatch(/longer than 30m/);
  });
  it("a role needing 2 approvals is never auto-approved unless the rule allows it explicitly", async () => {
    expect((await evaluateAutoApprove(input({ roleApprovals: 2 }))).matched).toBeNull();
    expect((await evaluateAutoApprove(input({ roleApprovals: 2, rules: [rule({ allowMultiApprovalRoles: true })] }))).matched?.index).toBe(0);
  });
  it("a break-glass request is never auto-approved, even under allow_multi_approval_roles", async () => {
    const r = await evaluateAutoApprove(input({ breakGlass: true, rules: [rule({ allowMultiApprovalRoles: true })] }));
    expect(r.matched).toBeNull();
    expect(r.rejected[0]?.reason).toMatch(/break-glass/);
  });
  it("a team the app cannot read fails closed (the read error is not a match, and nothing throws)", async () => {
    const r = await evaluateAutoApprove(input({ rules: [rule({ requesters: ["@acme/hidden"] })], isTeamMember: async () => { throw Object.assign(new Error("Forbidden"), { status: 403 }); } }));
    expect(r.matched).toBeNull();
    expect(r.rejected[0]?.reason).toMatch(/@acme\/hidden could not be read/);
  });
  it("a transient failure reading a team (5xx) is not a decision: it propagates so the delivery is retried", async () => {
    await expect(evaluateAutoApprove(input({ rules: [rule({ requesters: ["@acme/dba"] })], isTeamMember: async () => { throw Object.assign(new Error("Bad Gateway"), { status: 502 }); } }))).rejects.toThrow("Bad Gateway");
  });
  it("a PR someone else committed to or pushed to is not the requester's own: no match", async () => {
    expect((await evaluateAutoApprove(input({ commits: [commit("dora"), commit("mallory", "d".repeat(40))] }))).rejected[0]?.reason).toMatch(/mallory/);
    const pushed = await evaluateAutoApprove(input({ pushers: [{ login: "mallory", action: "synchronize", headSha: "e".repeat(40) }] }));
    expect(pushed.matched).toBeNull();
    const coAuthored = await evaluateAutoApprove(input({ commits: [{ ...commit("dora"), message: "x\n\nCo-authored-by: Mallory <123+mallory@users.noreply.github.com>" }] }));
    expect(coAuthored.matched).toBeNull();
  });
  it("GitHub's own web-flow committer does not count as someone else", async () => {
    const web = { ...commit("dora"), committer: { login: "web-flow", email: "noreply@github.com" } };
    expect((await evaluateAutoApprove(input({ commits: [web] }))).matched?.index).toBe(0);
  });
  it("outside hours: no match; an unreadable instant (merged_at) never matches", async () => {
    const office = rule({ hours: { text: "08:00-18:00", from: 480, to: 1080 }, timeZone: "Europe/Berlin" });
    expect((await evaluateAutoApprove(input({ rules: [office], at: at("2026-12-01T17:00:00Z") }))).matched).toBeNull(); // 18:00 CET
    expect((await evaluateAutoApprove(input({ rules: [office], at: Number.NaN }))).matched).toBeNull();
  });
  it("the first matching rule wins and the others' reasons are kept", async () => {
    const r = await evaluateAutoApprove(input({ rules: [rule({ maxDurationMs: 60_000, maxDuration: "1m" }), rule({ requesters: ["dora"] })] }));
    expect(r.matched?.index).toBe(1);
    expect(r.rejected.map((x) => x.index)).toEqual([0]);
  });
  it("no rules: nothing matches", async () => {
    expect((await evaluateAutoApprove(input({ rules: undefined }))).matched).toBeNull();
  });
});

describe("settleApproval", () => {
  const missing = problem("JIT_APPROVALS_MISSING", "0 of 1");
  const note = problem("JIT_APPROVER_IS_AUTHOR", "@dora's approval does not count");
  const matched = { matched: { index: 0, description: "auto_approve[0]" }, rejected: [], at: 0 };
  it("a matching rule settles only the missing count and its notes", () => {
    expect(settleApproval([missing, note], matched)).toEqual([]);
  });
  it("an eligible owner's CHANGES_REQUESTED or an unattributed commit still blocks", () => {
    const changes = problem("JIT_CHANGES_REQUESTED", "@dan requested changes");
    const unattributed = problem("JIT_COMMIT_UNATTRIBUTED", "commit x");
    expect(settleApproval([missing, changes], matched).map((p) => p.code)).toEqual(["JIT_CHANGES_REQUESTED"]);
    expect(settleApproval([unattributed, missing], matched).map((p) => p.code)).toEqual(["JIT_COMMIT_UNATTRIBUTED"]);
  });
  it("no match: everything stays", () => {
    expect(settleApproval([missing], { matched: null, rejected: [], at: 0 })).toEqual([missing]);
  });
});

describe("auto_approve in policies", () => {
  const policy = (roleExtra: string, approvals = 1) => parsePolicies([{ path: "policies/p.yaml", bytes: utf8(`databases:
  orders-prod:
    connection_env: ORDERS_URL
    roles:
      orders_readonly:
        max_duration: 8h
        approvals: ${approvals}
        approvers: ["@acme/dba"]
${roleExtra}identities:
  dora: dora
`) }]);
  it("reads a rule with days, hours and zone", () => {
    const d = policy(`        auto_approve:
          - { requesters: ["@ACME/dba"], max_duration: 30m, days: [mon, fri], hours: "08:00-18:00", time_zone: Europe/Berlin }
`);
    expect(d.problems).toEqual([]);
    expect(d.details?.databases["orders-prod"]?.roles.orders_readonly?.autoApprove).toEqual([{
      requesters: ["@acme/dba"], maxDuration: "30m", maxDurationMs: 1_800_000, days: ["mon", "fri"],
      hours: { text: "08:00-18:00", from: 480, to: 1080 }, timeZone: "Europe/Berlin", allowMultiApprovalRoles: false,
    }]);
  });
  it.each([
    ["an unknown zone", `{ requesters: [dora], max_duration: 30m, time_zone: Mars/Olympus }`, /time_zone "Mars\/Olympus"/],
    ["an offset instead of a zone", `{ requesters: [dora], max_duration: 30m, time_zone: "+01:00" }`, /time_zone/],
    ["hours out of range", `{ requesters: [dora], max_duration: 30m, hours: "08:00-25:00" }`, /hours/],
    ["an empty window", `{ requesters: [dora], max_duration: 30m, hours: "08:00-08:00" }`, /empty window/],
    ["a max above the role's", `{ requesters: [dora], max_duration: 9h }`, /longer than the role's max_duration 8h/],
    ["a bad weekday", `{ requesters: [dora], max_duration: 30m, days: [monday] }`, /days/],
    ["an unknown key", `{ requesters: [dora], max_duration: 30m, approvals: 0 }`, /approvals/],
  ])("rejects %s with JIT_POLICY_INVALID / a schema error", (_what, r, message) => {
    const d = policy(`        auto_approve:\n          - ${r}\n`);
    expect(d.ok).toBe(false);
    expect(d.problems.map((p) => p.message).join("\n")).toMatch(message);
  });
  it("a rule on a role needing 2 approvals is a policy error unless allow_multi_approval_roles: true", () => {
    const bad = policy(`        auto_approve:\n          - { requesters: [dora], max_duration: 30m }\n`, 2);
    expect(bad.problems.map((p) => `${p.code} ${p.message}`).join("\n")).toMatch(/JIT_POLICY_INVALID .*needs 2 approvals/);
    const ok = policy(`        auto_approve:\n          - { requesters: [dora], max_duration: 30m, allow_multi_approval_roles: true }\n`, 2);
    expect(ok.problems).toEqual([]);
  });
});

describe("jit validate judges auto_approve like the app", () => {
  const dirs: string[] = [];
  afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
  async function validateWith(rule: string) {
    const dir = mkdtempSync(join(tmpdir(), "jit-auto-validate-"));
    dirs.push(dir);
    mkdirSync(join(dir, "policies"));
    mkdirSync(join(dir, ".github"));
    writeFileSync(join(dir, ".github", "CODEOWNERS"), "/access-requests/ @acme/dba\n");
    writeFileSync(join(dir, "policies", "orders.yaml"), `databases:
  orders-prod:
    connection_env: ORDERS_URL
    roles:
      orders_readonly:
        max_duration: 8h
        approvals: 1
        approvers: ["@acme/dba"]
        auto_approve:
          - ${rule}
identities:
  dora: dora
`);
    const io = captureIo({}, dir);
    const code = await runValidate(["--repo", dir], io);
    return { code, out: [...io.stdout, ...io.stderr].join("\n") };
  }
  it("exit 0 for a valid rule, 1 with the line and JIT_POLICY_INVALID for an unknown zone", async () => {
    expect((await validateWith(`{ requesters: ["@acme/dba"], max_duration: 30m, hours: "08:00-18:00", time_zone: Europe/Berlin }`)).code).toBe(0);
    const bad = await validateWith(`{ requesters: ["@acme/dba"], max_duration: 30m, time_zone: Europe/Atlantis }`);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain("JIT_POLICY_INVALID");
    expect(bad.out).toMatch(/policies\/orders\.yaml:10/);
  });
});
