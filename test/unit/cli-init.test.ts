// `jit init`: a fresh access repository that passes `jit validate`, and never a file overwritten.
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { run as init } from "../../src/cli/init.ts";
import { captureIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { run as validate } from "../../src/cli/validate.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SHA = "0123456789abcdef0123456789abcdef01234567";
const SOURCE = ["--source", `acme/jit-access@${SHA}`];
const EXPECTED = [
  ".github/CODEOWNERS",
  ".github/workflows/revoke-expired.yml",
  ".github/workflows/validate.yml",
  "README.md",
  "policies/example.yaml",
  "schemas/access-request.schema.json",
  "schemas/policy.schema.json",
];

const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "jit-init-"));
  temps.push(d);
  return d;
}

/** Every file below dir, repository-relative, sorted. */
function filesIn(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as { name: string; parentPath: string; isFile(): boolean }[])
    .filter((d) => d.isFile())
    .map((d) => relative(dir, join(d.parentPath, d.name)).split("\\").join("/"))
    .sort();
}

async function runInit(args: string[], cwd: string) {
  const io = captureIo({}, cwd);
  const code = await init(args, io);
  return { code, out: io.stdout, err: io.stderr.join("\n") };
}

describe("jit init", () => {
  it("writes the scaffold into a fresh directory and prints each file it wrote", async () => {
    const parent = tempDir();
    const r = await runInit(["repo", ...SOURCE], parent);
    expect(r.code).toBe(0);
    const dir = join(parent, "repo");
    expect(filesIn(dir)).toEqual(EXPECTED);
    expect(r.out.filter((l) => l.startsWith("wrote ")).map((l) => l.slice(6)).sort()).toEqual(EXPECTED);
    // The schemas are this package's, byte for byte.
    for (const s of ["access-request.schema.json", "policy.schema.json"]) {
      expect(readFileSync(join(dir, "schemas", s), "utf8")).toBe(readFileSync(join(ROOT, "schemas", s), "utf8"));
    }
    // The workflows run jit from the pinned source, never from the pull request.
    const wf = readFileSync(join(dir, ".github/workflows/validate.yml"), "utf8");
    expect(wf).toContain("repository: acme/jit-access");
    expect(wf).toContain(`ref: ${SHA}`);
    expect(readFileSync(join(dir, "README.md"), "utf8")).toMatch(/access-requests\/<database>\/<request-id>\.yaml/);
    for (const f of EXPECTED) expect(lstatSync(join(dir, f)).mode & 0o777).toBe(0o644);
  });

  it("the scaffold passes jit validate, also with a request in it, and with --org", async () => {
    const dir = tempDir();
    expect((await runInit([...SOURCE, "--org", "Example-Org"], dir)).code).toBe(0);
    const io = captureIo({}, join(dir, "policies"));
    expect(await validate(["--format", "json"], io)).toBe(0);
    expect(JSON.parse(io.stdout.join(""))).toEqual({ ok: true, files: [{ path: "policies/example.yaml", ok: true, errors: [] }] });
    expect(readFileSync(join(dir, ".github/CODEOWNERS"), "utf8")).toContain("/access-requests/    @Example-Org/dba");
    // A request as the README shows it validates too.
    mkdirSync(join(dir, "access-requests/orders-prod"), { recursive: true });
    writeFileSync(join(dir, "access-requests/orders-prod/alice-inc-1234.yaml"), "role: orders_readonly\nduration: 2h\nreason: Investigate INC-1234\nticket: INC-1234\n");
    const io2 = captureIo({}, dir);
    expect(await validate([], io2)).toBe(0);
  });

  it("refuses to overwrite: one existing file stops it with JIT_INIT_FILE_EXISTS and nothing written", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "policies"));
    writeFileSync(join(dir, "policies/example.yaml"), "mine\n");
    const r = await runInit(SOURCE, dir);
    expect(r.code).toBe(1);
    expect(r.err).toContain("jit init: JIT_INIT_FILE_EXISTS: policies/example.yaml exists");
    expect(r.err).toContain("nothing was written");
    expect(r.out).toEqual([]);
    expect(filesIn(dir)).toEqual(["policies/example.yaml"]);
    expect(readFileSync(join(dir, "policies/example.yaml"), "utf8")).toBe("mine\n");
  });

  it("a second run over its own scaffold changes nothing and lists every file", async () => {
    const dir = tempDir();
    expect((await runInit(SOURCE, dir)).code).toBe(0);
    const before = new Map(EXPECTED.map((f) => [f, readFileSync(join(dir, f), "utf8")]));
    const r = await runInit([...SOURCE, "--org", "other"], dir);
    expect(r.code).toBe(1);
    for (const f of EXPECTED) expect(r.err).toContain(`JIT_INIT_FILE_EXISTS: ${f} exists`);
    for (const [f, text] of before) expect(readFileSync(join(dir, f), "utf8")).toBe(text);
  });

  it("never writes through a link: a dangling link in a target's place, or a linked folder on its way", async () => {
    const dir = tempDir();
    const outside = tempDir();
    symlinkSync(join(outside, "owned.txt"), join(dir, "README.md")); // dangling
    symlinkSync(outside, join(dir, "schemas"));
    const r = await runInit(SOURCE, dir);
    expect(r.code).toBe(1);
    expect(r.err).toContain("JIT_INIT_FILE_EXISTS: README.md exists");
    expect(r.err).toContain("JIT_INIT_FILE_EXISTS: schemas is a symbolic link, needed for schemas/policy.schema.json");
    expect(readdirSync(outside)).toEqual([]);
    expect(existsSync(join(dir, "policies"))).toBe(false);
  });

  it("a file where a folder belongs blocks too", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, ".github"), "not a folder\n");
    const r = await runInit(SOURCE, dir);
    expect(r.code).toBe(1);
    expect(r.err).toContain("JIT_INIT_FILE_EXISTS: .github is not a folder, needed for .github/CODEOWNERS");
    expect(filesIn(dir)).toEqual([".github"]);
  });

  it("usage errors exit 2 and write nothing", async () => {
    const dir = tempDir();
    for (const args of [
      ["a", "b", ...SOURCE],
      ["--org", "bad org", ...SOURCE],
      ["--source", "acme/jit-access"],
      ["--source", "acme/jit-access@main"],
      ["--source", "acme/jit-access@0123456"],
      ["--source", "../x@v1"],
      ["--bogus"],
    ]) {
      const r = await runInit(args, dir);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err).toMatch(/^jit init: /);
    }
    expect(readdirSync(dir)).toEqual([]);
    expect((await runInit(["--help"], dir)).code).toBe(0);
  });

  it("--mode actions writes the check, review, grant and sweep workflows instead of the backstop, and passes jit validate", async () => {
    const dir = tempDir();
    const r = await runInit([...SOURCE, "--mode", "actions", "--branch", "trunk"], dir);
    expect(r.code, r.err).toBe(0);
    const workflows = filesIn(dir).filter((f) => f.startsWith(".github/workflows/"));
    expect(workflows).toEqual([".github/workflows/jit-check.yml", ".github/workflows/jit-grant.yml", ".github/workflows/jit-review.yml", ".github/workflows/jit-sweep.yml", ".github/workflows/validate.yml"]);
    const grant = readFileSync(join(dir, ".github/workflows/jit-grant.yml"), "utf8");
    expect(grant).toContain("branches: [trunk]");
    expect(grant).toContain("node .jit/bin/jit.mjs actions grant");
    expect(grant).toContain(`ref: ${SHA}`);
    expect(readFileSync(join(dir, "README.md"), "utf8")).toContain("`jit-database`");
    expect(r.out.at(-1)).toContain("jit-app and jit-database environments");
    const io = captureIo({}, dir);
    expect(await validate([], io)).toBe(0);
    for (const bad of [["--mode", "lambda"], ["--branch", "x"], ["--mode", "actions", "--branch", "a b"], ["--mode", "actions", "--branch", "[x]"]]) {
      expect((await runInit([...SOURCE, ...bad], tempDir())).code, bad.join(" ")).toBe(2);
    }
  });

  it("is registered in the jit command table", async () => {
    const dir = tempDir();
    const io = captureIo({}, dir);
    expect(await main(["init", ...SOURCE, "--source", "acme/jit-access@v1.2.3"], io)).toBe(0);
    expect(readFileSync(join(dir, ".github/workflows/revoke-expired.yml"), "utf8")).toContain("ref: v1.2.3");
  });
});
