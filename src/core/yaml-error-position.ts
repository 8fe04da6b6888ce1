// Where to show a YAML syntax error. The yaml library reports some errors where it noticed them
// (the end of the file, the next key), not where the author has to look; these point back at the
// cause: the opening quote or bracket that is never closed, the line indented under a plain value.
import type { CST } from "yaml";

interface SyntaxError {
  code: string;
  pos: [number, number];
}

const QUOTED = new Set(["double-quoted-scalar", "single-quoted-scalar"]);

/** Every CST token, iteratively (the input is already known to nest boundedly, but stay flat). */
function tokensOf(roots: readonly CST.Token[]): CST.Token[] {
  const out: CST.Token[] = [];
  const pending: unknown[] = [...roots];
  while (pending.length > 0) {
    const node = pending.pop();
    if (Array.isArray(node)) {
      pending.push(...(node as unknown[]));
      continue;
    }
    if (typeof node !== "object" || node === null) continue;
    const t = node as Record<string, unknown>;
    if (typeof t.type === "string" && typeof t.offset === "number") out.push(node as CST.Token);
    for (const v of Object.values(t)) if (typeof v === "object" && v !== null) pending.push(v);
  }
  return out.sort((a, b) => a.offset - b.offset);
}

function unclosedQuote(t: CST.Token): boolean {
  if (!QUOTED.has(t.type) || !("source" in t)) return false;
  const s = t.source;
  const q = t.type === "double-quoted-scalar" ? '"' : "'";
  if (s.length < 2 || !s.endsWith(q)) return true;
  // A trailing escaped quote (\") does not close a double-quoted scalar.
  return q === '"' && /(?:^|[^\\])(?:\\\\)*\\"$/.test(s.slice(1));
}

function unclosedFlow(t: CST.Token): boolean {
  if (t.type !== "flow-collection") return false;
  return !t.end.some((e) => e.type === "flow-seq-end" || e.type === "flow-map-end");
}

/** The offset to report `e` at. */
export function syntaxErrorOffset(e: SyntaxError, text: string, roots: readonly CST.Token[]): number {
  const at = e.pos[0];
  if (e.code === "MISSING_CHAR" || e.code === "BAD_INDENT" || e.code === "UNEXPECTED_TOKEN") {
    // The last quote or bracket opened before the error and never closed.
    const open = tokensOf(roots).filter((t) => t.offset <= at && (unclosedQuote(t) || unclosedFlow(t))).at(-1);
    if (open) return open.offset;
  }
  if (e.code === "MULTILINE_IMPLICIT_KEY" || e.code === "BLOCK_AS_IMPLICIT_KEY") {
    // `role: a` followed by an over-indented `  duration: 2h`: the second line is the mistake.
    const end = Math.max(e.pos[1], text.indexOf(":", at));
    const nl = text.indexOf("\n", at);
    if (nl !== -1 && nl < end) {
      const m = /[^ \t\r\n]/.exec(text.slice(nl + 1));
      if (m) return nl + 1 + m.index;
    }
  }
  return at;
}
