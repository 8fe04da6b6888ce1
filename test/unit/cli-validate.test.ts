// `jit validate` over temporary checkouts: exit codes, the three output formats, what the disk
// walk reports (misplaced files, symlinks, oversized files), and the invalid fixture corpus.
import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
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
  files: { path: string; ok: boolean; errors: { code: string; message: string; line: number; column: number; fix: string }[] }[];
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
      '::error file=access-requests/orders-prod/alice-inc-1234.yaml,line=5,col=1,title=JIT_SCHEMA::unknown field "admin" (fix: remove it; the allowed fields are role, duration, reason, ticket, user, start, break_glass. Unknown fields are rejected, never ignored)',
      '::error file=access-requests/orders-prod/alice-inc-1234.yaml,line=6,col=1,title=JIT_SCHEMA::unknown field "a%25b" (fix: remove it; the allowed fields are role, duration, reason, ticket, user, start, break_glass. Unknown fields are rejected, never ignored)',
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

  it("I2: a policy file the app would refuse (symbolic link, executable) fails validation the same way", async () => {
    const dir = repo({ [GOOD_PATH]: GOOD, "elsewhere/billing.yaml": "identities: {}\n", "policies/tools.yaml": "identities: {}\n" });
    symlinkSync(join(dir, "elsewhere/billing.yaml"), join(dir, "policies/billing.yaml"));
    chmodSync(join(dir, "policies/tools.yaml"), 0o755);
    const { code, report } = await json(dir);
    expect(code).toBe(1);
    expect(report.files.filter((f) => !f.ok).map((f) => [f.path, f.errors[0]?.code, f.errors[0]?.message])).toEqual([
      ["policies/billing.yaml", "JIT_POLICY_INVALID", "a policy file must be a regular file (mode 100644), not a symbolic link (mode 120000)"],
      ["policies/tools.yaml", "JIT_POLICY_INVALID", "a policy file must be a regular file (mode 100644), not executable (mode 100755)"],
    ]);
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

describe("jit validate: what a new user sees", () => {
  it("text output prints the offending line with a caret under the column, and the fix", async () => {
    const dir = repo({ [GOOD_PATH]: "role: orders_readonyl\nduration: 2h\nreason: x\nticket: INC-1\n" });
    const r = await validate(["--repo", dir]);
    expect(r.code).toBe(1);
    const lines = r.out.split("\n");
    const at = lines.indexOf(`error ${GOOD_PATH}:1:7 JIT_ROLE_NOT_ALLOWED: role orders_readonyl is not grantable on orders-prod`);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(lines.slice(at + 1, at + 5)).toEqual([
      "        |",
      "      1 | role: orders_readonyl",
      "        |       ^",
      expect.stringMatching(/^ {6}fix: did you mean `orders_readonly`\? grantable roles on orders-prod: /),
    ]);
  });

  it("a YAML syntax error is shown at the bracket that is never closed", async () => {
    const dir = repo({ [GOOD_PATH]: "role: orders_readonly\nduration: [2h\nreason: x\n" });
    const r = await validate(["--repo", dir]);
    expect(r.out).toContain(`error ${GOOD_PATH}:2:11 JIT_YAML_SYNTAX: `);
    expect(r.out).toContain("      2 | duration: [2h\n        |           ^");
  });

  it("file names cannot write escape sequences to the terminal", async () => {
    const dir = repo({ [GOOD_PATH]: GOOD, "access-requests/orders-prod/x\u001b]0;pwned\u0007\u202e.yaml": GOOD });
    const r = await validate(["--repo", dir]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("error access-requests/orders-prod/x<U+001B>]0;pwned<U+0007><U+202E>.yaml:1:1 JIT_PATH_INVALID: ");
    expect([...r.out].some((c) => (c < " " && c !== "\n") || c === "\u202e")).toBe(false);
  });

  it("json keeps the fix of every error", async () => {
    const dir = repo({ [GOOD_PATH]: "role: orders_readonly\nduration: 2h\nreason: x\nticket: INC-1\ntciket: y\n" });
    const { code, report } = await json(dir);
    expect(code).toBe(1);
    expect(report.files.find((f) => f.path === GOOD_PATH)?.errors).toEqual([{
      code: "JIT_SCHEMA", message: 'unknown field "tciket"', line: 5, column: 1,
      fix: "did you mean `ticket`? remove it; the allowed fields are role, duration, reason, ticket, user, start, break_glass. Unknown fields are rejected, never ignored",
    }]);
    // A problem without a hint of its own gets the code's meaning as its fix.
    const dup = await json(repo({ [GOOD_PATH]: "role: a\nrole: b\n" }));
    expect(dup.report.files[0]?.errors[0]?.fix).toBe("keep exactly one of them");
  });

  it("an unknown database directory suggests the policy's database", async () => {
    const path = "access-requests/orders-prd/alice-1.yaml";
    const { report } = await json(repo({ [path]: GOOD }));
    expect(report.files.find((f) => f.path === path)?.errors[0]).toMatchObject({ code: "JIT_DATABASE_UNKNOWN", fix: expect.stringMatching(/^did you mean `orders-prod`\?/) });
  });

  it("finds the repository root from a subfolder, and PATHs stay relative to the working directory", async () => {
    const dir = repo({ [GOOD_PATH]: GOOD, "access-requests/orders-prod/bob-1.yaml": "role: nope\n" });
    const io = captureIo({}, join(dir, "access-requests/orders-prod"));
    expect(await run(["--format", "json", "alice-inc-1234.yaml"], io)).toBe(0);
    const report = JSON.parse(io.stdout.join("")) as JsonReport;
    expect(report.files.map((f) => f.path)).toEqual([GOOD_PATH, "policies/orders.yaml"]);
    // Everything, from a subfolder: bob-1.yaml is found and invalid.
    const all = captureIo({}, join(dir, "policies"));
    expect(await run(["--format", "json"], all)).toBe(1);
    expect((JSON.parse(all.stdout.join("")) as JsonReport).files.filter((f) => !f.ok).map((f) => f.path)).toEqual(["access-requests/orders-prod/bob-1.yaml"]);
  });

  it("a folder with .git and no policies/ is the root: it does not climb past a repository", async () => {
    const outer = repo();
    const inner = join(outer, "nested");
    mkdirSync(join(inner, ".git"), { recursive: true });
    mkdirSync(join(inner, "deep"));
    const r = await validate([], join(inner, "deep"));
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${inner} has no policies/ directory`);
  });
});

describe("jit validate: every role can be approved (JIT_NO_ELIGIBLE_OWNER)", () => {
  async function ownerErrors(files: Record<string, string>) {
    const { code, report } = await json(repo({ [GOOD_PATH]: GOOD, ...files }));
    return { code, errors: report.files.flatMap((f) => f.errors.map((e) => ({ path: f.path, ...e }))) };
  }
  it("passes when a team owns the request folder (membership is decided per review)", async () => {
    expect((await ownerErrors({})).code).toBe(0);
    expect((await ownerErrors({ ".github/CODEOWNERS": "/access-requests/orders-prod/ @acme/other-team\n/access-requests/billing-prod/ @acme/dba\n" })).code).toBe(0);
  });

  it("without a CODEOWNERS file, every role of every database is reported at its approvers", async () => {
    const dir = repo({ [GOOD_PATH]: GOOD });
    rmSync(join(dir, ".github/CODEOWNERS"));
    const { code, report } = await json(dir);
    expect(code).toBe(1);
    const policy = report.files.find((f) => f.path === "policies/orders.yaml");
    expect(policy?.errors.every((e) => e.code === "JIT_NO_ELIGIBLE_OWNER")).toBe(true);
    expect(policy?.errors[0]).toMatchObject({ line: 28, column: 20, fix: 'add .github/CODEOWNERS with a rule such as "/access-requests/billing-prod/ @acme/dba"' });
    // One per role: three of orders-prod and one of billing-prod.
    expect(policy?.errors).toHaveLength(4);
    expect(policy?.errors.map((e) => e.message)).toContainEqual("no request for orders_readonly on orders-prod can ever be approved: there is no CODEOWNERS file (.github/CODEOWNERS, CODEOWNERS or docs/CODEOWNERS)");
  });

  it("a rule that matches but names no owner leaves the folder unowned", async () => {
    const { code, errors } = await ownerErrors({ ".github/CODEOWNERS": "* @acme/dba\n/access-requests/orders-prod/\n" });
    expect(code).toBe(1);
    const mine = errors.filter((e) => e.code === "JIT_NO_ELIGIBLE_OWNER");
    expect(mine.length).toBeGreaterThan(0);
    for (const e of mine) expect(e.message).toMatch(/on orders-prod can ever be approved: .*line 2 leaves it without owners/);
  });

  it("a user owner who is not among a role's approvers cannot satisfy it", async () => {
    const dir = repo({ [GOOD_PATH]: GOOD, ".github/CODEOWNERS": "/access-requests/ @mallory\n" });
    // A policy whose approvers are logins only: an owner outside them can never approve.
    writeFileSync(join(dir, "policies/orders.yaml"), "databases:\n  orders-prod:\n    connection_env: ORDERS_PROD_DATABASE_URL\n    roles:\n      orders_readonly: { max_duration: 8h, approvals: 1, approvers: [alice, bob] }\nidentities: {}\n");
    const { code, report } = await json(dir);
    expect(code).toBe(1);
    expect(report.files.find((f) => f.path === "policies/orders.yaml")?.errors).toEqual([expect.objectContaining({
      code: "JIT_NO_ELIGIBLE_OWNER", line: 5, column: 69,
      message: expect.stringContaining("cannot satisfy the policy's approvers (alice, bob)"),
    })]);
  });

  it("an email owner or an owner only of other paths does not count either", async () => {
    for (const co of ["/access-requests/ dba@example.com\n", "/access-requests/billing-prod/ @acme/dba\n/policies/ @acme/dba\n", "/Access-Requests/ @acme/dba\n"]) {
      const { code, errors } = await ownerErrors({ ".github/CODEOWNERS": co });
      expect(code, co).toBe(1);
      expect(errors.some((e) => e.code === "JIT_NO_ELIGIBLE_OWNER" && /on orders-prod/.test(e.message)), co).toBe(true);
    }
  });

  it("a CODEOWNERS line GitHub would skip, after the rule that owns the folder, is reported on CODEOWNERS", async () => {
    const { code, errors } = await ownerErrors({ ".github/CODEOWNERS": "/access-requests/ @acme/dba\n!/access-requests/orders-prod/ @acme/dba\n" });
    expect(code).toBe(1);
    expect(errors.filter((e) => e.code === "JIT_CODEOWNERS_ERROR")).toEqual([expect.objectContaining({ path: ".github/CODEOWNERS", line: 2, column: 1 })]);
  });
});

describe("jit validate --format sarif", () => {
  it("is SARIF 2.1.0: tool jit, one rule per JIT code with its meaning, results with a region", async () => {
    const { CODES } = await import("../../src/core/codes.ts");
    const dir = repo({ [GOOD_PATH]: "role: orders_readonyl\nduration: 2h\nreason: x\nticket: INC-1\n", "access-requests/orders-prod/a b%.yaml": GOOD });
    const r = await validate(["--repo", dir, "--format", "sarif"]);
    expect(r.code).toBe(1);
    const sarif = JSON.parse(r.out) as {
      version: string; $schema: string;
      runs: { tool: { driver: { name: string; version: string; rules: { id: string; shortDescription: { text: string } }[] } }; results: { ruleId: string; ruleIndex: number; level: string; message: { text: string }; locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number; startColumn: number } } }[] }[] }[];
    };
    expect(sarif.version).toBe("2.1.0");
    expect(sarif.$schema).toMatch(/sarif-2\.1\.0/);
    expect(sarif.runs).toHaveLength(1);
    const run0 = sarif.runs[0]!;
    expect(run0.tool.driver.name).toBe("jit");
    expect(run0.tool.driver.version).toMatch(/^\d+\.\d+\.\d+/);
    const rules = run0.tool.driver.rules;
    expect(rules.map((x) => x.id)).toEqual(Object.keys(CODES).filter((c) => c !== "JIT_OK"));
    for (const rule of rules) expect(rule.shortDescription.text).toBe(CODES[rule.id as keyof typeof CODES]);
    const byUri = new Map(run0.results.map((x) => [x.locations[0]!.physicalLocation.artifactLocation.uri, x]));
    const role = byUri.get(GOOD_PATH)!;
    expect(role).toMatchObject({ ruleId: "JIT_ROLE_NOT_ALLOWED", level: "error", locations: [{ physicalLocation: { region: { startLine: 1, startColumn: 7 } } }] });
    expect(rules[role.ruleIndex]?.id).toBe("JIT_ROLE_NOT_ALLOWED");
    expect(role.message.text).toMatch(/not grantable[\s\S]*Fix: did you mean `orders_readonly`/);
    // Paths are URIs: a space or percent sign in a misplaced file's name is encoded.
    expect(byUri.get("access-requests/orders-prod/a%20b%25.yaml")?.ruleId).toBe("JIT_PATH_INVALID");
    expect(run0.results).toHaveLength(2);
  });

  it("a valid repository has no results", async () => {
    const r = await validate(["--repo", repo({ [GOOD_PATH]: GOOD }), "--format", "sarif"]);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out) as { runs: { results: unknown[] }[] }).runs[0]?.results).toEqual([]);
  });
});

describe("jit --version", () => {
  it("prints the package version and exits 0", async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    for (const flag of ["--version", "-V"]) {
      const io = captureIo();
      expect(await main([flag], io)).toBe(0);
      expect(io.stdout).toEqual([pkg.version]);
    }
  });
  it("unknown commands, even Object's own property names, are usage errors", async () => {
    for (const name of ["constructor", "toString", "__proto__", "bogus"]) {
      const io = captureIo();
      expect(await main([name], io)).toBe(2);
      expect(io.stderr[0]).toBe(`jit: unknown command "${name}"`);
    }
  });
});
