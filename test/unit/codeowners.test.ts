import { describe, expect, it } from "vitest";
import {
  codeownersFromBytes, erroneousLinesAfter, matchPattern, ownerKind, ownersOf, parseCodeowners, selectCodeowners,
} from "../../src/core/codeowners.ts";

// The example file of GitHub's "About code owners" documentation, and what it says each line means.
const GITHUB_EXAMPLE = `# This is a comment.
# Each line is a file pattern followed by one or more owners.

# These owners will be the default owners for everything in
# the repo. Unless a later match takes precedence,
# @global-owner1 and @global-owner2 will be requested for
# review when someone opens a pull request.
*       @global-owner1 @global-owner2

# Order is important; the last matching pattern takes the most
# precedence. When someone opens a pull request that only
# modifies JS files, only @js-owner and not the global
# owner(s) will be requested for a review.
*.js    @js-owner #This is an inline comment.

# You can also use email addresses if you prefer.
*.go docs@example.com

# Teams can be specified as code owners as well.
*.txt @octo-org/octocats

# @doctocat owns any files in the build/logs directory at the root of the repository
# and any of its subdirectories.
/build/logs/ @doctocat

# The \`docs/*\` pattern will match files like \`docs/getting-started.md\` but not further
# nested files like \`docs/build-app/troubleshooting.md\`.
docs/*  docs@example.com

# @octocat owns any file in an apps directory anywhere in your repository.
apps/ @octocat

# @doctocat owns any file in the \`/docs\` directory in the root of your repository
# and any of its subdirectories.
/docs/ @doctocat

# Any change inside the \`/scripts\` directory will require approval from @doctocat or @octocat.
/scripts/ @doctocat @octocat

# @octocat owns any file in a \`/logs\` directory such as \`/build/logs\`, \`/scripts/logs\`,
# and \`/deeply/nested/logs\`.
**/logs @octocat

# @octocat owns any file in the \`/apps\` directory except for \`/apps/github\`, whose owners are empty.
/apps/ @octocat
/apps/github
`;

describe("GitHub documentation examples", () => {
  const parsed = parseCodeowners(GITHUB_EXAMPLE);
  const owners = (path: string) => ownersOf(parsed, path).owners;

  it("parses without errors", () => {
    expect(parsed.errors).toEqual([]);
    expect(parsed.rules.map((r) => r.pattern)).toEqual([
      "*", "*.js", "*.go", "*.txt", "/build/logs/", "docs/*", "apps/", "/docs/", "/scripts/", "**/logs", "/apps/", "/apps/github",
    ]);
  });

  it("the default owners own everything not matched later", () => {
    expect(owners("README.md")).toEqual(["@global-owner1", "@global-owner2"]);
    expect(owners("src/main.rs")).toEqual(["@global-owner1", "@global-owner2"]);
  });

  it("a later match wins; an inline comment is not an owner", () => {
    expect(owners("index.js")).toEqual(["@js-owner"]);
    expect(owners("src/deep/app.js")).toEqual(["@js-owner"]);
  });

  it("email and team owners", () => {
    expect(owners("main.go")).toEqual(["docs@example.com"]);
    expect(owners("notes/a.txt")).toEqual(["@octo-org/octocats"]);
  });

  it("/build/logs/ owns the directory at the root and everything below it", () => {
    expect(owners("build/logs/today.log")).toEqual(["@octocat"]); // **/logs is later and also matches
    expect(ownersOf(parsed, "build/logs/today.log").line).toBe(parsed.rules.find((r) => r.pattern === "**/logs")!.line);
    expect(matchPattern("/build/logs/", "build/logs/a/b.log")).toBe(true);
    expect(matchPattern("/build/logs/", "x/build/logs/a.log")).toBe(false);
  });

  it("docs/* matches docs/getting-started.md but not docs/build-app/troubleshooting.md", () => {
    expect(matchPattern("docs/*", "docs/getting-started.md")).toBe(true);
    expect(matchPattern("docs/*", "docs/build-app/troubleshooting.md")).toBe(false);
  });

  it("apps/ matches an apps directory anywhere", () => {
    expect(matchPattern("apps/", "apps/web/index.ts")).toBe(true);
    expect(matchPattern("apps/", "services/apps/web/index.ts")).toBe(true);
    expect(matchPattern("apps/", "apps")).toBe(false);
  });

  it("/docs/ matches the root docs directory only", () => {
    expect(owners("docs/build-app/troubleshooting.md")).toEqual(["@doctocat"]);
    expect(matchPattern("/docs/", "guide/docs/x.md")).toBe(false);
  });

  it("/scripts/ lists two owners", () => {
    expect(owners("scripts/deploy.sh")).toEqual(["@doctocat", "@octocat"]);
  });

  it("**/logs matches logs directories at any depth", () => {
    for (const p of ["build/logs/a", "scripts/logs/b", "deeply/nested/logs/c"]) expect(owners(p)).toEqual(["@octocat"]);
  });

  it("/apps/github without owners leaves that subdirectory unowned", () => {
    expect(owners("apps/web/index.ts")).toEqual(["@octocat"]);
    expect(ownersOf(parsed, "apps/github/index.ts")).toEqual({ owners: [], line: parsed.rules.at(-1)!.line });
  });
});

