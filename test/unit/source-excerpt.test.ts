// The source line and caret under a finding: alignment, tabs, and untrusted characters.
import { describe, expect, it } from "vitest";
import { sourceExcerpt } from "../../src/core/source-excerpt.ts";

describe("sourceExcerpt", () => {
  it("prints the line with a caret under the column", () => {
    expect(sourceExcerpt("role: x\nduration: 2h\n", 2, 11)).toEqual(["  |", "2 | duration: 2h", "  |           ^"]);
  });
  it("widens the gutter for long line numbers and clamps the column to the line", () => {
    const text = `${"a: 1\n".repeat(11)}b: 2\n`;
    expect(sourceExcerpt(text, 12, 99)).toEqual(["   |", "12 | b: 2", "   |     ^"]);
  });
  it("keeps tabs under the caret so it lines up however tabs expand", () => {
    expect(sourceExcerpt("\tduration: 2h\n", 1, 2)).toEqual(["  |", "1 | \tduration: 2h", "  | \t^"]);
  });
  it("never prints control, bidi or invisible characters, and keeps the caret aligned", () => {
    const [, line, caret] = sourceExcerpt("reason: a\u202Eb\u001B[31mc\u200Bd: x\r\n", 1, 20);
    expect(line).toBe("1 | reason: a\uFFFDb\uFFFD[31mc\uFFFDd: x");
    expect([...line!].some((c) => c < " " || c === "\u202E" || c === "\u200B")).toBe(false);
    expect(caret).toBe(`  | ${" ".repeat(19)}^`);
    expect(line?.slice(4)[19]).toBe(":");
  });
  it("cuts very long lines to a window around the column", () => {
    const text = `${"x".repeat(500)}Y${"z".repeat(500)}`;
    const [, line, caret] = sourceExcerpt(text, 1, 501);
    expect(line!.length).toBeLessThan(140);
    expect(line![caret!.indexOf("^")]).toBe("Y");
  });
  it("prints nothing for a line that is not in the text", () => {
    expect(sourceExcerpt("a: 1\n", 5, 1)).toEqual([]);
    expect(sourceExcerpt("a: 1\n", 0, 1)).toEqual([]);
  });
});
