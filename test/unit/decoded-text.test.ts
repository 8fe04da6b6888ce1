// I18: forbidden characters are checked on decoded text. A YAML escape in a double-quoted scalar
// turns plain ASCII into a bidi override, a NUL or a zero-width space; the file's bytes are clean,
// the value is not. Every such value, key and path is refused with JIT_TEXT_FORBIDDEN_CHAR, and no
// message (check run, comment, log, `jit validate`) shows the character itself, only `U+XXXX`.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { captureIo } from "../../src/cli/io.ts";
import { run } from "../../src/cli/validate.ts";
import type { Problem } from "../../src/core/problem.ts";
import { evaluatePullRequest } from "../../src/core/pull-request.ts";
import { FORBIDDEN_DECODED, showSafe } from "../../src/core/text.ts";
import { parseStrictYaml } from "../../src/core/yaml-strict.ts";
import { approve, REQUEST, REQUEST_PATH, requestScenario } from "../helpers/fake-context.ts";
import { POLICY_FIXTURE, request, utf8 } from "./support/core-fixtures.ts";

const HEAD = "role: orders_readonly\nduration: 2h\nticket: INC-1234\n";

/** Escapes as written in the file (ASCII only) and the code point each decodes to. */
const ESCAPES: [string, string][] = [
  ["\\0", "U+0000"], ["\\a", "U+0007"], ["\\x07", "U+0007"], ["\\e", "U+001B"], ["\\b", "U+0008"], ["\\v", "U+000B"],
  ["\\f", "U+000C"], ["\\r", "U+000D"], ["\\x7F", "U+007F"], ["\\N", "U+0085"], ["\\_", "U+00A0"], ["\\L", "U+2028"],
  ["\\P", "U+2029"], ["\\u202E", "U+202E"], ["\\u202D", "U+202D"], ["\\u2066", "U+2066"], ["\\u2069", "U+2069"],
  ["\\u200E", "U+200E"], ["\\u200F", "U+200F"], ["\\u061C", "U+061C"], ["\\u200B", "U+200B"], ["\\u200C", "U+200C"],
  ["\\u200D", "U+200D"], ["\\u2060", "U+2060"], ["\\u2063", "U+2063"], ["\\uFEFF", "U+FEFF"], ["\\u00AD", "U+00AD"],
  ["\\u180E", "U+180E"], ["\\u3164", "U+3164"], ["\\uFFF9", "U+FFF9"], ["\\x9B", "U+009B"], ["\\u2000", "U+2000"],
  ["\\U000E0041", "U+E0041"], ["\\U000E007F", "U+E007F"], ["\\uDB40\\uDC41", "U+E0041"], ["\\uD800", "U+D800"], ["\\uDFFF", "U+DFFF"],
];

/** Every character of the forbidden set that shows up in a message is a failure of I18. */
function assertNoEcho(problems: readonly Problem[]): void {
  for (const p of problems) {
    expect(FORBIDDEN_DECODED.test(p.message), p.message).toBe(false);
    if (p.hint) expect(FORBIDDEN_DECODED.test(p.hint), p.hint).toBe(false);
  }
}

function refused(yaml: string, path?: string) {
  const d = request(yaml, path);
  expect(d.ok).toBe(false);
  assertNoEcho(d.problems);
  expect(FORBIDDEN_DECODED.test(d.message)).toBe(false);
  return d;
}

