// The renderers of issue 13 items 7 and 8 with hostile values in every slot (I19): outcome lines,
// the ended comment, the auto-merge-blocked comment, the reminder's extension hint, and the check's
// auto-approval section.
import { describe, expect, it } from "vitest";
import { autoApprovalLines } from "../../src/core/auto-approve-report.ts";
import { joinMd, md } from "../../src/core/inert.ts";
import { autoMergeBlockedComment, endedComment, reminderComment, requesterLine } from "../../src/core/messages.ts";
import { closingIn, FORBIDDEN, htmlIn, linksIn, markersIn, mentionsIn, referencesIn } from "../helpers/github-markdown.ts";
import { HOSTILE } from "../helpers/hostile.ts";

const EVIL = HOSTILE.join(" ");
const NOW = Date.UTC(2030, 0, 1, 10);

function inert(body: string, own: { mentions?: string[]; refs?: string[] } = {}) {
  expect(mentionsIn(body).filter((m) => !(own.mentions ?? []).includes(m))).toEqual([]);
  expect(referencesIn(body).filter((r) => !(own.refs ?? []).includes(r))).toEqual([]);
  expect(closingIn(body)).toEqual([]);
  expect(linksIn(body)).toEqual([]);
  expect(markersIn(body)).toEqual([]);
  expect(htmlIn(body)).toEqual([]);
  expect(body.replace(/\n/g, "")).not.toMatch(FORBIDDEN);
}

describe("I19: outcome notifications", () => {
  it("requesterLine mentions a well-formed login read from GitHub, and nothing for a malformed one or none", () => {
    expect(requesterLine(md`done.`, "alice").text).toBe("done.\n\ncc @alice (requester)");
    expect(requesterLine(md`done.`, null).text).toBe("done.");
    const odd = requesterLine(md`done.`, "@victim x").text;
    inert(odd);
  });

  it("endedComment with hostile role, user, database and id mentions only the requester", () => {
    for (const expired of [true, false]) {
      const body = endedComment({ requester: "alice", role: EVIL, dbUser: EVIL, database: EVIL, requestId: EVIL, expired, revokedAt: NOW, sessionsEnded: 2, deletionPr: 7, revertPr: 9 }).text;
      inert(body, { mentions: ["alice"], refs: ["#7", "#9"] });
      expect(body.split("\n")).toHaveLength(1);
    }
    expect(endedComment({ requester: "alice", role: "r", dbUser: "u", database: "d", requestId: "i", expired: true, revokedAt: NOW, sessionsEnded: 1, revertPr: 9 }).text)
      .toBe("🔒 @alice: **jit-access**: `r` for `u` on `d` (`i`) expired and was revoked at 2030-01-01T10:00:00Z; 1 session(s) of `u` ended. Pull request #9 deletes the request file. Need access again? Open a new request with a new file name (request ids are single-use).");
  });

  it("the auto-merge-blocked comment with a hostile rule description", () => {
    const body = autoMergeBlockedComment({ requester: "alice", rule: EVIL, status: 405 }).text;
    inert(body, { mentions: ["alice"] });
    expect(body).toContain("bypass list");
  });

  it("the reminder says how to extend: only duration, in this file, the new total, docs/requests.md", () => {
    const body = reminderComment({ role: "orders_readonly", dbUser: "alice", database: "orders-prod", path: "access-requests/orders-prod/a.yaml", expiresAt: NOW + 600_000, now: NOW }).text;
    expect(body).toContain("changes only `duration` in `access-requests/orders-prod/a.yaml` to the new total, counted from the original grant and at most the role's `max_duration` (docs/requests.md, \"Extending\")");
    inert(reminderComment({ role: EVIL, dbUser: EVIL, database: EVIL, path: EVIL, expiresAt: NOW + 600_000, now: NOW }).text);
  });

  it("the check's auto-approval section names the rule, or each rule's reason, inertly", () => {
    const matched = joinMd(autoApprovalLines({ matched: { index: 0, description: `auto_approve[0] (requesters @victim; at most 30m)` }, rejected: [], at: NOW }), "\n").text;
    expect(matched).toContain("Approved by policy rule auto_approve\\[0\\] (requesters `@victim`; at most 30m) at 2030-01-01T10:00:00Z");
    inert(matched);
    const none = joinMd(autoApprovalLines({ matched: null, rejected: [{ index: 0, description: EVIL, reason: EVIL }], at: NOW }), "\n").text;
    inert(none);
    expect(autoApprovalLines(null)).toEqual([]);
  });
});
