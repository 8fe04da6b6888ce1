// The pure parts of `jit report` and `jit rebuild`: dates, CSV cells, and the rebuild plan's rules
// (only the app's evidence counts, ids are single-use, nothing rebuilt is ever active).
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import auditSchema from "../../schemas/audit.schema.json" with { type: "json" };
import reportSchema from "../../schemas/report.schema.json" with { type: "json" };
import { planRebuild, type MergedPr } from "../../src/core/rebuild-plan.ts";
import { isoOfMs, parseReportDate } from "../../src/core/report-period.ts";
import { csvCell } from "../../src/core/report-render.ts";

describe("report dates", () => {
  it("parse dates, UTC times and offsets; print UTC with milliseconds", () => {
    expect(isoOfMs(parseReportDate("2026-10-01")!)).toBe("2026-10-01T00:00:00.000Z");
    expect(isoOfMs(parseReportDate("2024-02-29T23:59:59.5Z")!)).toBe("2024-02-29T23:59:59.500Z");
    expect(isoOfMs(parseReportDate("2026-10-01T00:30:00+01:00")!)).toBe("2026-09-30T23:30:00.000Z");
    expect(isoOfMs(parseReportDate("2026-10-01T00:30:00-02:30")!)).toBe("2026-10-01T03:00:00.000Z");
    expect(isoOfMs(0)).toBe("1970-01-01T00:00:00.000Z");
  });
  it.each(["2026-02-30", "2026-1-01", "yesterday", "2026-10-01T24:00:00Z", "2026-10-01T10:00:00", "2026-10-01T10:00:00+25:00", " 2026-10-01", ""])("refuses %j", (s) => {
    expect(parseReportDate(s)).toBeNull();
  });
});

describe("CSV cells", () => {
  it("defuse spreadsheet formulas and quote what needs quoting", () => {
    expect(csvCell("=1+1")).toBe("'=1+1");
    expect(csvCell("+cmd")).toBe("'+cmd");
    expect(csvCell("-2")).toBe("'-2");
    expect(csvCell("@SUM(A1)")).toBe("'@SUM(A1)");
    expect(csvCell("\t=x")).toBe("\"'\t=x\"");
    expect(csvCell('a "b", c')).toBe('"a ""b"", c"');
    expect(csvCell("two\nlines")).toBe('"two lines"');
    expect(csvCell(-2)).toBe("-2");
    expect(csvCell(null)).toBe("");
    expect(csvCell(true)).toBe("true");
  });
});

const H = 3_600_000;
const T0 = 1_800_000_000_000;
const yaml = (duration = "1h") => new TextEncoder().encode(`role: orders_readonly\nduration: ${duration}\nreason: Drill\nticket: INC-1\n`);
const GRANTED = "✅ **jit-access**: granted `orders_readonly` to `alice` on `orders-prod` until 2027-01-15T09:00:00Z (in 1h). Approved by @dora.";

function pr(n: number, o: Partial<MergedPr> & { status?: "added" | "modified" | "removed"; id?: string } = {}): MergedPr {
  return {
    number: n, author: "alice", byApp: false, createdAt: T0 + n * 1000, mergedAt: T0 + n * 1000, mergedAtText: "", headSha: `h${n}`, mergeSha: `m${n}`,
    file: { path: `access-requests/orders-prod/${o.id ?? "a-1"}.yaml`, status: o.status ?? "added", blobSha: `b${n}` },
    content: (o.status ?? "added") === "removed" ? null : yaml(), appComments: [], approvals: [], ...o,
  };
}

