// The core decides, one use case applies (issue 11): the pure action for each kind of event, and
// the effects an applied action has. Merge decisions come from the real evaluatePullRequest over a
// fake PullRequestContext, so these are the actions the app really takes.
import { describe, expect, it } from "vitest";
import {
  authorizeEarlyRevoke, breakGlassAction, breakGlassExpiryAction, expiryAction, scheduledStartAction, mergeAction, NOT_A_REQUEST, NOT_MERGED, operatorRevokeAction, pushDeletionAction, refusal,
  type Action, type RevokeAction,
} from "../../src/core/action.ts";
import { effectsOf } from "../../src/core/action-effects.ts";
import { decide, problem } from "../../src/core/problem.ts";
import { evaluatePullRequest } from "../../src/core/pull-request.ts";
import { decideEarlyRevoke } from "../../src/core/revoke-authority.ts";
import type { Policy } from "../../src/core/types.ts";
import { approve, REQUEST, REQUEST_PATH, requestScenario, type ScenarioOptions } from "../helpers/fake-context.ts";

const NOW = 1_780_000_000_000;
const HOUR = 3_600_000;
const REPO = "acme/access";
const KEY = { repository: REPO, database: "orders-prod", requestId: "alice-inc-1234" };
const active = { "orders-prod/alice-inc-1234": { status: "active" as const, grantedAt: NOW - HOUR, expiresAt: NOW + HOUR, durationMs: 2 * HOUR } };
const POLICY: Policy = { databases: {}, identities: {} };

async function merged(o: ScenarioOptions): Promise<Action> {
  return mergeAction(await evaluatePullRequest(requestScenario({ merged: true, ...o }), { now: NOW, mode: "merge" }), REPO);
}

const kinds = (effects: { kind: string }[]) => effects.map((e) => e.kind);

describe("merge: the re-verified decision becomes one action", () => {
  it("a valid request approved on the head SHA is a grant with its key, approvers and actor; its effect is the granted comment", async () => {
    const a = await merged({ reviews: [approve("dave")] });
    expect(a).toMatchObject({ kind: "grant", key: KEY, approvers: ["dave"], actor: `github:merge:${REPO}#7`, origin: { via: "merge", pr: 7 } });
    if (a.kind !== "grant") throw new Error("not a grant");
    const fx = effectsOf({ kind: "granted", action: a, expiresAt: NOW + HOUR }, NOW);
    expect(fx).toMatchObject([{ kind: "comment", pr: 7, key: `granted:${REPO}:orders-prod/alice-inc-1234` }]);
  });

  it("editing only the duration of an active request is an extension", async () => {
    const a = await merged({ base: { [REQUEST_PATH]: REQUEST }, head: { [REQUEST_PATH]: REQUEST.replace("duration: 2h", "duration: 4h") }, requestStates: active, reviews: [approve("dave")] });
    expect(a).toMatchObject({ kind: "extend", key: KEY });
  });

  it("a PR the API does not show as merged is ignored and not recorded (the real merge is still handled)", async () => {
    const ctx = requestScenario({ reviews: [approve("dave")] });
    const a = mergeAction(await evaluatePullRequest(ctx, { now: NOW, mode: "merge" }), REPO);
    expect(a).toEqual({ kind: "ignore", why: NOT_MERGED, final: false });
  });

  it("a PR without a request file is ignored for good", async () => {
    expect(await merged({ head: { "README.md": "# hi\n" } })).toEqual({ kind: "ignore", why: NOT_A_REQUEST, final: true });
  });

  it("I1: an unapproved merge is refused with the decision's code, final, an incident: a comment and an alert", async () => {
    const a = await merged({});
    expect(a).toMatchObject({ kind: "refuse", code: "JIT_APPROVALS_MISSING", incident: true, final: true, subject: { kind: "request" } });
    if (a.kind !== "refuse") throw new Error("not a refusal");
    expect(kinds(effectsOf({ kind: "refused", action: a }, NOW))).toEqual(["comment", "alert"]);
  });

  it("I1: a deletion on a branch other than the default one is refused, never a revoke", async () => {
    const a = await merged({ base: { [REQUEST_PATH]: REQUEST }, head: { [REQUEST_PATH]: null }, requestStates: active, baseRef: "evil" });
    expect(a.kind).toBe("refuse");
  });
});

describe("refusals are classified by the core, not by the use cases", () => {
  const origin = { via: "merge" as const, repository: REPO, pr: 7 };
  it("I17: JIT_WINDOW_PASSED is said on the PR but is no incident (no alert); it is final", () => {
    const r = refusal(origin, "JIT_WINDOW_PASSED", [problem("JIT_WINDOW_PASSED", "passed")], { kind: "request", known: [] });
    expect(r).toMatchObject({ incident: false, final: true });
    expect(kinds(effectsOf({ kind: "refused", action: r }, NOW))).toEqual(["comment"]);
  });

  it("a target that is down or not configured yet may pass when retried: not final, and explained on the PR rather than alerted (issue 13)", () => {
    for (const code of ["JIT_DB_UNREACHABLE", "JIT_CONFIG_MISSING_ENV"] as const) {
      expect(refusal(origin, code, [problem(code, "x")], { kind: "request", known: [] })).toMatchObject({ incident: false, final: false });
    }
  });
});

