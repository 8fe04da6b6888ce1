// `jit validate` is the same judge as the app for `start` and `break_glass`: the lead-time rules
// against the current time, and the break-glass rules (with --requester and --team).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { captureIo } from "../../src/cli/io.ts";
import { run } from "../../src/cli/validate.ts";

const POLICY = `databases:
  orders-prod:
    connection_env: ORDERS_PROD_DATABASE_URL
    roles:
      orders_readonly:
        max_duration: 8h
        approvals: 1
        approvers: ["@acme/dba"]
        max_lead_time: 1d
        break_glass: { requesters: ["@acme/oncall"], max_duration: 1h, retro_approval_within: 4h }
      orders_admin: { max_duration: 1h, approvals: 1, approvers: ["@acme/dba"] }
identities:
  alice: alice
  carol: carol
`;
const temps: string[] = [];
afterAll(() => { for (const t of temps) rmSync(t, { recursive: true, force: true }); });

async function codesFor(request: string, extra: string[] = []): Promise<{ code: number; codes: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), "jit-validate-timing-"));
  temps.push(dir);
  for (const [p, c] of Object.entries({ "policies/orders.yaml": POLICY, ".github/CODEOWNERS": "/access-requests/ @acme/dba\n", "access-requests/orders-prod/r-1.yaml": request })) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), c);
  }
  const io = captureIo({}, dir);
  const code = await run(["--repo", dir, "--format", "json", ...extra], io);
  const report = JSON.parse(io.stdout.join("\n")) as { files: { errors: { code: string }[] }[] };
  return { code, codes: report.files.flatMap((f) => f.errors.map((e) => e.code)) };
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const req = (extra: string, role = "orders_readonly", duration = "30m") => `role: ${role}\nduration: ${duration}\nreason: maintenance\n${extra}`;

describe("jit validate: start", () => {
  it("accepts a start within max_lead_time and refuses past, too far, no offset and roles without max_lead_time", async () => {
    expect(await codesFor(req(`start: "${iso(Date.now() + 3_600_000)}"\n`))).toEqual({ code: 0, codes: [] });
    expect((await codesFor(req(`start: "${iso(Date.now() - 60_000)}"\n`))).codes).toEqual(["JIT_START_PAST"]);
    expect((await codesFor(req(`start: "${iso(Date.now() + 2 * 86_400_000)}"\n`))).codes).toEqual(["JIT_START_TOO_FAR"]);
    expect((await codesFor(req(`start: "${iso(Date.now() + 3_600_000).replace("Z", "")}"\n`))).codes).toEqual(["JIT_START_INVALID"]);
    const admin = await codesFor(req(`start: "${iso(Date.now() + 3_600_000)}"\n`, "orders_admin"));
    expect(admin).toEqual({ code: 1, codes: ["JIT_START_NOT_ALLOWED"] });
  });
});

describe("jit validate: break_glass", () => {
  it("judges the role and duration without --requester, and who asks with it", async () => {
    expect(await codesFor(req("break_glass: true\n"))).toEqual({ code: 0, codes: [] });
    expect((await codesFor(req("break_glass: true\n", "orders_readonly", "2h"))).codes).toEqual(["JIT_BREAK_GLASS_DURATION"]);
    expect((await codesFor(req("break_glass: true\n", "orders_admin"))).codes).toEqual(["JIT_BREAK_GLASS_NOT_ALLOWED"]);
    expect((await codesFor(req("break_glass: true\n"), ["--requester", "carol"])).codes).toEqual(["JIT_BREAK_GLASS_NOT_ALLOWED"]);
    expect((await codesFor(req("break_glass: true\n"), ["--requester", "carol", "--team", "@acme/oncall"])).codes).toEqual([]);
  });
});
