// The offending source line with a caret under the column, as compilers and actionlint print it:
//
//    |
//  5 | role: orders_readonyl
//    |       ^
//
// Source text is untrusted: every character text.ts forbids (controls, bidirectional overrides,
// invisible formatting) is shown as U+FFFD, one per UTF-16 unit so the caret stays aligned, and
// never reaches a terminal. Columns are 1-based UTF-16 units, like the positions the parsers report.
import { FORBIDDEN_DECODED } from "./text.ts";

const UNSAFE = new RegExp(FORBIDDEN_DECODED.source, "gu");
/** Longer lines are cut to a window around the column. */
const WIDTH = 120;

/** The lines to print under a finding, or [] when the line is not in the text. */
export function sourceExcerpt(text: string, line: number, column: number): string[] {
  const lines = text.split("\n");
  if (!Number.isInteger(line) || line < 1 || line > lines.length) return [];
  let src = (lines[line - 1] as string).replace(/\r$/, "").replace(UNSAFE, (c) => "\uFFFD".repeat(c.length));
  let col = Math.min(Math.max(Number.isInteger(column) ? column : 1, 1), src.length + 1);
  if (src.length > WIDTH) {
    const start = Math.max(0, Math.min(col - 1 - WIDTH / 2, src.length - WIDTH));
    src = `${start > 0 ? "…" : ""}${src.slice(start, start + WIDTH)}${start + WIDTH < src.length ? "…" : ""}`;
    col = col - start + (start > 0 ? 1 : 0);
  }
  // Tabs stay tabs under the caret, so it lines up however the terminal expands them.
  const pad = src.slice(0, col - 1).replace(/[^\t]/g, " ");
  const gutter = String(line);
  const blank = " ".repeat(gutter.length);
  return [`${blank} |`, `${gutter} | ${src}`, `${blank} | ${pad}^`];
}