describe("location precedence", () => {
  const all = new Map<string, string | undefined>([
    [".github/CODEOWNERS", "* @a"], ["CODEOWNERS", "* @b"], ["docs/CODEOWNERS", "* @c"],
  ]);

  it("case 23: .github/ beats the root, which beats docs/; only the first one is used", () => {
    expect(selectCodeowners(all)).toEqual({ path: ".github/CODEOWNERS", text: "* @a" });
    expect(selectCodeowners(new Map([...all, [".github/CODEOWNERS", undefined]]))).toEqual({ path: "CODEOWNERS", text: "* @b" });
    expect(selectCodeowners(new Map([["docs/CODEOWNERS", "* @c"]]))).toEqual({ path: "docs/CODEOWNERS", text: "* @c" });
    expect(selectCodeowners(new Map())).toBeNull();
  });

  it("an empty higher-precedence file still wins (the path is then unowned)", () => {
    const picked = codeownersFromBytes(new Map([
      [".github/CODEOWNERS", new Uint8Array()], ["CODEOWNERS", new TextEncoder().encode("* @b\n")],
    ]));
    expect(picked?.path).toBe(".github/CODEOWNERS");
    expect(ownersOf(picked!.parsed, "x")).toEqual({ owners: [], line: null });
  });

  it("a file GitHub ignores (over 3 MB, not UTF-8) yields no rules and an error", () => {
    const big = codeownersFromBytes(new Map([["CODEOWNERS", new Uint8Array(3 * 1024 * 1024 + 1)]]));
    expect(big).toEqual({ path: "CODEOWNERS", parsed: { rules: [], errors: [{ line: 1, message: expect.stringContaining("3 MB") }] } });
    const bad = codeownersFromBytes(new Map([["CODEOWNERS", new Uint8Array([0x2a, 0x20, 0x40, 0xff])]]));
    expect(bad?.parsed.errors[0]?.message).toContain("UTF-8");
  });
});