describe("rebuild plan", () => {
  it("a granted merge ended by the app's revert PR: revoked, never active, unproven facts listed", () => {
    const plan = planRebuild("acme/access", [
      pr(1, { appComments: [{ body: GRANTED, createdAt: T0 + 2000 }] }),
      pr(2, { status: "removed", byApp: true, author: "jit-access[bot]", createdAt: T0 + 1000 + H + 5000, mergedAt: T0 + 1000 + H + 9000 }),
    ], T0 + 10 * H);
    expect(plan.rows).toHaveLength(1);
    expect(plan.rows[0]).toMatchObject({ status: "revoked", role: "orders_readonly", dbUser: "alice", durationMs: H, grantedAt: T0 + 1000, expiresAt: T0 + 1000 + H,
      revokedAt: T0 + 1000 + H, revertPr: { number: 2 }, reason: "Drill", ticket: "INC-1", blobSha: "b1", mergePrs: [1] });
    expect(plan.rows[0]!.unproven).toEqual(expect.arrayContaining(["cluster_id", "grant_verification", "revoked_at", "revoke_verification"]));
  });

  it("I8: a grant still inside its window is not vouched for: revoked at the rebuild, never active", () => {
    const plan = planRebuild("acme/access", [pr(1, { appComments: [{ body: GRANTED, createdAt: T0 }] })], T0 + 1000 + H / 2);
    expect(plan.rows[0]).toMatchObject({ status: "revoked", revokedAt: T0 + 1000 + H / 2, revokedBy: "rebuild" });
    expect(plan.rows[0]!.revokeReason).toContain("drift (I8)");
  });

  it("a deletion PR not opened by the app and without the app's early-revoke comment proves no revoke", () => {
    const plan = planRebuild("acme/access", [
      pr(1, { appComments: [{ body: GRANTED, createdAt: T0 }] }),
      pr(2, { status: "removed", byApp: false, author: "mallory" }),
    ], T0 + 10 * H);
    expect(plan.rows[0]).toMatchObject({ revertPr: null, revokedAt: T0 + 1000 + H });
    expect(plan.rows[0]!.revokeReason).toContain("no record of the revoke");
  });

  it("single-use: a later merge adding the same id does not replace the first; no evidence leaves a merge to the merge path", () => {
    const refused = "❌ **jit-access**: nothing was granted (**JIT_APPROVALS_MISSING**). Merging does not grant access";
    const plan = planRebuild("acme/access", [
      pr(1, { appComments: [{ body: refused, createdAt: T0 }] }),
      pr(2, { appComments: [{ body: GRANTED, createdAt: T0 }] }),
      pr(3, { id: "b-2" }),
    ], T0 + 10 * H);
    expect(plan.rows.map((r) => [r.requestId, r.status, r.failureCode, r.prNumber])).toEqual([["a-1", "failed", "JIT_APPROVALS_MISSING", 1]]);
    expect(plan.unknown).toEqual([{ prNumber: 3, path: "access-requests/orders-prod/b-2.yaml", why: expect.any(String) }]);
  });

  it("a granted comment naming another database than the file is no evidence", () => {
    const plan = planRebuild("acme/access", [pr(1, { appComments: [{ body: GRANTED.replace("`orders-prod`", "`billing`"), createdAt: T0 }] })], T0);
    expect(plan.rows).toEqual([]);
    expect(plan.unknown[0]!.why).toContain("billing");
  });

  it("an unknown code in a refusal becomes JIT_MERGE_REFUSED; an extension moves the expiry from the first anchor (I17)", () => {
    const plan = planRebuild("acme/access", [
      pr(1, { id: "x-1", appComments: [{ body: "❌ **jit-access**: nothing was granted (**JIT_NOT_A_CODE**).", createdAt: T0 }] }),
      pr(2, { appComments: [{ body: GRANTED, createdAt: T0 }] }),
      pr(3, { status: "modified", content: yaml("3h"), appComments: [{ body: "⏱️ **jit-access**: extended `orders_readonly` for `alice` on `orders-prod` until x. Approved by @dan.", createdAt: T0 }] }),
    ], T0 + 100 * H);
    expect(plan.rows.find((r) => r.requestId === "x-1")!.failureCode).toBe("JIT_MERGE_REFUSED");
    const a = plan.rows.find((r) => r.requestId === "a-1")!;
    expect(a).toMatchObject({ durationMs: 3 * H, expiresAt: T0 + 2000 + 3 * H, mergePrs: [2, 3] });
    expect(a.extensions.map((e) => e.prNumber)).toEqual([3]);
  });
});

describe("schemas/report.schema.json and schemas/audit.schema.json", () => {
  type Node = Record<string, unknown>;
  const walk = (n: Node, path: string): [string, Node][] => [
    ...Object.entries((n.properties ?? {}) as Record<string, Node>).flatMap(([k, v]) => [[`${path}.${k}`, v] as [string, Node], ...walk(v, `${path}.${k}`)]),
    ...(n.items && typeof n.items === "object" && (n.items as Node).properties ? walk(n.items as Node, `${path}[]`) : []),
  ];
  it.each([["report", reportSchema], ["audit", auditSchema]] as const)("%s: every property is described, and its examples are valid", (_name, schema) => {
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats.default(ajv);
    ajv.compile(schema);
    for (const [path, s] of walk(schema as Node, "$")) {
      expect(typeof s.description, path).toBe("string");
      expect(Array.isArray(s.examples) && s.examples.length > 0, path).toBe(true);
      for (const ex of s.examples as unknown[]) expect(ajv.validate({ ...s, $schema: undefined }, ex), `${path}: ${JSON.stringify(ex)} ${JSON.stringify(ajv.errors)}`).toBe(true);
    }
  });
});
