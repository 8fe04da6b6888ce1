// The offending source line with a caret under the column, as compilers and actionlint print it:
//
//    |
//  5 | role: orders_readonyl
//    |       ^
//
// Source text is untrusted: control, bidirectional-override and other invisible characters are
// shown as U+FFFD (one UTF-16 unit each, so the caret stays aligned) and never reach a terminal.
// Columns are 1-based UTF-16 units, like the positions the parsers report.

// C0 and C1 controls except tab, bidi overrides and isolates, line/paragraph separators, BOM.
// eslint-disable-next-line no-control-regex -- replacing control characters is the point
const UNSAFE = /[\u0000-\u0008\u000A-\u001F\u007F-\u009F\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF]/g;
/** Longer lines are cut to a window around the column. */
const WIDTH = 120;

/** `s` with every character that could act on a terminal or hide text shown as U+FFFD. */
export function printable(s: string): string {
  return s.replace(UNSAFE, "\uFFFD");
}

/** The lines to print under a finding, or [] when the line is not in the text. */
export function sourceExcerpt(text: string, line: number, column: number): string[] {
  const lines = text.split("\n");
  if (!Number.isInteger(line) || line < 1 || line > lines.length) return [];
  let src = printable((lines[line - 1] as string).replace(/\r$/, ""));
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