describe("I18: decoded text is checked", () => {
  it("I18: every escape that decodes to a forbidden character in `reason` is refused, named by code point only", () => {
    for (const [esc, label] of ESCAPES) {
      const d = refused(`${HEAD}reason: "pay ${esc}evil"\n`);
      const p = d.problems.find((x) => x.code === "JIT_TEXT_FORBIDDEN_CHAR");
      expect(p, esc).toBeDefined();
      expect(p!.message).toContain(label);
      expect(p!.line).toBe(4);
    }
  });

  it("I18: the raw bytes of those files hold no forbidden character (the escape is the attack)", () => {
    for (const [esc] of ESCAPES) {
      const src = `${HEAD}reason: "pay ${esc}evil"\n`;
      expect(/^[\x20-\x7E\n]*$/.test(src), esc).toBe(true);
    }
  });

  it("I18: every field is checked, not only reason (role, duration, ticket, user)", () => {
    for (const field of ["role", "duration", "ticket", "user"]) {
      const lines: Record<string, string> = { role: "orders_readonly", duration: "2h", reason: "ok", ticket: "INC-1234" };
      const value = field === "duration" ? '"2h\\u200B"' : `"${lines[field] ?? "alice"}\\u202E"`;
      const yaml = Object.entries({ ...lines, [field]: value }).map(([k, v]) => `${k}: ${v}`).join("\n") + "\n";
      const d = refused(yaml);
      expect(d.problems.map((p) => p.code), field).toContain("JIT_TEXT_FORBIDDEN_CHAR");
      // The identifier/duration checks never get to quote the value: parsing stopped first.
      expect(d.problems.map((p) => p.code), field).not.toContain("JIT_IDENTIFIER");
    }
  });

  it("I18: keys are decoded and checked too, and their messages never echo the character", () => {
    const d = refused(`${HEAD}reason: ok\n"ro\\u202Ele": x\n`);
    expect(d.code).toBe("JIT_TEXT_FORBIDDEN_CHAR");
    expect(d.problems[0]!.message).toContain("U+202E");
    // A forbidden key that is also a duplicate of `reason`: still one safe message.
    const dup = refused(`${HEAD}reason: ok\n"reason\\u200B": x\n`);
    expect(dup.problems.map((p) => p.code)).toEqual(["JIT_TEXT_FORBIDDEN_CHAR"]);
  });

  it("I18: nested values, list items and flow collections are checked", () => {
    for (const yaml of [`${HEAD}reason: ok\nextra: ["\\u202E"]\n`, `${HEAD}reason: ok\nextra: {a: "\\0"}\n`, `${HEAD}reason: ok\nextra:\n  - b: "\\x07"\n`]) {
      expect(refused(yaml).problems.map((p) => p.code)).toContain("JIT_TEXT_FORBIDDEN_CHAR");
    }
  });

  it("I18: folded, literal, single-quoted and plain scalars carrying raw characters are refused like escapes", () => {
    for (const body of ["|\n  line one\n  pay \u202Eevil\n", ">\n  folded \u200B text\n", "'single \u2066 quoted'\n", "plain \u00A0 space\n", '"\u0000"\n']) {
      const d = refused(`${HEAD}reason: ${body}`);
      expect(d.code).toBe("JIT_TEXT_FORBIDDEN_CHAR");
    }
  });

  it("I18: a line continuation or escaped tab and newline stay allowed; emoji surrogate pairs are fine", () => {
    for (const reason of ['"two\\nlines"', '"tab\\there"', '"smile \\uD83D\\uDE00"', '"smile \\U0001F600"', '"caf\\u00E9 \\u00FCber"', "|\n  line one\n  line two\n"]) {
      const d = request(`${HEAD}reason: ${reason}\n`);
      expect(d.ok, `${reason}: ${JSON.stringify(d.problems)}`).toBe(true);
    }
  });

  it("I18: decoded characters are refused in policy-style nesting by the shared parser as well", () => {
    const r = parseStrictYaml(utf8('databases:\n  orders-prod:\n    connection_env: "ORDERS\\u200BURL"\n'));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problems.map((p) => p.code)).toEqual(["JIT_TEXT_FORBIDDEN_CHAR"]);
      assertNoEcho(r.problems);
    }
  });

  it("I18: a file path, database or request id with forbidden characters is refused and never echoed", () => {
    for (const path of [
      "access-requests/orders-prod/alice\u202E1.yaml", "access-requests/orders\u200B-prod/alice-1.yaml",
      "access-requests/orders-prod/\u0000.yaml", "access-requests\u2028/orders-prod/a.yaml", "access-requests/orders-prod/a\u{E0041}.yaml",
    ]) {
      const d = refused(`${HEAD}reason: ok\n`, path);
      const codes = d.problems.map((p) => p.code);
      expect(codes).toContain("JIT_TEXT_FORBIDDEN_CHAR");
      expect(codes).toContain("JIT_PATH_INVALID");
    }
  });

  it("I18: messages that quote hostile keys or syntax show U+XXXX (raw bidi in a key, duplicate keys)", () => {
    // Raw character: reported once by the raw scan; the key's own messages are made safe as well.
    const r = parseStrictYaml(utf8("ro\u202Ele: a\nro\u202Ele: b\n__proto__\u202E: c\n"));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      assertNoEcho(r.problems);
      expect(r.problems.map((p) => p.code)).toContain("JIT_YAML_DUPLICATE_KEY");
      expect(r.problems.find((p) => p.code === "JIT_YAML_DUPLICATE_KEY")!.message).toMatch(/<U\+202E>|\\u202E/);
    }
  });

  it("I18: showSafe replaces every forbidden character, astral and lone surrogates included", () => {
    expect(showSafe("a\u202Eb\u200Bc\u{E0041}d\uD800e\r")).toBe("a<U+202E>b<U+200B>c<U+E0041>d<U+D800>e<U+000D>");
    expect(showSafe("plain 😀 café")).toBe("plain 😀 café");
  });
});

