// The pure renderers of comments, alerts, reminders and revert PRs with hostile values in every slot.
import { describe, expect, it } from "vitest";
import {
  earlyRevokeComment, extendedComment, grantedComment, mergeRefusedAlert, orphanGrantAlert, refusalComment, reminderComment,
  revertBody, revertCommitMessage, revertFailingAlert, revertTitle, revokeOverdueAlert, sweepStaleAlert, unverifiedPushAlert,
} from "../../src/core/messages.ts";
import { problem } from "../../src/core/problem.ts";
import { closingIn, FORBIDDEN, htmlIn, linksIn, markersIn, mentionsIn, referencesIn } from "../helpers/github-markdown.ts";
import { HOSTILE } from "../helpers/hostile.ts";

const EVIL = HOSTILE.join(" ");
const NOW = Date.UTC(2030, 0, 1, 10);

function inert(body: string, own: { mentions?: string[]; markers?: string[]; refs?: string[] } = {}) {
  expect(mentionsIn(body).filter((m) => !(own.mentions ?? []).includes(m))).toEqual([]);
  expect(referencesIn(body).filter((r) => !(own.refs ?? []).includes(r))).toEqual([]);
  expect(closingIn(body)).toEqual([]);
  expect(linksIn(body)).toEqual([]);
  expect(markersIn(body)).toEqual(own.markers ?? []);
  expect(htmlIn(body).filter((h) => !(own.markers ?? []).includes(h))).toEqual([]);
  expect(body.replace(/\n/g, "")).not.toMatch(FORBIDDEN);
}

const plainInert = (t: string) => {
  expect(t).not.toMatch(FORBIDDEN);
  expect(t).not.toMatch(/(?<![A-Za-z0-9_])@victim/);
  expect(closingIn(t)).toEqual([]);
};

describe("I19: comments", () => {
  it("I19: grant, extension and early-revoke comments with hostile role, user, database and approvers", () => {
    const g = { role: EVIL, dbUser: EVIL, database: EVIL, expiresAt: NOW + 7_200_000, approvers: ["dora", "@victim", "x[bot]"] };
    for (const body of [grantedComment(g, NOW), extendedComment(g, NOW), earlyRevokeComment({ requestId: EVIL, database: EVIL, outcome: EVIL })]) {
      inert(body.text, { mentions: ["dora"] });
      expect(body.text.split("\n")).toHaveLength(1);
    }
    expect(grantedComment({ ...g, role: "orders_readonly", dbUser: "alice", database: "orders-prod", approvers: ["dora"] }, NOW).text)
      .toBe("✅ **jit-access**: granted `orders_readonly` to `alice` on `orders-prod` until 2030-01-01T12:00:00Z (in 2h). Approved by @dora.");
  });

  it("I19: the reminder with hostile values", () => {
    const body = reminderComment({ role: EVIL, dbUser: EVIL, database: EVIL, expiresAt: NOW + 600_000, now: NOW }).text;
    inert(body);
    expect(body.split("\n")).toHaveLength(1);
  });

  it("I19: the refusal lists every problem as one item; a hostile message adds no item, heading or mention", () => {
    const problems = [problem("JIT_SCHEMA", `unknown field ${JSON.stringify(EVIL)}`, { hint: EVIL }), problem("JIT_APPROVALS_MISSING", "@dora's approval does not count")];
    const body = refusalComment("JIT_SCHEMA", problems, new Set(["dora"])).text;
    inert(body, { mentions: ["dora"] });
    expect(body.split("\n").filter((l) => l.startsWith("- "))).toHaveLength(2);
    expect(body).toContain("**JIT_APPROVALS_MISSING**: @dora's approval does not count");
  });
});

describe("I19: alerts", () => {
  const alerts = [
    mergeRefusedAlert(7, "JIT_SCHEMA", [problem("JIT_SCHEMA", EVIL)]),
    unverifiedPushAlert({ path: `access-requests/${EVIL}.yaml`, commit: "abc", branch: EVIL }),
    orphanGrantAlert({ clusterId: "c", role: EVIL, member: EVIL, database: EVIL, sweptAt: "t", revoked: false, sessionsEnded: 0, error: EVIL }),
    revertFailingAlert({ database: EVIL, requestId: EVIL, attempts: 5, error: EVIL }),
    sweepStaleAlert({ lastSweepAt: EVIL, databaseTime: EVIL, message: EVIL }),
    revokeOverdueAlert({ ledgerId: 1, database: EVIL, requestId: EVIL, expiresAt: EVIL, overdueFor: EVIL }),
  ];
  for (const a of alerts) {
    it(`I19: ${a.code} renders hostile values inert`, () => {
      plainInert(a.title.text);
      inert(a.body.text, { refs: ["#7"] });
    });
  }
});

describe("I19: revert PRs", () => {
  it("I19: hostile ledger values cannot mention, close, forge the marker or add table rows", () => {
    const r = {
      ledgerId: 1, database: "orders-prod", requestId: "r1", path: `access-requests/${EVIL}`, requester: "@victim", prNumber: 3,
      role: EVIL, dbUser: EVIL, approvers: ["dora", EVIL], grantedAt: null, expiresAt: null, revokedAt: null, revokedBy: EVIL, sessionsEnded: 0,
      verification: { outcome: EVIL, membershipGone: false, sessionsLeft: 1 },
    };
    const body = revertBody(r).text;
    inert(body, { mentions: ["dora"], markers: ["<!-- jit-access:revert:orders-prod/r1 -->"], refs: ["#3"] });
    expect(body.split("\n").filter((l) => l.startsWith("|"))).toHaveLength(15);
    plainInert(revertTitle(r).text);
    plainInert(revertCommitMessage(r).text.replace(/\n/g, " "));
  });
});