describe("early revoke: a deletion revokes only once revoke_by allows it", () => {
  it("revoke_by: a merged deletion of an active request is a revoke still pending authority; the requester's own deletion allows it", async () => {
    const a = await merged({ base: { [REQUEST_PATH]: REQUEST }, head: { [REQUEST_PATH]: null }, requestStates: active });
    expect(a).toMatchObject({ kind: "revoke", authority: "pending", key: KEY, retryOnFailure: true, reason: "early revoke: request file deleted by pull request #7" });
    const ok = authorizeEarlyRevoke(a as RevokeAction, decideEarlyRevoke({ revokeBy: ["requester"], author: "alice", grantees: ["alice"], approvals: [] }));
    expect(ok).toMatchObject({ kind: "revoke", authority: "allowed" });
  });

  it("revoke_by: someone else's deletion is refused (JIT_REVOKE_NOT_AUTHORIZED): a comment and an alert, final", async () => {
    const a = await merged({ author: "mallory", base: { [REQUEST_PATH]: REQUEST }, head: { [REQUEST_PATH]: null }, requestStates: active });
    const r = authorizeEarlyRevoke(a as RevokeAction, decideEarlyRevoke({ revokeBy: ["requester"], author: "mallory", grantees: ["alice"], approvals: [] }));
    expect(r).toMatchObject({ kind: "refuse", code: "JIT_REVOKE_NOT_AUTHORIZED", incident: true, final: true });
    if (r.kind !== "refuse") throw new Error("not a refusal");
    expect(effectsOf({ kind: "refused", action: r }, NOW)).toMatchObject([
      { kind: "comment", key: `revoke-refused:${REPO}#7` }, { kind: "alert", alert: { code: "JIT_REVOKE_NOT_AUTHORIZED" } },
    ]);
  });

  it("revoke_by: a direct push deleting an active request is pending; refused, it raises the push alert only", () => {
    const origin = { via: "push" as const, repository: REPO, commit: "c".repeat(40), branch: "main", path: REQUEST_PATH };
    expect(pushDeletionAction({ origin, key: KEY, active: false, ownedElsewhere: false, policy: POLICY }).kind).toBe("ignore");
    expect(pushDeletionAction({ origin, key: KEY, active: true, ownedElsewhere: true, policy: POLICY })).toMatchObject({ kind: "ignore", why: expect.stringContaining("I10") });
    expect(pushDeletionAction({ origin, key: KEY, active: true, ownedElsewhere: false, policy: null }).kind).toBe("ignore");
    const a = pushDeletionAction({ origin, key: KEY, active: true, ownedElsewhere: false, policy: POLICY });
    expect(a).toMatchObject({ kind: "revoke", authority: "pending", retryOnFailure: false, actor: `github:push:${REPO}@${"c".repeat(40)}` });
    const r = authorizeEarlyRevoke(a as RevokeAction, decideEarlyRevoke({ revokeBy: ["requester", "approvers"], author: null, grantees: ["alice"], approvals: [] }));
    if (r.kind !== "refuse") throw new Error("not a refusal");
    expect(effectsOf({ kind: "refused", action: r }, NOW)).toMatchObject([{ kind: "alert", alert: { code: "JIT_REVOKE_NOT_AUTHORIZED", key: `push:${"c".repeat(40)}:${REQUEST_PATH}` } }]);
  });
});