describe("I18: pull requests", () => {
  const evaluate = (head: Record<string, string>) =>
    evaluatePullRequest(requestScenario({ head, reviews: [approve("dave")] }), { now: 1_780_000_000_000, mode: "check" });

  it("I18: file names from the PR (another file, a request path, a hidden tag character) are never echoed in the decision", async () => {
    for (const head of [
      { [REQUEST_PATH]: REQUEST, "docs/\u202Eevil.md": "x\n" },
      { "access-requests/orders-prod/alice\u202E-1.yaml": REQUEST },
      { "access-requests/orders-prod/alice-\u{E0041}.yaml": REQUEST },
      { [REQUEST_PATH]: `${HEAD}reason: "pay \\u202Eevil"\n` },
    ] as Record<string, string>[]) {
      const d = await evaluate(head);
      expect(d.ok, Object.keys(head).join()).toBe(false);
      assertNoEcho(d.problems);
      expect(FORBIDDEN_DECODED.test(d.message)).toBe(false);
    }
  });
});

describe("I18: jit validate", () => {
  const temps: string[] = [];
  afterAll(() => {
    for (const t of temps) rmSync(t, { recursive: true, force: true });
  });
  function checkout(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), "jit-i18-"));
    temps.push(dir);
    for (const [p, content] of Object.entries({ "policies/orders.yaml": readFileSync(POLICY_FIXTURE, "utf8"), ...files })) {
      mkdirSync(dirname(join(dir, p)), { recursive: true });
      writeFileSync(join(dir, p), content);
    }
    return dir;
  }

  for (const format of ["json", "text", "github"]) {
    it(`I18: jit validate (${format}) refuses escapes with exit 1 and never prints the character`, async () => {
      const dir = checkout({
        "access-requests/orders-prod/alice-1.yaml": `${HEAD}reason: "pay \\u202Eevil \\u200B \\0"\n`,
        "access-requests/orders-prod/alice-2.yaml": `${HEAD}reason: ok\n"user\\u2066": alice\n`,
      });
      const io = captureIo({}, dir);
      const code = await run(["--repo", dir, "--format", format], io);
      const out = [...io.stdout, ...io.stderr].join("\n");
      expect(code).toBe(1);
      expect(out).toContain("JIT_TEXT_FORBIDDEN_CHAR");
      expect(out).toContain("U+202E");
      expect(out).toContain("U+2066");
      expect(FORBIDDEN_DECODED.test(out.replaceAll("\r", ""))).toBe(false);
    });
  }
});
