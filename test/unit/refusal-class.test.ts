// The class of a refusal at merge is a pure function of its codes (src/core/refusal-class.ts):
// benign refusals are commented only, incidents are alerted, transient ones are retried. Also the
// pure rule that decides whether an overlapping request extends the held grant (src/core/overlap.ts).
import { describe, expect, it } from "vitest";
import { CODES, REFUSAL_CLASS, type JitCode } from "../../src/core/codes.ts";
import { overlapExtension, type HeldWindow } from "../../src/core/overlap.ts";
import { refusalClass, refusalClassOf } from "../../src/core/refusal-class.ts";
import { targetChecks } from "../../src/core/target-checks.ts";

describe("refusal classes", () => {
  it("the world changing after approval is benign; the target down is transient", () => {
    for (const c of ["JIT_USER_MISSING", "JIT_ROLE_NOT_PURE", "JIT_ALREADY_HAS_ACCESS", "JIT_ALREADY_GRANTED", "JIT_WINDOW_PASSED"] as const) expect(refusalClass(c)).toBe("benign");
    expect(refusalClass("JIT_DB_UNREACHABLE")).toBe("transient");
    expect(refusalClass("JIT_CONFIG_MISSING_ENV")).toBe("transient");
  });

  it("incidents stay incidents: no valid approval, forged or unattributed commits, policy edits, a recreated login, too much power", () => {
    for (const c of ["JIT_APPROVALS_MISSING", "JIT_APPROVER_IS_AUTHOR", "JIT_COMMIT_UNATTRIBUTED", "JIT_PR_TOUCHES_OTHER_FILES", "JIT_PR_BLOB_MISMATCH",
      "JIT_TARGET_CHANGED", "JIT_USER_NOT_ELIGIBLE", "JIT_DB_ROLE_TOO_POWERFUL", "JIT_REQUEST_ID_USED", "JIT_UNVERIFIED_PUSH"] as const) expect(refusalClass(c)).toBe("incident");
    expect(refusalClass("JIT_NOT_A_CODE")).toBe("incident");
    expect(refusalClass("__proto__")).toBe("incident");
  });

  it("a benign first problem does not hide an incident behind it", () => {
    expect(refusalClassOf(["JIT_USER_MISSING", "JIT_APPROVALS_MISSING"])).toBe("incident");
    expect(refusalClassOf(["JIT_ALREADY_GRANTED", "JIT_DB_UNREACHABLE"])).toBe("transient");
    expect(refusalClassOf(["JIT_ALREADY_GRANTED", "JIT_USER_MISSING"])).toBe("benign");
    expect(refusalClassOf([])).toBe("incident");
  });

  it("every classified code exists", () => {
    for (const c of Object.keys(REFUSAL_CLASS)) expect(Object.hasOwn(CODES, c), c).toBe(true);
  });
});

describe("target checks as the check lists them", () => {
  const base = { database: "orders-prod", role: "orders_readonly", dbUser: "alice", pgMajor: 16, memberOid: "16400" };
  it("all pass without findings; each finding fails its own line only", () => {
    expect(targetChecks({ ...base, codes: [] }).every((c) => c.ok)).toBe(true);
    const failed = (codes: JitCode[]) => targetChecks({ ...base, codes }).filter((c) => !c.ok).map((c) => c.text);
    expect(failed(["JIT_ALREADY_GRANTED"])).toEqual(["alice does not already have orders_readonly (I7)"]);
    expect(failed(["JIT_USER_MISSING"])).toEqual(["login alice exists and is a plain login (OID 16400)"]);
    expect(failed(["JIT_ROLE_NOT_PURE"])).toEqual(["role orders_readonly exists and is pure over its closure (I4, I14)"]);
    expect(failed(["JIT_DB_ROLE_TOO_POWERFUL"])).toEqual(["app role healthy (I5: no more power than needed, ADMIN on the role)"]);
  });
  it("an unreachable cluster is one failed line", () => {
    expect(targetChecks({ ...base, pgMajor: null, codes: ["JIT_DB_UNREACHABLE"] })).toEqual([{ ok: false, text: "cluster of orders-prod reachable" }]);
  });
});

describe("overlapping requests: extend or refuse (item 3)", () => {
  const H = 3_600_000;
  const held = (o: Partial<HeldWindow> = {}): HeldWindow => ({
    repository: "acme/access", database: "orders-prod", requestId: "alice-1", status: "active",
    windowStart: new Date(0), expiresAt: new Date(2 * H), durationMs: 2 * H, ...o,
  });
  const ask = (o: Partial<Parameters<typeof overlapExtension>[0]> = {}) =>
    overlapExtension({ held: [held()], repository: "acme/access", database: "orders-prod", requestedMs: 4 * H, maxMs: 8 * H, at: H, ...o });

  it("extends when the new end is later and within max_duration counted from the held grant's start", () => {
    expect(ask()).toMatchObject({ durationMs: 5 * H, until: 5 * H });
    expect(ask({ requestedMs: 7 * H })).toMatchObject({ durationMs: 8 * H });
  });
  it("never shortens, never beyond max_duration, never an ended, in-flight, foreign or ambiguous grant", () => {
    expect(ask({ requestedMs: H })).toBeNull(); // ends at 2h: not later
    expect(ask({ requestedMs: 30 * 60_000 })).toBeNull();
    expect(ask({ requestedMs: 7 * H + 1 })).toBeNull(); // 8h + 1ms from the start
    expect(ask({ at: 2 * H })).toBeNull(); // the held grant has ended
    expect(ask({ at: Number.NaN })).toBeNull(); // no usable merged_at
    expect(ask({ held: [held({ status: "intent", windowStart: null, expiresAt: null })] })).toBeNull();
    expect(ask({ held: [held({ repository: "acme/other" })] })).toBeNull();
    expect(ask({ held: [held(), held({ requestId: "alice-2" })] })).toBeNull();
    expect(ask({ held: [] })).toBeNull();
  });
});
