// I18 variants beyond the common escapes: every default-ignorable or format code point (variation
// selectors, Khmer inherent vowels, Arabic number signs, musical and shorthand format controls),
// noncharacters, private use and the ideographic space, written as escapes or raw; keys that decode
// to an allowed key; CRLF and lone CR line endings. Refused with JIT_TEXT_FORBIDDEN_CHAR, and no
// message or rendered text shows the character itself.
import { describe, expect, it } from "vitest";
import { code, plainText, text } from "../../src/core/inert.ts";
import type { Problem } from "../../src/core/problem.ts";
import { FORBIDDEN_DECODED } from "../../src/core/text.ts";
import { request } from "./support/core-fixtures.ts";

const HEAD = "role: orders_readonly\nduration: 2h\n";

/** Escapes (ASCII in the file) the first I18 list missed, and the code point each decodes to. */
const MORE: [string, string][] = [
  ["\\uFE0F", "U+FE0F"], ["\\uFE00", "U+FE00"], ["\\U000E0100", "U+E0100"], ["\\U000E01EF", "U+E01EF"], ["\\U000E0001", "U+E0001"],
  ["\\u180B", "U+180B"], ["\\u180F", "U+180F"], ["\\u17B4", "U+17B4"], ["\\u17B5", "U+17B5"], ["\\u0600", "U+0600"],
  ["\\u06DD", "U+06DD"], ["\\u070F", "U+070F"], ["\\U0001D173", "U+1D173"], ["\\U0001BCA0", "U+1BCA0"], ["\\U00013430", "U+13430"],
  ["\\u3000", "U+3000"], ["\\uFFFE", "U+FFFE"], ["\\uFFFF", "U+FFFF"], ["\\uFDD0", "U+FDD0"], ["\\uE000", "U+E000"],
  ["\\U0010FFFD", "U+10FFFD"], ["\\u2067", "U+2067"], ["\\u2068", "U+2068"], ["\\x85", "U+0085"], ["\\u2029", "U+2029"],
];

function noEcho(problems: readonly Problem[], message: string): void {
  for (const p of problems) {
    expect(FORBIDDEN_DECODED.test(p.message), p.message).toBe(false);
    if (p.hint) expect(FORBIDDEN_DECODED.test(p.hint), p.hint).toBe(false);
  }
  expect(FORBIDDEN_DECODED.test(message)).toBe(false);
}

function refusedWith(yaml: string, label: string, line: number): void {
  const d = request(yaml);
  expect(d.ok, yaml).toBe(false);
  noEcho(d.problems, d.message);
  const p = d.problems.find((x) => x.code === "JIT_TEXT_FORBIDDEN_CHAR");
  expect(p, yaml).toBeDefined();
  expect(p!.message).toContain(label);
  expect(p!.line).toBe(line);
}

const decode = (esc: string) => JSON.parse(`"${esc.replace(/\\U([0-9A-F]{8})/g, (_, h: string) => String.fromCodePoint(parseInt(h, 16)).split("").map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, "0")}`).join("")).replace(/\\x([0-9A-F]{2})/g, "\\u00$1")}"`) as string;

describe("I18: every invisible or format code point, not only the listed ones", () => {
  it("I18: variation selectors, format controls, noncharacters and private use in a double-quoted value are refused by code point", () => {
    for (const [esc, label] of MORE) refusedWith(`${HEAD}reason: "pay ${esc}evil"\n`, label, 3);
  });

  it("I18: the same characters written raw (plain, single-quoted and literal block scalars) are refused", () => {
    for (const [esc, label] of MORE) {
      const ch = decode(esc);
      for (const reason of [`pay ${ch}evil`, `'pay ${ch}evil'`]) refusedWith(`${HEAD}reason: ${reason}\n`, label, 3);
      refusedWith(`${HEAD}reason: |\n  pay ${ch}evil\n`, label, 4);
    }
  });

  it("I18: in a flow mapping, in a key, and in a key of a flow mapping", () => {
    refusedWith(`{role: orders_readonly, duration: 2h, reason: "a\\uFE0Fb"}\n`, "U+FE0F", 1);
    refusedWith(`${HEAD}"reason\\U000E0100": x\nreason: ok\n`, "U+E0100", 3);
    refusedWith(`{role: orders_readonly, duration: 2h, "rea\\u17B4son": x}\n`, "U+17B4", 1);
  });

  it("I18: a value that is only a variation selector after an allowed letter is not a different value in disguise", () => {
    // `orders_readonly` followed by U+FE0E would look identical in review; refused before the identifier check.
    refusedWith(`role: "orders_readonly\\uFE0E"\nduration: 2h\nreason: x\n`, "U+FE0E", 1);
  });

  it("I18: rendering never shows them either (check runs, comments, titles)", () => {
    // U+3000 is a visible (wide) space: refused in files as a look-alike, but not hidden when shown.
    for (const [esc] of MORE.filter(([e]) => e !== "\\u3000")) {
      const ch = decode(esc);
      for (const out of [String(text(`a${ch}b`)), String(code(`a${ch}b`)), String(plainText(`a${ch}b`))]) {
        expect(out.includes(ch), `${esc}: ${out}`).toBe(false);
      }
    }
  });
});

