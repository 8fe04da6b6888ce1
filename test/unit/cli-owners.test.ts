import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { captureIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";

const dirs: string[] = [];

function repo(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "jit-owners-"));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function owners(args: string[], cwd: string) {
  const io = captureIo({}, cwd);
  const code = await main(["owners", ...args], io);
  return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}

describe("jit owners", () => {
  it("prints owners and the deciding line as JSON", async () => {
    const dir = repo({ ".github/CODEOWNERS": "* @acme/security\n/access-requests/ @acme/dba\n/access-requests/tmp/\n" });
    const r = await owners(["--format", "json", "access-requests/orders-prod/a.yaml", "./README.md", "access-requests/tmp/x"], dir);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      errors: [],
      paths: [
        { path: "access-requests/orders-prod/a.yaml", owners: ["@acme/dba"], line: 2 },
        { path: "README.md", owners: ["@acme/security"], line: 1 },
        { path: "access-requests/tmp/x", owners: [], line: 3 },
      ],
    });
  });

  it("reports CODEOWNERS errors with line numbers and exits 1", async () => {
    const dir = repo({ CODEOWNERS: "* @a\n!/x/ @b\n/y/[ab] @c\n/z/ not-an-owner\n" });
    const r = await owners(["--format", "json", "x/file"], dir);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.out) as { errors: { line: number; message: string }[]; paths: unknown[] };
    expect(out.errors.map((e) => e.line)).toEqual([2, 3, 4]);
    expect(out.paths).toEqual([{ path: "x/file", owners: ["@a"], line: 1 }]);

    const text = await owners(["x/file"], dir);
    expect(text.code).toBe(1);
    expect(text.out).toContain("CODEOWNERS:2: error: negation");
    expect(text.out).toContain("x/file  @a  (line 1)");
  });

  it("uses .github/CODEOWNERS over the root and docs/ files; --repo points elsewhere", async () => {
    const dir = repo({ ".github/CODEOWNERS": "* @first\n", CODEOWNERS: "* @second\n", "docs/CODEOWNERS": "* @third\n" });
    const r = await owners(["--repo", dir, "--format", "json", "a"], tmpdir());
    expect(JSON.parse(r.out).paths).toEqual([{ path: "a", owners: ["@first"], line: 1 }]);
    const text = await owners(["--repo", dir, "a"], tmpdir());
    expect(text.out.split("\n")).toEqual(["CODEOWNERS: .github/CODEOWNERS", "a  @first  (line 1)"]);
  });

  it("without any CODEOWNERS every path is unowned and the exit status is 1", async () => {
    const dir = repo({ "README.md": "x" });
    const r = await owners(["--format", "json", "README.md"], dir);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toEqual({ errors: [], paths: [{ path: "README.md", owners: [], line: null }] });
    expect(r.err).toContain("no CODEOWNERS");
  });

  it("does not follow a symlinked CODEOWNERS", async () => {
    const dir = repo({ "elsewhere.txt": "* @mallory\n" });
    mkdirSync(join(dir, ".github"));
    symlinkSync(join(dir, "elsewhere.txt"), join(dir, ".github/CODEOWNERS"));
    const r = await owners(["--format", "json", "a"], dir);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toEqual({ errors: [{ line: 1, message: expect.stringContaining("symbolic link") }], paths: [{ path: "a", owners: [], line: null }] });
  });

  it("usage errors exit 2", async () => {
    const dir = repo({ CODEOWNERS: "* @a\n" });
    expect((await owners([], dir)).code).toBe(2);
    expect((await owners(["--format", "xml", "a"], dir)).code).toBe(2);
    expect((await owners(["--bogus", "a"], dir)).code).toBe(2);
    expect((await owners(["--repo", join(dir, "missing"), "a"], dir)).code).toBe(2);
    expect((await owners(["--help"], dir)).code).toBe(0);
  });
});
