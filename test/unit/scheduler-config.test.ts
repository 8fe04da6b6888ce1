// Pure parts of the scheduler: configuration from the environment, the next-expiry timer's delay,
// lag percentiles, the outbox backoff and the revert PR's audit body.
import { describe, expect, it } from "vitest";
import { DEFAULT_SCHEDULER_CONFIG, lagSummary, loadSchedulerConfig, parseSetting, timerDelay } from "../../src/scheduler/config.ts";
import { backoffMs } from "../../src/scheduler/outbox.ts";
import { revertBody, revertBranch, revertTitle, type RevertRecord } from "../../src/github/revert-pr.ts";
import { humanMs } from "../../src/cli/sweep-setup.ts";

describe("loadSchedulerConfig", () => {
  it("defaults: every 30 s, merge revert PRs, remind 15 minutes before, stale after 5 minutes, overdue after 60 s", () => {
    const { config, problems } = loadSchedulerConfig({});
    expect(problems).toEqual([]);
    expect(config).toEqual(DEFAULT_SCHEDULER_CONFIG);
    expect(config).toMatchObject({ sweepIntervalMs: 30_000, mergeRevertPrs: true, remindBeforeMs: 900_000, staleAfterMs: 300_000, overdueAfterMs: 60_000 });
  });

  it("reads every variable", () => {
    const { config, problems } = loadSchedulerConfig({
      JIT_MERGE_REVERT_PRS: "false", JIT_REVERT_MERGE_METHOD: "merge", JIT_REVERT_PR_LABEL: "access expired", JIT_REMIND_BEFORE: "30m",
      JIT_SWEEP_STALE_AFTER: "2m", JIT_REVOKE_OVERDUE_AFTER: "90s", JIT_SWEEP_BATCH: "50", JIT_SWEEP_PARALLEL: "8",
    });
    expect(problems).toEqual([]);
    expect(config).toMatchObject({ mergeRevertPrs: false, revertMergeMethod: "merge", revertLabel: "access expired", remindBeforeMs: 1_800_000,
      staleAfterMs: 120_000, overdueAfterMs: 90_000, batchSize: 50, parallel: 8 });
    expect(loadSchedulerConfig({ JIT_REMIND_BEFORE: "0" }).config.remindBeforeMs).toBe(0);
    expect(loadSchedulerConfig({ JIT_REMIND_BEFORE: "off" }).config.remindBeforeMs).toBe(0);
  });

  it("refuses malformed values with JIT_CONFIG_INVALID and keeps the defaults", () => {
    for (const [k, v] of [
      ["JIT_MERGE_REVERT_PRS", "yes"], ["JIT_MERGE_REVERT_PRS", "1"], ["JIT_REVERT_MERGE_METHOD", "fast-forward"], ["JIT_REVERT_PR_LABEL", "<script>"],
      ["JIT_REMIND_BEFORE", "15"], ["JIT_REMIND_BEFORE", "-5m"], ["JIT_REMIND_BEFORE", "1.5h"], ["JIT_SWEEP_STALE_AFTER", "0"],
      ["JIT_REVOKE_OVERDUE_AFTER", "10 s"], ["JIT_SWEEP_BATCH", "0"], ["JIT_SWEEP_PARALLEL", "65"], ["JIT_SWEEP_BATCH", "1e3"],
    ] as const) {
      const { config, problems } = loadSchedulerConfig({ [k]: v });
      expect(problems.map((p) => p.code), `${k}=${v}`).toEqual(["JIT_CONFIG_INVALID"]);
      expect(problems[0]!.message).toContain(k);
      if (v === "<script>") expect(problems[0]!.message).not.toContain(v); // values are never echoed
      expect(config).toEqual(DEFAULT_SCHEDULER_CONFIG);
    }
  });

  it("parseSetting: whole numbers of s, m or h only", () => {
    expect(parseSetting("X", "45s", false)).toEqual({ ms: 45_000 });
    expect(parseSetting("X", "2h", false)).toEqual({ ms: 7_200_000 });
    expect("problem" in parseSetting("X", "0", false)).toBe(true);
    expect(parseSetting("X", "0", true)).toEqual({ ms: 0 });
    for (const bad of ["", " 5m", "5m ", "5M", "5d", "05m", "5", "m"]) expect("problem" in parseSetting("X", bad, true), bad).toBe(true);
  });
});

