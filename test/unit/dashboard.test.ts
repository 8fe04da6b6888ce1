// The dashboard renderer (pure): sections per ledger status (unknown ones too), bounded size with
// "… and N more", coarse relative times, and untrusted text made inert (I19).
import { describe, expect, it } from "vitest";
import { coarseRelative, DASHBOARD_MARKER, MAX_DASHBOARD_CHARS, renderDashboard, type DashboardGrant, type DashboardInput } from "../../src/core/dashboard.ts";

const NOW = Date.parse("2026-12-01T10:00:00Z");
const grant = (i: number, over: Partial<DashboardGrant> = {}): DashboardGrant => ({
  status: "active", database: "orders-prod", requestId: `req-${i}`, role: "orders_readonly", dbUser: `user_${i}`, prNumber: i,
  approvers: ["dora"], grantedAt: NOW - 3_600_000, expiresAt: NOW + i * 60_000, revokedAt: null, revokeReason: null, failureCode: null, ...over,
});
const input = (over: Partial<DashboardInput> = {}): DashboardInput => ({
  repository: "acme/access", now: NOW, open: [], ended: [], pending: [], alerts: [], deadLetters: [], deadTotal: 0, ...over,
});

describe("renderDashboard", () => {
  it("starts with the marker and shows every section, empty ones as None", () => {
    const body = renderDashboard(input()).text;
    expect(body.startsWith(`${DASHBOARD_MARKER}\n`)).toBe(true);
    for (const s of ["Active grants (0)", "Pending requests (0)", "Recently ended (last 0)", "Open alerts (0)", "Dead letters (0)"]) expect(body).toContain(s);
  });

  it("a grant row: user, role, database, request, until in UTC with relative time, PR", () => {
    const body = renderDashboard(input({ open: [grant(90)] })).text;
    expect(body).toContain("| `user_90` | `orders_readonly` | `orders-prod` | `req-90` | 2026-12-01T09:00:00Z (1 h ago) | 2026-12-01T11:30:00Z (in 1 h) | #90 |");
  });

  it("any other ledger status gets its own section, named generically (scheduled, break-glass, whatever lands later)", () => {
    const body = renderDashboard(input({ open: [grant(1), grant(2, { status: "scheduled", grantedAt: null }), grant(3, { status: "break_glass" })] })).text;
    expect(body).toContain("Grants with status `break_glass` (1)");
    expect(body).toContain("Grants with status `scheduled` (1)");
    expect(body).toContain("Active grants (1)");
  });

  it("many grants in many statuses stay within the bound", () => {
    const open = ["active", "scheduled", "break_glass", "intent", "awaiting_retro_approval", "paused", "other_a", "other_b"]
      .flatMap((status) => Array.from({ length: 400 }, (_, i) => grant(i + 1, { status, requestId: `${status.replace(/_/g, "-")}-${i}` })));
    const body = renderDashboard(input({ open })).text;
    expect(body.length).toBeLessThanOrEqual(MAX_DASHBOARD_CHARS);
    expect(body).not.toContain("too large to show");
    expect(body).toContain("Grants with status `paused` (400)");
  });

  it("500 active grants and 1000 pending stay within the bound, each cut section says how many more", () => {
    const open = Array.from({ length: 500 }, (_, i) => grant(i + 1));
    const pending = Array.from({ length: 1000 }, (_, i) => ({
      prNumber: i + 1, database: "orders-prod", requestId: `p-${i}`, requester: "alice", role: "orders_readonly", conclusion: "action_required",
      code: "JIT_APPROVALS_MISSING", approvals: 0, required: 1, waitingFor: ["@acme/dba"], checkedAt: NOW,
    }));
    const dead = Array.from({ length: 10 }, (_, i) => ({ id: `d${i}`, event: "pull_request", action: "closed", attempts: 8, lastError: "x".repeat(500), receivedAt: NOW }));
    const body = renderDashboard(input({ open, pending, deadLetters: dead, deadTotal: 4000, ended: open.slice(0, 20).map((g) => ({ ...g, status: "revoked", revokedAt: NOW, revokeReason: "expired" })) })).text;
    expect(body.length).toBeLessThanOrEqual(MAX_DASHBOARD_CHARS);
    const shown = (body.match(/^\| `user_\d+` \| `orders_readonly` \| `orders-prod` \| `req-\d+` \| [^|]+ \| [^|]+ \| #\d+ \|$/gm) ?? []).length - 20;
    expect(body).toContain(`… and ${500 - shown} more`);
    expect(body).toMatch(/Pending requests \(1000\)[\s\S]*… and \d+ more/);
    expect(body).toContain("Dead letters (4000)");
    expect(body).toContain("… and 3990 more");
  });

  it("scheduled grants (who, role, database, starts, until, PR) and break-glass grants awaiting retro-approval (deadline UTC + relative)", () => {
    const body = renderDashboard(input({
      scheduled: [{ requester: "alice", dbUser: "alice_db", role: "orders_readonly", database: "orders-prod", requestId: "night-1", startsAt: NOW + 2 * 3_600_000, until: NOW + 4 * 3_600_000, prNumber: 12 }],
      breakGlass: [{ requester: "bob", dbUser: "bob_db", role: "orders_rw", database: "orders-prod", requestId: "bg-1", deadline: NOW + 30 * 60_000, prNumber: 13 },
        { requester: "carol", dbUser: "carol_db", role: null, database: "orders-prod", requestId: "bg-2", deadline: NOW - 5 * 60_000, prNumber: 14 }],
    })).text;
    expect(body).toContain("### Scheduled grants (1)");
    expect(body).toContain("| `alice` | `alice_db` | `orders_readonly` | `orders-prod` | `night-1` | 2026-12-01T12:00:00Z (in 2 h) | 2026-12-01T14:00:00Z (in 4 h) | #12 |");
    expect(body).toContain("### Break-glass grants awaiting retro-approval (2)");
    expect(body).toContain("| `bob` | `bob_db` | `orders_rw` | `orders-prod` | `bg-1` | 2026-12-01T10:30:00Z (in 30 min) | #13 |");
    expect(body).toContain("| `carol` | `carol_db` | — | `orders-prod` | `bg-2` | 2026-12-01T09:55:00Z (5 min ago) | #14 |");
    const empty = renderDashboard(input()).text;
    expect(empty).toMatch(/### Scheduled grants \(0\)\n\nNone\./);
    expect(empty).toMatch(/### Break-glass grants awaiting retro-approval \(0\)\n\nNone\./);
  });

  it("1000 scheduled and 1000 break-glass rows stay within the bound, each section says how many more", () => {
    const scheduled = Array.from({ length: 1000 }, (_, i) => ({ requester: "alice", dbUser: "alice_db", role: "orders_readonly", database: "orders-prod", requestId: `s-${i}`, startsAt: NOW + i * 60_000, until: NOW + i * 60_000 + 3_600_000, prNumber: i + 1 }));
    const breakGlass = Array.from({ length: 1000 }, (_, i) => ({ requester: `u${i}`, dbUser: `u${i}_db`, role: "orders_rw", database: "orders-prod", requestId: `b-${i}`, deadline: NOW + i * 60_000, prNumber: i + 1 }));
    const body = renderDashboard(input({ scheduled, breakGlass, open: Array.from({ length: 500 }, (_, i) => grant(i + 1)) })).text;
    expect(body.length).toBeLessThanOrEqual(MAX_DASHBOARD_CHARS);
    expect(body).not.toContain("too large to show");
    expect(body).toMatch(/Scheduled grants \(1000\)[\s\S]*?… and \d+ more/);
    expect(body).toMatch(/Break-glass grants awaiting retro-approval \(1000\)[\s\S]*?… and \d+ more/);
  });

  it("I19: a scheduled or break-glass row's requester, login, role and request id cannot mention, reference or add cells", () => {
    const hostile = "@dora Fixes #1 | cell | <!-- jit-access:dashboard -->";
    const body = renderDashboard(input({
      scheduled: [{ requester: hostile, dbUser: hostile, role: hostile, database: hostile, requestId: hostile, startsAt: NOW, until: NOW, prNumber: 1 }],
      breakGlass: [{ requester: hostile, dbUser: hostile, role: hostile, database: hostile, requestId: hostile, deadline: NOW, prNumber: 2 }],
    })).text;
    expect(body.match(/(^|[^\\])<!--/g)).toHaveLength(1);
    expect(body).not.toMatch(/(^|[^`])@dora/);
    for (const line of body.split("\n").filter((l) => l.startsWith("| "))) {
      expect([7, 8]).toContain(line.split(/(?<!\\)\|/).length - 2);
    }
  });

  it("I19: untrusted text (reasons, alert titles, errors, logins) cannot mention, reference, close, forge the marker or add cells", () => {
    const hostile = "@dora Fixes #1 <!-- jit-access:dashboard --> [x](https://evil) | cell | \u202Eevil";
    const body = renderDashboard(input({
      ended: [grant(42, { status: "revoked", revokedAt: NOW, revokeReason: hostile })],
      alerts: [{ number: 7, title: hostile, createdAt: NOW }],
      deadLetters: [{ id: "d1", event: "push", action: null, attempts: 8, lastError: hostile, receivedAt: NOW }], deadTotal: 1,
      pending: [{ prNumber: 3, database: "orders-prod", requestId: "r", requester: "mal|lory", role: null, conclusion: "failure", code: "<b>", approvals: 0, required: 1, waitingFor: ["@acme/dba", "@x|y"], checkedAt: NOW }],
    })).text;
    expect(body.match(/(^|[^\\])<!--/g)).toHaveLength(1);
    expect(body).not.toMatch(/(^|[^`])@dora/);
    expect(body).not.toMatch(/(^|[^`])#1\b/);
    expect(body).not.toContain("](https");
    expect(body).not.toContain("\u202E");
    expect(body).not.toContain("<b>");
    for (const line of body.split("\n").filter((l) => l.startsWith("| "))) {
      const cells = line.split(/(?<!\\)\|/).length - 2;
      expect([3, 5, 7, 8]).toContain(cells);
    }
  });
});

describe("coarseRelative", () => {
  it("minutes under an hour, hours under two days, then days", () => {
    expect(coarseRelative(NOW + 30_000, NOW)).toBe("under a minute");
    expect(coarseRelative(NOW + 5 * 60_000, NOW)).toBe("in 5 min");
    expect(coarseRelative(NOW - 119 * 60_000, NOW)).toBe("1 h ago");
    expect(coarseRelative(NOW + 47 * 3_600_000, NOW)).toBe("in 47 h");
    expect(coarseRelative(NOW + 72 * 3_600_000, NOW)).toBe("in 3 d");
  });
});
