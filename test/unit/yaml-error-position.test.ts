// YAML syntax errors point where the author has to look: the quote or bracket never closed, the
// line indented under a plain value; not the end of the file or the next key.
import { describe, expect, it } from "vitest";
import { parseStrictYaml } from "../../src/core/yaml-strict.ts";
import { utf8 } from "./support/core-fixtures.ts";

function firstSyntax(src: string): { line: number; column: number } | undefined {
  const r = parseStrictYaml(utf8(src));
  if (r.ok) return undefined;
  const p = r.problems.find((x) => x.code === "JIT_YAML_SYNTAX");
  return p ? { line: p.line ?? 0, column: p.column ?? 0 } : undefined;
}

describe("YAML syntax error positions", () => {
  it.each([
    ["an unclosed double quote, at the quote", 'role: a\nduration: 2h\nreason: "unclosed\nticket: x\n', 3, 9],
    ["an unclosed single quote, at the quote", "role: a\nreason: 'it''s\n", 2, 9],
    ["a double quote ending in an escaped quote", 'a: "x\\"\nb: 2\n', 1, 4],
    ["an unclosed flow sequence, at the bracket", "role: a\nduration: [2h\nreason: x\n", 2, 11],
    ["an unclosed flow mapping, at the brace", "a: 1\nb: {x: 1\n", 2, 4],
    ["the last unclosed bracket after closed ones", "a: \"ok\"\nb: [1, 2]\nc: 'x'\nd: [x\n", 4, 4],
    ["a key indented under a plain value, at that key", "role: a\n  duration: 2h\nreason: x\n", 2, 3],
    ["a tab used as indentation, at its line", "role: a\n\tduration: 2h\n", 2, 1],
    ["a second colon on one line, at the value", "role: a: b\n", 1, 7],
  ])("%s", (_name, src, line, column) => {
    expect(firstSyntax(src)).toEqual({ line, column });
  });
});
