// `jit validate` over temporary checkouts: exit codes, the three output formats, what the disk
// walk reports (misplaced files, symlinks, oversized files), and the invalid fixture corpus.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { captureIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { run } from "../../src/cli/validate.ts";
import { GOOD, POLICY_FIXTURE } from "./support/core-fixtures.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const FIXTURES = fileURLToPath(new URL("../fixtures/requests/invalid", import.meta.url));
const POLICY = readFileSync(POLICY_FIXTURE);
const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

/** Request folders owned by the team the test policy names as every role's approvers. */
const CODEOWNERS = "/access-requests/ @acme/dba\n";

/** A checkout with the test policy and CODEOWNERS plus the given files (path -> content). */
function repo(files: Record<string, string | Uint8Array> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "jit-validate-"));
  temps.push(dir);
  const all = { "policies/orders.yaml": POLICY, ".github/CODEOWNERS": CODEOWNERS, ...files };
  for (const [p, content] of Object.entries(all)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), content);
  }
  return dir;
}

async function validate(args: string[], cwd = ROOT) {
  const io = captureIo({}, cwd);
  const code = await run(args, io);
  return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}

interface JsonReport {
  ok: boolean;
  files: { path: string; ok: boolean; errors: { code: string; message: string; line: number; column: number }[] }[];
}

async function json(dir: string, extra: string[] = []): Promise<{ code: number; report: JsonReport }> {
  const r = await validate(["--repo", dir, "--format", "json", ...extra]);
  return { code: r.code, report: JSON.parse(r.out) as JsonReport };
}

const GOOD_PATH = "access-requests/orders-prod/alice-inc-1234.yaml";