describe("expiry and the operator: ledger facts become revokes", () => {
  const due = { ledgerId: 5, key: KEY, connectionEnv: "JIT_DB_ORDERS" };
  it("I15: a due grant is revoked with its policy, or through its recorded variable when no policy defines it any more", () => {
    expect(expiryAction(due, decide(POLICY, [], ""), true, "sweeper")).toMatchObject({ kind: "revoke", policy: POLICY, reason: "expired", authority: "allowed", ledgerId: 5 });
    const gone = decide(null, [problem("JIT_POLICY_UNAVAILABLE", "no policy")], "");
    expect(expiryAction(due, gone, true, "sweeper")).toMatchObject({ kind: "revoke", policy: null });
    expect(expiryAction(due, gone, false, "sweeper")).toMatchObject({ kind: "refuse", code: "JIT_POLICY_UNAVAILABLE" });
    expect(expiryAction({ ...due, connectionEnv: null }, gone, true, "sweeper")).toMatchObject({ kind: "refuse", code: "JIT_POLICY_UNAVAILABLE" });
  });

  it("an expired grant's effect is its revert PR; an early revoke's is a comment unless it was already closed", async () => {
    const exp = expiryAction(due, decide(POLICY, [], ""), true, "sweeper") as RevokeAction;
    const row = { id: 5, path: REQUEST_PATH, status: "revoked", revokeReason: "expired" };
    expect(effectsOf({ kind: "revoked", action: exp, alreadyClosed: true, message: "", row }, NOW)).toMatchObject([{ kind: "revert-pr", grant: { id: 5, path: REQUEST_PATH } }]);
    const early = await merged({ base: { [REQUEST_PATH]: REQUEST }, head: { [REQUEST_PATH]: null }, requestStates: active }) as RevokeAction;
    const closed = { ...row, revokeReason: "early revoke" };
    expect(kinds(effectsOf({ kind: "revoked", action: early, alreadyClosed: false, message: "revoked", row: closed }, NOW))).toEqual(["comment"]);
    expect(effectsOf({ kind: "revoked", action: early, alreadyClosed: true, message: "", row: closed }, NOW)).toEqual([]);
  });

  it("jit revoke needs no approval: the operator's revoke is allowed at once; its one GitHub effect is the revert PR (git true after every revoke)", () => {
    const a = operatorRevokeAction(KEY, "incident 7", "cli:ops", POLICY);
    expect(a).toMatchObject({ kind: "revoke", authority: "allowed", reason: "incident 7", actor: "cli:ops", origin: { via: "operator" } });
    expect(effectsOf({ kind: "revoked", action: a, alreadyClosed: false, message: "revoked", row: { id: 1, path: REQUEST_PATH, status: "revoked", revokeReason: "incident 7" } }, NOW))
      .toEqual([{ kind: "revert-pr", grant: { id: 1, repository: KEY.repository, database: KEY.database, requestId: KEY.requestId, path: REQUEST_PATH } }]);
    // A request that was never granted (failed) has no file to take back.
    expect(effectsOf({ kind: "revoked", action: a, alreadyClosed: true, message: "never granted", row: { id: 1, path: REQUEST_PATH, status: "failed", revokeReason: null } }, NOW)).toEqual([]);
  });
});

describe("start actions (scheduled start, break-glass) and the break-glass deadline", () => {
  const row = { ...KEY, prNumber: 7, path: REQUEST_PATH, headSha: "h".repeat(40), mergeSha: "m".repeat(40), role: "orders_readonly", dbUser: "alice", durationMs: HOUR, startsAt: new Date(NOW) };

  it("a scheduled start grants the merged request's role for its duration, anchored at starts_at (I17), with the approvals re-verified", () => {
    const a = scheduledStartAction(row, POLICY, ["dora"], "jit-scheduler");
    expect(a).toMatchObject({ kind: "start", origin: { via: "schedule", repository: REPO, pr: 7 }, key: KEY, actor: "jit-scheduler",
      grant: { role: "orders_readonly", dbUser: "alice", durationMs: HOUR, approvers: ["dora"], anchoredAt: new Date(NOW).toISOString(), mergeSha: row.mergeSha } });
    const fx = effectsOf({ kind: "started", action: a, expiresAt: NOW + HOUR }, NOW);
    expect(fx).toMatchObject([{ kind: "comment", pr: 7, key: `schedule-activated:${REPO}:orders-prod/alice-inc-1234` }]);
  });

  it("a break-glass grant has no approvers and no merge commit; it is commented and alerted, once per key", () => {
    const a = breakGlassAction({ key: KEY, pr: 9, policy: POLICY, path: REQUEST_PATH, headSha: "h", role: "orders_readonly", dbUser: "bob", durationMs: HOUR, requester: "bob", deadline: NOW + 4 * HOUR });
    expect(a).toMatchObject({ kind: "start", origin: { via: "break-glass", pr: 9 }, actor: `github:break-glass:${REPO}#9`, grant: { approvers: [], mergeSha: null } });
    expect(a.grant.anchoredAt).toBeUndefined();
    const fx = effectsOf({ kind: "started", action: a, expiresAt: NOW + HOUR }, NOW);
    expect(kinds(fx)).toEqual(["comment", "alert"]);
    expect(fx[0]).toMatchObject({ key: `break-glass:${REPO}:orders-prod/alice-inc-1234`, pr: 9 });
  });

  it("a break-glass deadline revokes (allowed: it only reduces privilege), then alerts, comments and closes the PR; never a revert PR", () => {
    const a = breakGlassExpiryAction({ ...KEY, prNumber: 9, requester: "bob", deadline: new Date(NOW) }, POLICY, "jit-scheduler");
    expect(a).toMatchObject({ kind: "revoke", authority: "allowed", retryOnFailure: false, origin: { via: "break-glass", pr: 9 } });
    const fx = effectsOf({ kind: "revoked", action: a, alreadyClosed: false, message: "membership removed", row: { id: 3, path: REQUEST_PATH, status: "revoked", revokeReason: a.reason } }, NOW);
    expect(kinds(fx)).toEqual(["alert", "comment", "close-pr"]);
    expect(fx[1]).toMatchObject({ key: `break-glass-expired:${REPO}:orders-prod/alice-inc-1234` });
    expect((fx[1] as { body: { text: string } }).body.text).toContain("revoked (membership removed)");
    const ended = effectsOf({ kind: "revoked", action: a, alreadyClosed: true, message: "", row: null }, NOW);
    expect((ended[1] as { body: { text: string } }).body.text).toContain("the access had already ended");
  });
});