describe("I18: keys that decode to an allowed key", () => {
  it("I18: \"rol\\u0065\" next to role is a duplicate key, in either order, block or flow", () => {
    for (const yaml of [
      `role: orders_readonly\n"rol\\u0065": admin_all\nduration: 2h\nreason: x\n`,
      `"rol\\u0065": admin_all\nrole: orders_readonly\nduration: 2h\nreason: x\n`,
      `"\\x72ole": admin_all\n'role': orders_readonly\nduration: 2h\nreason: x\n`,
      `{role: orders_readonly, "ro\\u006Ce": admin_all, duration: 2h, reason: x}\n`,
      `? role\n: orders_readonly\n"role": admin_all\nduration: 2h\nreason: x\n`,
    ]) {
      const d = request(yaml);
      expect(d.ok, yaml).toBe(false);
      expect(d.problems.map((p) => p.code)).toContain("JIT_YAML_DUPLICATE_KEY");
    }
  });

  it("I18: a lone escaped key that decodes to `role` is read as role (what the check shows is the decoded value)", () => {
    const d = request(`"rol\\u0065": orders_readonly\nduration: 2h\nreason: x\n`);
    expect(d.ok).toBe(true);
    expect(d.details?.role).toBe("orders_readonly");
  });

  it("I18: a key differing only by case or by a look-alike letter is an unknown field, never the field", () => {
    for (const yaml of [`${HEAD}reason: x\nRole: admin_all\n`, `${HEAD}reason: x\n"r\\u043Ele": admin_all\n`, `${HEAD}reason: x\n"\\uFF52ole": admin_all\n`]) {
      const d = request(yaml);
      expect(d.ok, yaml).toBe(false);
      expect(d.problems.map((p) => p.code)).toEqual(["JIT_SCHEMA"]);
      noEcho(d.problems, d.message);
    }
  });

  it("I18: NFKC look-alikes in role and user (fullwidth, ligature, Cyrillic) are refused, not normalized", () => {
    for (const role of ["ｏrders_readonly", "orders_ﬁ", "оrders_readonly", "orders_readonly\u0301"]) {
      const d = request(`role: ${role}\nduration: 2h\nreason: x\n`);
      expect(d.ok, role).toBe(false);
      expect(d.problems[0]!.code).toBe("JIT_IDENTIFIER");
    }
  });
});

describe("I18: line endings and tabs", () => {
  it("I18: CRLF files parse to the same values as LF files, block scalars included (no CR in any value)", () => {
    for (const reason of ["plain words", "'single quoted'", '"double quoted"', "|\n  line one\n  line two", ">\n  folded one\n  folded two", "first\n  continued"]) {
      const lf = `${HEAD}reason: ${reason}\n`;
      const a = request(lf);
      const b = request(lf.replaceAll("\n", "\r\n"));
      expect(a.ok, reason).toBe(true);
      expect(b.ok, reason).toBe(true);
      expect(b.details?.reason).toBe(a.details?.reason);
      expect(b.details?.reason.includes("\r")).toBe(false);
    }
  });

  it("I18: a lone CR (old Mac line ending, or one hidden inside a line) is refused at its position", () => {
    refusedWith("role: orders_readonly\rduration: 2h\rreason: x\r", "U+000D", 1);
    refusedWith(`${HEAD}reason: shown\rhidden: part\n`, "U+000D", 3);
    refusedWith(`${HEAD}reason: x\r\n\r`, "U+000D", 4);
  });

  it("I18: a tab in reason (raw or escaped) is allowed and kept as a tab", () => {
    for (const reason of ['"a\\tb"', "'a\tb'", '"a\tb"']) {
      const d = request(`${HEAD}reason: ${reason}\n`);
      expect(d.ok, reason).toBe(true);
      expect(d.details?.reason).toBe("a\tb");
    }
  });
});