describe("jit validate", () => {
  it("exits 0 and prints the exact json shape when everything is valid", async () => {
    const dir = repo({ [GOOD_PATH]: GOOD });
    const { code, report } = await json(dir);
    expect(code).toBe(0);
    expect(report).toEqual({
      ok: true,
      files: [
        { path: GOOD_PATH, ok: true, errors: [] },
        { path: "policies/orders.yaml", ok: true, errors: [] },
      ],
    });
  });

  describe("invalid fixtures (test/fixtures/requests/invalid) each exit 1 with the right code and line", () => {
    const cases = JSON.parse(readFileSync(join(FIXTURES, "cases.json"), "utf8")) as Record<string, { code: string; line: number; column?: number; args?: string[] }>;
    const onDisk = readdirSync(FIXTURES).filter((f) => f.endsWith(".yaml")).sort();
    it("every fixture has an expectation and every expectation a fixture", () => {
      expect(Object.keys(cases).sort()).toEqual(onDisk);
    });
    for (const [name, want] of Object.entries(cases)) {
      it(`${name}: ${want.code} at line ${want.line}`, async () => {
        const path = `access-requests/orders-prod/${name}`;
        const dir = repo({ [path]: readFileSync(join(FIXTURES, name)) });
        const { code, report } = await json(dir, want.args ?? []);
        expect(code).toBe(1);
        expect(report.ok).toBe(false);
        const file = report.files.find((f) => f.path === path);
        expect(file?.ok).toBe(false);
        expect(file?.errors[0]).toMatchObject({ code: want.code, line: want.line, ...(want.column ? { column: want.column } : {}) });
        expect(new Set(file?.errors.map((e) => e.code))).toEqual(new Set([want.code]));
        expect(report.files.find((f) => f.path === "policies/orders.yaml")?.ok).toBe(true);
      });
    }
  });

  it("text output names file, line, code, message and a fix, and says requester checks were skipped", async () => {
    const dir = repo({ [GOOD_PATH]: "role: orders_readonly\nduration: 9h\nreason: x\nticket: INC-1\n" });
    const r = await validate(["--repo", dir]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`error ${GOOD_PATH}:2:11 JIT_DURATION_TOO_LONG: duration 9h is over the maximum of 8h for orders_readonly`);
    expect(r.out).toMatch(/fix: ask for at most 8h/);
    expect(r.out).toContain("ok    policies/orders.yaml");
    expect(r.out).toContain("2 files checked: 1 valid, 1 invalid (1 error)");
    expect(r.out).toMatch(/Requester checks were skipped/);
  });

  it("github output is one escaped workflow command per problem", async () => {
    const dir = repo({ [GOOD_PATH]: "role: orders_readonly\nduration: 2h\nreason: 100%\nticket: INC-1\nadmin: true\n\"a%b\": 1\n" });
    const r = await validate(["--repo", dir, "--format", "github"]);
    expect(r.code).toBe(1);
    const lines = r.out.split("\n").filter((l) => l.startsWith("::"));
    expect(lines).toEqual([
      '::error file=access-requests/orders-prod/alice-inc-1234.yaml,line=5,col=1,title=JIT_SCHEMA::unknown field "admin" (fix: remove it; the allowed fields are role, duration, reason, ticket, user. Unknown fields are rejected, never ignored)',
      '::error file=access-requests/orders-prod/alice-inc-1234.yaml,line=6,col=1,title=JIT_SCHEMA::unknown field "a%25b" (fix: remove it; the allowed fields are role, duration, reason, ticket, user. Unknown fields are rejected, never ignored)',
    ]);
    expect(r.out).toContain("2 files checked: 1 valid, 1 invalid (2 errors)");
  });

  it("reports misplaced files under access-requests/ as JIT_PATH_INVALID", async () => {
    const dir = repo({
      [GOOD_PATH]: GOOD,
      "access-requests/orders-prod/Alice.yaml": GOOD,
      "access-requests/orders-prod/bob.yml": GOOD,
      "access-requests/orders-prod/sub/carol.yaml": GOOD,
      "access-requests/README.md": "# notes\n",
      "access-requests/orders_prod/dave.yaml": GOOD,
    });
    const { code, report } = await json(dir);
    expect(code).toBe(1);
    const bad = report.files.filter((f) => !f.ok);
    expect(bad.map((f) => f.path).sort()).toEqual([
      "access-requests/README.md",
      "access-requests/orders-prod/Alice.yaml",
      "access-requests/orders-prod/bob.yml",
      "access-requests/orders-prod/sub/carol.yaml",
      "access-requests/orders_prod/dave.yaml",
    ]);
    for (const f of bad) expect(f.errors[0]).toMatchObject({ code: "JIT_PATH_INVALID", line: 1, column: 1 });
  });

  it("never follows symlinks: a linked file or directory is JIT_PATH_INVALID", async () => {
    const dir = repo({ [GOOD_PATH]: GOOD, "elsewhere/secret.yaml": GOOD });
    symlinkSync(join(dir, "elsewhere/secret.yaml"), join(dir, "access-requests/orders-prod/linked.yaml"));
    symlinkSync(join(dir, "access-requests/orders-prod"), join(dir, "access-requests/mirror"));
    const { code, report } = await json(dir);
    expect(code).toBe(1);
    const bad = report.files.filter((f) => !f.ok).map((f) => [f.path, f.errors[0]?.code]);
    expect(bad).toEqual([
      ["access-requests/mirror", "JIT_PATH_INVALID"],
      ["access-requests/orders-prod/linked.yaml", "JIT_PATH_INVALID"],
    ]);
    // Named explicitly, through the linked directory, it is still a link.
    const named = await json(dir, [join(dir, "access-requests/mirror/alice-inc-1234.yaml")]);
    expect(named.report.files.find((f) => f.path.startsWith("access-requests/"))?.errors[0]?.code).toBe("JIT_PATH_INVALID");
  });

  it("reads at most the cap of an oversized file and reports JIT_FILE_TOO_LARGE", async () => {
    const dir = repo({ [GOOD_PATH]: `${GOOD}# ${"x".repeat(1024 * 1024)}\n` });
    const { code, report } = await json(dir);
    expect(code).toBe(1);
    expect(report.files[0]?.errors).toEqual([expect.objectContaining({ code: "JIT_FILE_TOO_LARGE", line: 1, column: 1 })]);
  });

  it("validates only the given paths (files or directories), relative to the working directory", async () => {
    const dir = repo({
      [GOOD_PATH]: GOOD,
      "access-requests/orders-prod/broken.yaml": "role: [x]\n",
      "access-requests/billing-prod/carol-1.yaml": "role: billing_readonly\nduration: 1h\nreason: x\n",
    });
    const io = captureIo({}, join(dir, "access-requests"));
    expect(await run(["--repo", "..", "--format", "json", "orders-prod/alice-inc-1234.yaml", "billing-prod"], io)).toBe(0);
    const report = JSON.parse(io.stdout.join("")) as JsonReport;
    expect(report.files.map((f) => f.path)).toEqual(["access-requests/billing-prod/carol-1.yaml", GOOD_PATH, "policies/orders.yaml"]);
  });

  it("with --requester and --team, runs the requester checks", async () => {
    const dir = repo({ [GOOD_PATH]: GOOD });
    expect((await json(dir, ["--requester", "Alice", "--team", "@Acme/Engineering"])).code).toBe(0);
    const r = await validate(["--repo", dir, "--requester", "alice"]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/JIT_REQUESTER_NOT_ALLOWED: .*could not be checked/);
    expect(r.out).toMatch(/pass --team/);
  });

  it("reports invalid policies, skips policy checks on requests, and exits 1", async () => {
    const dir = repo({
      "policies/zz-extra.yaml": "databases:\n  orders-prod:\n    connection_env: OTHER_URL\n    roles:\n      orders_readonly: { max_duration: 1h, approvals: 1, approvers: [x] }\n",
      "policies/old.yml": "identities: {}\n",
      [GOOD_PATH]: GOOD,
    });
    const r = await validate(["--repo", dir]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("error policies/zz-extra.yaml:2:3 JIT_POLICY_CONFLICT");
    expect(r.out).toContain("error policies/old.yml:1:1 JIT_POLICY_INVALID");
    expect(r.out).toContain(`ok    ${GOOD_PATH}`);
    expect(r.out).toMatch(/Policy checks on requests were skipped/);
  });

  it("exits 2 on usage and configuration errors", async () => {
    const dir = repo();
    const empty = mkdtempSync(join(tmpdir(), "jit-validate-empty-"));
    temps.push(empty);
    for (const args of [
      ["--bogus"],
      ["--format", "xml"],
      ["--repo", join(dir, "nope")],
      ["--repo", empty],
      ["--repo", dir, "--team", "@acme/dba"],
      ["--repo", dir, "--requester", "not a login"],
      ["--repo", dir, "access-requests/missing.yaml"],
      ["--repo", dir, "/etc/passwd"],
    ]) {
      const r = await validate(args, dir);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err).toMatch(/^jit validate: /);
      expect(r.err).toMatch(/usage: jit validate/);
    }
    expect((await validate(["--help"])).code).toBe(0);
  });

  it("is registered in the jit command table", async () => {
    const io = captureIo({}, repo({ [GOOD_PATH]: GOOD }));
    expect(await main(["validate", "--format", "json"], io)).toBe(0);
    expect(JSON.parse(io.stdout.join("")).ok).toBe(true);
  });

  it("the real binary exits 0 on this repository", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, "bin/jit.mjs"), "validate", "--format", "json"], { cwd: ROOT });
    const report = JSON.parse(stdout) as JsonReport;
    expect(report.ok).toBe(true);
    expect(report.files.map((f) => f.path)).toEqual(expect.arrayContaining(["policies/orders.yaml", GOOD_PATH]));
  }, 30_000);

  it("the real binary exits 1 on an invalid request", async () => {
    const dir = repo({ [GOOD_PATH]: "role: orders_readonly\nduration: 2h\nreason: x\nticket: INC-1\nadmin: true\n" });
    const err = await promisify(execFile)(process.execPath, [join(ROOT, "bin/jit.mjs"), "validate", "--repo", dir, "--format", "github"]).catch((e: { code: number; stdout: string }) => e);
    expect("code" in err && err.code).toBe(1);
    expect(err.stdout).toMatch(/^::error file=access-requests\/orders-prod\/alice-inc-1234\.yaml,line=5,col=1,title=JIT_SCHEMA::/m);
  }, 30_000);
});