describe("parsing", () => {
  it("case 23: the last match wins", () => {
    const p = parseCodeowners("/access-requests/ @acme/dba\n* @acme/security\n");
    expect(ownersOf(p, "access-requests/orders-prod/a.yaml")).toEqual({ owners: ["@acme/security"], line: 2 });
  });

  it("case 23: an owner-less last match makes the path unowned", () => {
    const p = parseCodeowners("/access-requests/ @acme/dba\n/access-requests/orders-prod/\n");
    expect(ownersOf(p, "access-requests/orders-prod/a.yaml")).toEqual({ owners: [], line: 2 });
    expect(ownersOf(p, "access-requests/other/a.yaml")).toEqual({ owners: ["@acme/dba"], line: 1 });
  });

  it("case 23: paths are case-sensitive", () => {
    const p = parseCodeowners("/access-requests/ @acme/dba\n");
    expect(ownersOf(p, "Access-Requests/orders-prod/a.yaml")).toEqual({ owners: [], line: null });
    expect(matchPattern("*.YAML", "a.yaml")).toBe(false);
  });

  it("case 23: negation is reported and never interpreted", () => {
    const p = parseCodeowners("/access-requests/ @acme/dba\n!/access-requests/orders-prod/ @mallory\n");
    expect(p.errors).toEqual([{ line: 2, message: expect.stringContaining("negation") }]);
    expect(p.rules.map((r) => r.line)).toEqual([1]);
    expect(ownersOf(p, "access-requests/orders-prod/a.yaml")).toEqual({ owners: ["@acme/dba"], line: 1 });
  });

  it("case 23: character ranges are reported and never interpreted; escaped brackets are literal", () => {
    const p = parseCodeowners("* @a\n/access-requests/[o]rders-prod/ @mallory\n/src/\\[id\\].ts @b\n");
    expect(p.errors).toEqual([{ line: 2, message: expect.stringContaining("[ ]") }]);
    expect(ownersOf(p, "access-requests/orders-prod/x.yaml")).toEqual({ owners: ["@a"], line: 1 });
    expect(ownersOf(p, "access-requests/[o]rders-prod/x.yaml")).toEqual({ owners: ["@a"], line: 1 });
    expect(ownersOf(p, "src/[id].ts")).toEqual({ owners: ["@b"], line: 3 });
  });

  it("case 23: a leading \\# is reported and never interpreted (GitHub does not support it)", () => {
    const p = parseCodeowners("* @a\n\\#notes.md @mallory\n");
    expect(p.errors).toEqual([{ line: 2, message: expect.stringContaining("#") }]);
    expect(ownersOf(p, "#notes.md")).toEqual({ owners: ["@a"], line: 1 });
  });

  it("comments: whole lines, indented lines and trailing ` #…`", () => {
    const p = parseCodeowners("# heading\n   # indented\n*.md @docs # the docs team\n*.sql @dba\t#tabbed comment\n");
    expect(p.errors).toEqual([]);
    expect(p.rules).toEqual([
      { pattern: "*.md", owners: ["@docs"], line: 3 },
      { pattern: "*.sql", owners: ["@dba"], line: 4 },
    ]);
  });

  it("a comment right after the pattern leaves the rule without owners", () => {
    const p = parseCodeowners("* @a\n/secret/ # nobody\n");
    expect(ownersOf(p, "secret/x")).toEqual({ owners: [], line: 2 });
  });

  it("a # inside a pattern is ambiguous and reported", () => {
    expect(parseCodeowners("foo#bar @a\n").errors).toEqual([{ line: 1, message: expect.stringContaining("#") }]);
    expect(parseCodeowners("foo\\#bar @a\n").errors).toHaveLength(1);
  });

  it("`\\ ` is a space inside a pattern", () => {
    const p = parseCodeowners("/My\\ Documents/ @a\n");
    expect(p.errors).toEqual([]);
    expect(ownersOf(p, "My Documents/x.txt")).toEqual({ owners: ["@a"], line: 1 });
    expect(ownersOf(p, "My/x.txt")).toEqual({ owners: [], line: null });
  });

  it("CRLF line endings and blank lines", () => {
    const p = parseCodeowners("* @a\r\n\r\n/docs/ @b\r\n");
    expect(p.errors).toEqual([]);
    expect(ownersOf(p, "docs/x")).toEqual({ owners: ["@b"], line: 3 });
  });

  it("owners: @user, @org/team, email; anything else is an error and the line is skipped", () => {
    expect(ownerKind("@octocat")).toBe("user");
    expect(ownerKind("@Octo-Org/octo.cats_2")).toBe("team");
    expect(ownerKind("docs@example.com")).toBe("email");
    for (const bad of ["octocat", "@", "@-x", "@org/", "@org/team/x", "@a b", "docs@", "@org/team#x"]) expect(ownerKind(bad)).toBeNull();
    const p = parseCodeowners("* @a\n/x/ @b octocat\n");
    expect(p.errors).toEqual([{ line: 2, message: expect.stringContaining('invalid owner "octocat"') }]);
    expect(ownersOf(p, "x/y")).toEqual({ owners: ["@a"], line: 1 });
  });

  it("invalid patterns are reported with their line", () => {
    const p = parseCodeowners("ok @a\na/***/b @a\nfoo\\\n/ @a\na//b @a\n**/ @a\n/**/ @a\n");
    expect(p.errors.map((e) => e.line)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(p.rules.map((r) => r.line)).toEqual([1]);
  });

  it("never throws, whatever the input", () => {
    for (const text of ["\\", "[", "!", "#", "*** @a", "\u0000 @a", "a\\", "@@@ @@@", "\t\t\t"]) {
      expect(() => parseCodeowners(text)).not.toThrow();
    }
  });

  it("many ** segments match in linear time (no backtracking)", () => {
    const pattern = `${"**/a/".repeat(40)}b`;
    const path = `${"a/".repeat(4000)}c`;
    expect(matchPattern(pattern, path)).toBe(false);
    expect(matchPattern(pattern, `${"a/".repeat(4000)}b`)).toBe(true);
  });
});

describe("erroneousLinesAfter", () => {
  it("only errors after the deciding line can matter (the last match wins)", () => {
    const p = parseCodeowners("!early @x\n/access-requests/ @dba\n!late @y\n");
    const own = ownersOf(p, "access-requests/a/b.yaml");
    expect(own.line).toBe(2);
    expect(erroneousLinesAfter(p, own).map((e) => e.line)).toEqual([3]);
    expect(erroneousLinesAfter(p, ownersOf(p, "elsewhere")).map((e) => e.line)).toEqual([1, 3]);
  });
});
