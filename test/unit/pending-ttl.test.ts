// pending_ttl in the policy (role or database), and the pure helpers the closing pass uses.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { captureIo } from "../../src/cli/io.ts";
import { run } from "../../src/cli/validate.ts";
import { isPendingExpired, pendingTtlComment, pendingTtlFor, smallestPendingTtl } from "../../src/core/pending-ttl.ts";
import { parsePolicies } from "../../src/core/policy.ts";
import { utf8 } from "./support/core-fixtures.ts";

const H = 3_600_000;
const policy = (dbTtl: string | null, roleTtl: string | null) => `databases:
  orders-prod:
    connection_env: ORDERS_URL
${dbTtl ? `    pending_ttl: ${dbTtl}\n` : ""}    roles:
      orders_readonly:
        max_duration: 8h
        approvals: 1
        approvers: ["@acme/dba"]
${roleTtl ? `        pending_ttl: ${roleTtl}\n` : ""}      orders_admin:
        max_duration: 1h
        approvals: 1
        approvers: ["@acme/dba"]
`;
const parse = (yaml: string) => parsePolicies([{ path: "policies/orders.yaml", bytes: utf8(yaml) }]);

describe("pending_ttl", () => {
  it("a role's own pending_ttl wins; the database's covers the others; none means never", () => {
    const d = parse(policy("7d", "72h"));
    expect(d.ok, JSON.stringify(d.problems)).toBe(true);
    expect(pendingTtlFor(d.details!, "orders-prod", "orders_readonly")).toBe(72 * H);
    expect(pendingTtlFor(d.details!, "orders-prod", "orders_admin")).toBe(7 * 24 * H);
    expect(pendingTtlFor(d.details!, "orders-prod", null)).toBe(7 * 24 * H); // unreadable request: the database's
    expect(pendingTtlFor(d.details!, "orders-prod", "__proto__")).toBe(7 * 24 * H);
    expect(pendingTtlFor(d.details!, "other", "orders_readonly")).toBeUndefined();
    expect(smallestPendingTtl(d.details!)).toBe(72 * H);
    const none = parse(policy(null, null));
    expect(smallestPendingTtl(none.details!)).toBeUndefined();
    expect(pendingTtlFor(none.details!, "orders-prod", "orders_readonly")).toBeUndefined();
  });

  it("malformed or too long values are refused by the schema or the duration rules, at the line", () => {
    for (const bad of ["3w", "0h", "1.5h", "-2h", "72"]) {
      const d = parse(policy(null, bad));
      expect(d.ok).toBe(false);
      expect(d.problems[0]!.line).toBe(9); // the pending_ttl line
    }
    expect(parse(policy("31d", null)).problems.map((p) => p.code)).toContain("JIT_DURATION_TOO_LONG");
  });

  it("expires at the TTL to the millisecond, never on an unreadable creation time", () => {
    expect(isPendingExpired(0, H, H - 1)).toBe(false);
    expect(isPendingExpired(0, H, H)).toBe(true);
    expect(isPendingExpired(Number.NaN, H, 10 * H)).toBe(false);
  });

  it("the comment mentions the author and quotes the path inertly (I19)", () => {
    const body = pendingTtlComment({ author: "alice", path: "access-requests/orders-prod/x`y @mallory.yaml", ttlMs: 72 * H }).text;
    expect(body).toContain("@alice, this request");
    expect(body).toContain("pending_ttl of 3d");
    expect(body).not.toMatch(/(^|[^`])@mallory/);
  });
});

describe("jit validate judges pending_ttl like the app", () => {
  it("a valid pending_ttl passes; a malformed one is an error on its line (exit 1)", async () => {
    const check = async (yaml: string) => {
      const dir = mkdtempSync(join(tmpdir(), "jit-ttl-"));
      try {
        mkdirSync(join(dir, "policies"));
        mkdirSync(join(dir, ".github"));
        writeFileSync(join(dir, "policies/orders.yaml"), yaml);
        writeFileSync(join(dir, ".github/CODEOWNERS"), "/access-requests/ @acme/dba\n");
        const io = captureIo({}, dir);
        const code = await run(["--repo", dir, "--format", "json"], io);
        return { code, report: JSON.parse(io.stdout.join("\n")) as { files: { path: string; errors: { code: string; line: number }[] }[] } };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    expect((await check(policy("7d", "72h"))).code).toBe(0);
    const bad = await check(policy(null, "3w"));
    expect(bad.code).toBe(1);
    const errors = bad.report.files.flatMap((f) => f.errors);
    expect(errors.map((e) => [e.code, e.line])).toEqual([["JIT_SCHEMA", 9]]);
  });
});
