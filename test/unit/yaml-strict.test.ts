import { describe, expect, it } from "vitest";
import { parseStrictYaml } from "../../src/core/yaml-strict.ts";
import { utf8 } from "./support/core-fixtures.ts";

function problems(src: string | Uint8Array, opts = {}) {
  const r = parseStrictYaml(typeof src === "string" ? utf8(src) : src, opts);
  expect(r.ok).toBe(false);
  return r.ok ? [] : r.problems.map((p) => ({ code: p.code, line: p.line, column: p.column }));
}

describe("parseStrictYaml", () => {
  it("builds plain data in null-prototype objects", () => {
    const r = parseStrictYaml(utf8("a: 1\nb: [x, {c: true}]\nd:\n'1234': q\n5678: r\n"));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toEqual({ a: 1, b: ["x", { c: true }], d: null, 1234: "q", 5678: "r" });
    const v = r.value as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBeNull();
    expect(Object.getPrototypeOf((v.b as unknown[])[1])).toBeNull();
    // Keys are always strings, even when they look like numbers.
    expect(Object.keys(v)).toContain("5678");
  });

  it("locates values and keys by pointer, 1-based", () => {
    const r = parseStrictYaml(utf8("# comment\nrole: x\nreason:\nlist:\n  - a\n  - {k: v}\n"));
    if (!r.ok) throw new Error("expected ok");
    expect(r.locate(["role"])).toEqual({ line: 2, column: 7 });
    expect(r.locate(["role"], { key: true })).toEqual({ line: 2, column: 1 });
    expect(r.locate(["reason"])).toEqual({ line: 3, column: 1 }); // empty value: its key
    expect(r.locate(["list", "1", "k"])).toEqual({ line: 6, column: 9 });
    expect(r.locate(["list", "7"])).toEqual({ line: 5, column: 3 }); // missing: the parent
    expect(r.locate([])).toEqual({ line: 2, column: 1 });
  });

  it("treats an empty file as an empty document", () => {
    for (const src of ["", "# only a comment\n", "\n\n"]) {
      const r = parseStrictYaml(utf8(src));
      expect(r.ok && r.value).toBeNull();
    }
  });

  it("enforces the size cap on bytes, before decoding", () => {
    expect(problems(new Uint8Array(17 * 1024).fill(0xff))).toEqual([{ code: "JIT_FILE_TOO_LARGE", line: 1, column: 1 }]);
    expect(parseStrictYaml(utf8("a: b\n"), { maxBytes: 5 }).ok).toBe(true);
    expect(problems("a: bc\n", { maxBytes: 5 })).toEqual([{ code: "JIT_FILE_TOO_LARGE", line: 1, column: 1 }]);
  });

  it("decodes UTF-8 fatally and says where it broke", () => {
    const bytes = new Uint8Array([...utf8("a: ok\nb: x"), 0xc3, 0x28, ...utf8("\n")]);
    expect(problems(bytes)).toEqual([{ code: "JIT_UTF8_INVALID", line: 2, column: 5 }]);
    // Overlong encoding of "/" and a lone surrogate are invalid too.
    expect(problems(new Uint8Array([0x61, 0x3a, 0x20, 0xc0, 0xaf]))[0]?.code).toBe("JIT_UTF8_INVALID");
    expect(problems(new Uint8Array([0x61, 0x3a, 0x20, 0xed, 0xa0, 0x80]))[0]?.code).toBe("JIT_UTF8_INVALID");
    // A real U+FFFD in the text is fine.
    expect(parseStrictYaml(utf8("a: \uFFFD\n")).ok).toBe(true);
  });

  it("refuses a byte-order mark", () => {
    expect(problems(new Uint8Array([0xef, 0xbb, 0xbf, ...utf8("a: b\n")]))).toEqual([{ code: "JIT_UTF8_INVALID", line: 1, column: 1 }]);
  });

  it("refuses control and bidirectional-override characters", () => {
    expect(problems("reason: pay \u202Eevil\n")).toEqual([{ code: "JIT_TEXT_FORBIDDEN_CHAR", line: 1, column: 13 }]);
    expect(problems("a: b\nreason: \u0007\n")[0]).toEqual({ code: "JIT_TEXT_FORBIDDEN_CHAR", line: 2, column: 9 });
    expect(problems('reason: "\u0085"\n')[0]?.code).toBe("JIT_TEXT_FORBIDDEN_CHAR");
    expect(parseStrictYaml(utf8("reason: tabs\tand more\r\nrole: crlf\r\n")).ok).toBe(true);
  });

  it("reports syntax errors with a position", () => {
    expect(problems("a: [1, 2\n")).toEqual([{ code: "JIT_YAML_SYNTAX", line: 1, column: 4 }]); // at the bracket never closed
    expect(problems("a: b: c\n")[0]?.code).toBe("JIT_YAML_SYNTAX");
    expect(problems('a: "unterminated\n')[0]?.code).toBe("JIT_YAML_SYNTAX");
  });

  it("refuses complex and empty keys", () => {
    expect(problems("? [a, b]\n: 1\n")).toEqual([{ code: "JIT_YAML_FORBIDDEN_KEY", line: 1, column: 3 }]);
    expect(problems("{a: 1}: 2\n")[0]?.code).toBe("JIT_YAML_FORBIDDEN_KEY");
    expect(problems('"": 1\n')).toEqual([{ code: "JIT_YAML_FORBIDDEN_KEY", line: 1, column: 1 }]);
  });

  it("honours maxDepth exactly and caps it", () => {
    expect(parseStrictYaml(utf8("a: {b: {c: 1}}\n"), { maxDepth: 3 }).ok).toBe(true);
    expect(problems("a: {b: {c: 1}}\n", { maxDepth: 2 })).toEqual([{ code: "JIT_YAML_TOO_DEEP", line: 1, column: 8 }]);
    // Asking for an absurd depth still stops at the internal ceiling instead of overflowing.
    const deep = "[".repeat(50_000) + "]".repeat(50_000);
    expect(problems(deep, { maxBytes: 1 << 20, maxDepth: 1e9 })[0]?.code).toBe("JIT_YAML_TOO_DEEP");
  });

  it("stops collecting after 100 problems", () => {
    const src = Array.from({ length: 500 }, (_, i) => `k${i}: &a${i} v`).join("\n");
    const r = parseStrictYaml(utf8(src));
    expect(!r.ok && r.problems.length).toBe(100);
  });
});
