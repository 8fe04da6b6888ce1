// I16 in `jit validate`: one role on one cluster under two database keys with different rules,
// told by connection variable names and values (values never printed), and the pure rule itself.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { captureIo } from "../../src/cli/io.ts";
import { run } from "../../src/cli/validate.ts";
import { sameConnection, sharedRoleProblems } from "../../src/core/shared-roles.ts";
import type { Policy, RolePolicy } from "../../src/core/types.ts";

const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

const ROLE = (max: string, approvers = '["@acme/dba"]') => [`        max_duration: ${max}`, "        approvals: 1", `        approvers: ${approvers}`];

function repo(second: { env: string; max?: string; approvers?: string; role?: string }): string {
  const dir = mkdtempSync(join(tmpdir(), "jit-shared-"));
  temps.push(dir);
  mkdirSync(join(dir, "policies"));
  // Owners that can approve both keys, so the only finding left is the one under test.
  mkdirSync(join(dir, ".github"));
  writeFileSync(join(dir, ".github", "CODEOWNERS"), "/access-requests/ @acme/dba\n");
  writeFileSync(join(dir, "policies", "orders.yaml"), [
    "databases:", "  orders-prod:", "    connection_env: ORDERS_PROD_DATABASE_URL", "    roles:", "      orders_readonly:", ...ROLE("8h"),
    "identities:", "  alice: alice", ""].join("\n"));
  writeFileSync(join(dir, "policies", "reports.yaml"), [
    "databases:", "  reports-prod:", `    connection_env: ${second.env}`, "    roles:", `      ${second.role ?? "orders_readonly"}:`,
    ...ROLE(second.max ?? "8h", second.approvers), ""].join("\n"));
  return dir;
}

async function validate(dir: string, env: NodeJS.ProcessEnv = {}) {
  const io = captureIo(env, dir);
  const code = await run(["--repo", dir], io);
  return { code, out: io.stdout.join("\n") };
}

const SECRET = "Sentinel-Secret-42";

describe("I16: jit validate refuses one role under two keys on one cluster with different rules", () => {
  it("I16: the same connection_env with a longer duration under the second key", async () => {
    const r = await validate(repo({ env: "ORDERS_PROD_DATABASE_URL", max: "24h" }));
    expect(r.code).toBe(1);
    expect(r.out).toContain('error policies/reports.yaml:1:1 JIT_ROLE_SHARED_ACROSS_KEYS: role "orders_readonly" is grantable under database keys "orders-prod" and "reports-prod" with different rules, and both reach the same connection variable ORDERS_PROD_DATABASE_URL');
  });

  it("I16: two variables with the same value, or the same host and port with another database, never printing values", async () => {
    const url = `postgresql://jit_app:${SECRET}@db.internal:5433/orders`;
    const same = await validate(repo({ env: "REPORTS_DATABASE_URL", approvers: '["mallory"]' }), { ORDERS_PROD_DATABASE_URL: url, REPORTS_DATABASE_URL: url });
    expect(same.code).toBe(1);
    expect(same.out).toContain("both reach the same connection (ORDERS_PROD_DATABASE_URL and REPORTS_DATABASE_URL hold the same value)");
    const host = await validate(repo({ env: "REPORTS_DATABASE_URL", approvers: '["mallory"]' }),
      { ORDERS_PROD_DATABASE_URL: url, REPORTS_DATABASE_URL: `postgres://other:${SECRET}x@DB.internal:5433/reports?sslmode=require` });
    expect(host.code).toBe(1);
    expect(host.out).toContain("both reach the same server (ORDERS_PROD_DATABASE_URL and REPORTS_DATABASE_URL name the same host and port)");
    for (const r of [same, host]) {
      expect(r.out).not.toContain(SECRET);
      expect(r.out).not.toContain("db.internal");
    }
  });

  it("I16: equal rules, other roles, another port or unset variables pass", async () => {
    expect((await validate(repo({ env: "ORDERS_PROD_DATABASE_URL" }))).code).toBe(0);
    expect((await validate(repo({ env: "ORDERS_PROD_DATABASE_URL", max: "24h", role: "reports_readonly" }))).code).toBe(0);
    expect((await validate(repo({ env: "REPORTS_DATABASE_URL", max: "24h" }),
      { ORDERS_PROD_DATABASE_URL: "postgresql://a@db:5432/x", REPORTS_DATABASE_URL: "postgresql://a@db:5433/x" })).code).toBe(0);
    expect((await validate(repo({ env: "REPORTS_DATABASE_URL", max: "24h" }))).code).toBe(0);
  });
});

describe("sharedRoleProblems", () => {
  const rule = (over: Partial<RolePolicy> = {}): RolePolicy => ({ maxDuration: "8h", maxDurationMs: 8 * 3_600_000, approvals: 1, approvers: ["@acme/dba"], requireTicket: false, ...over });
  const policy = (b: RolePolicy, standing?: string[]): Policy => ({
    databases: {
      a: { connectionEnv: "A", roles: { r: rule() }, source: "policies/a.yaml" },
      b: { connectionEnv: "B", roles: { r: b }, source: "policies/b.yaml", ...(standing ? { standingAccess: { r: standing } } : {}) },
    },
    identities: {},
  });
  const always = () => "the same cluster";

  it.each<[string, RolePolicy, string[] | undefined]>([
    ["approvals", rule({ approvals: 2 }), undefined],
    ["requesters", rule({ requesters: ["@acme/dba"] }), undefined],
    ["ticket", rule({ requireTicket: true }), undefined],
    ["standing access", rule(), ["reporting"]],
  ])("I16: differing %s count as different rules", (_what, b, standing) => {
    expect(sharedRoleProblems(policy(b, standing), always).map((p) => p.code)).toEqual(["JIT_ROLE_SHARED_ACROSS_KEYS"]);
  });

  it("I16: approver order does not matter, and another cluster never conflicts", () => {
    expect(sharedRoleProblems(policy(rule({ approvers: ["@acme/dba"] })), always)).toEqual([]);
    expect(sharedRoleProblems(policy(rule({ approvals: 3 })), () => null)).toEqual([]);
    expect(sharedRoleProblems(policy(rule({ approvals: 3 })), always, { key: "a", role: "other" })).toEqual([]);
  });

  it("sameConnection never returns a value", () => {
    const p = policy(rule());
    expect(sameConnection(p, { A: "postgresql://u:pw@h:1/d", B: "postgresql://v:pw2@h:1/e" })("a", "b")).toBe("the same server (A and B name the same host and port)");
    expect(sameConnection(p, { A: "host=h port=1", B: "dbname=x host=H port=1 password=pw" })("a", "b")).toBe("the same server (A and B name the same host and port)");
    expect(sameConnection(p, { A: "host=h port=1", B: "host=h port=2" })("a", "b")).toBeNull();
    expect(sameConnection(p, { A: "postgresql://h/d", B: "host=h" })("a", "b")).toBe("the same server (A and B name the same host and port)");
  });
});