describe("timerDelay", () => {
  it("waits until just after the next expiry, never negative, never beyond the cap", () => {
    expect(timerDelay(null, 30_000)).toBeNull();
    expect(timerDelay(Number.NaN, 30_000)).toBeNull();
    expect(timerDelay(1200.2, 30_000)).toBe(1206);
    expect(timerDelay(-5000, 30_000)).toBe(0);
    expect(timerDelay(3_600_000, 30_000)).toBe(30_000);
  });
});

describe("lagSummary", () => {
  it("nearest-rank percentiles", () => {
    expect(lagSummary([])).toBeNull();
    expect(lagSummary([5])).toEqual({ p50: 5, p99: 5, max: 5, count: 1 });
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 1..100 unsorted
    expect(lagSummary(hundred)).toEqual({ p50: 50, p99: 99, max: 100, count: 100 });
  });
});

describe("backoffMs", () => {
  it("30 s, doubling, capped at 30 minutes", () => {
    expect([1, 2, 3, 4].map(backoffMs)).toEqual([30_000, 60_000, 120_000, 240_000]);
    expect(backoffMs(20)).toBe(1_800_000);
  });
});

describe("revert PR text", () => {
  const r: RevertRecord = {
    ledgerId: 42, repository: "acme/access", database: "orders-prod", requestId: "alice-inc-1", path: "access-requests/orders-prod/alice-inc-1.yaml",
    requester: "alice", prNumber: 12, role: "orders_readonly", dbUser: "alice", approvers: ["dora", "erin"],
    grantedAt: new Date("2030-01-01T10:00:00.123Z"), expiresAt: new Date("2030-01-01T12:00:00.123Z"), revokedAt: new Date("2030-01-01T12:00:01.500Z"),
    revokedBy: "scheduler:host:1", sessionsEnded: 3, verification: { outcome: "revoked", membershipGone: true, sessionsLeft: 0 },
  };

  it("branch jit/expire/<database>/<request-id>-<random suffix>", () => {
    expect(revertBranch("orders-prod", "alice-inc-1", "0a1b2c3d4e5f6a7b")).toBe("jit/expire/orders-prod/alice-inc-1-0a1b2c3d4e5f6a7b");
    expect(revertTitle(r)).toBe("Expire orders-prod/alice-inc-1: orders_readonly for alice");
  });

  it("the body is the audit record", () => {
    const body = revertBody(r);
    expect(body.split("\n")[0]).toBe("<!-- jit-access:revert:orders-prod/alice-inc-1 -->");
    for (const line of [
      "| Request | `alice-inc-1` (#12) |", "| Requester | @alice |", "| Database | `orders-prod` |", "| Role | `orders_readonly` |",
      "| Database user | `alice` |", "| Approvers | @dora, @erin |", "| Granted at | 2030-01-01T10:00:00Z |", "| Expired at | 2030-01-01T12:00:00Z |",
      "| Revoked at | 2030-01-01T12:00:01Z |", "| Revoked by | `scheduler:host:1` |", "| Sessions ended | 3 |",
      "| Verification | membership gone, 0 session(s) left (revoked) |", "| Ledger row | 42 |",
    ]) expect(body).toContain(line);
  });

  it("says so loudly when the verification did not hold, and tolerates unknowns", () => {
    const body = revertBody({ ...r, requester: null, prNumber: null, approvers: [], verification: { membershipGone: false, sessionsLeft: 1 }, revokedAt: null });
    expect(body).toContain("| Verification | membership STILL PRESENT, 1 session(s) left |");
    expect(body).toContain("| Requester | — |");
    expect(body).toContain("| Approvers | — |");
    expect(body).toContain("| Revoked at | — |");
    expect(body).toContain("| Request | `alice-inc-1` |");
  });
});

describe("humanMs", () => {
  it("formats lags for people", () => {
    expect(humanMs(850)).toBe("850 ms");
    expect(humanMs(61_000)).toBe("1m 1s");
    expect(humanMs(3 * 3_600_000 + 2 * 60_000)).toBe("3h 2m");
    expect(humanMs(5000)).toBe("5s");
  });
});
