// Characters that make text read differently from what it is (I18): C0/C1 controls other than tab
// and line breaks, bidirectional marks and overrides (Trojan Source), zero-width and other invisible
// formatting characters, look-alike spaces, line/paragraph separators, BOMs, Unicode tag characters
// (invisible text smuggled after an emoji) and lone surrogates. The same set is checked on the raw
// file and on every decoded scalar, because YAML escapes (`"\u202E"`, `"\0"`, `"\_"`, `"\L"`…)
// produce them from plain ASCII. Messages show such a character only as `U+XXXX`, never itself.
import type { Problem } from "./problem.ts";

// Ranges, in order: C0 controls except \t \n \r; DEL, C1 controls and NBSP; soft hyphen;
// combining grapheme joiner; Arabic letter mark; Hangul fillers; Ogham space; Mongolian vowel
// separator; en/em/thin/hair spaces, zero-width space/non-joiner/joiner, LRM/RLM; line and paragraph
// separators, embeddings, overrides, narrow NBSP; medium math space, word joiner, invisible
// operators, isolates, deprecated format characters; Hangul filler; BOM / zero-width NBSP; halfwidth
// Hangul filler; interlinear annotations; lone surrogates (the `u` flag leaves only unpaired ones);
// tag characters; ideographic space. Then by Unicode property, so the list cannot miss one: every
// format character (Arabic number signs, Egyptian and musical format controls…), every default-
// ignorable code point (variation selectors, Mongolian free variation selectors, Khmer inherent
// vowels), noncharacters and private use (the renderer hides those as well, so refuse them here).
const RANGES =
  "\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u00A0\\u00AD\\u034F\\u061C\\u115F\\u1160\\u1680\\u180E" +
  "\\u2000-\\u200F\\u2028-\\u202F\\u205F-\\u206F\\u3000\\u3164\\uFEFF\\uFFA0\\uFFF9-\\uFFFB\\uD800-\\uDFFF\\u{E0000}-\\u{E007F}" +
  "\\p{Cf}\\p{Default_Ignorable_Code_Point}\\p{Noncharacter_Code_Point}\\p{Co}";

/** Forbidden anywhere in a file's raw text (CR stays allowed there: CRLF files are fine). */
// eslint-disable-next-line no-misleading-character-class -- a class of invisible and combining characters is the point
export const FORBIDDEN_RAW = new RegExp(`[${RANGES}]`, "u");
/** Forbidden in a decoded value or key: the raw set plus CR, which only an escape can produce. */
// eslint-disable-next-line no-misleading-character-class -- a class of invisible and combining characters is the point
export const FORBIDDEN_DECODED = new RegExp(`[\\r${RANGES}]`, "u");
// eslint-disable-next-line no-misleading-character-class -- a class of invisible and combining characters is the point
const FORBIDDEN_ALL = new RegExp(`[\\r${RANGES}]`, "gu");

/** "U+202E" for a code point: how messages name a character they must not show. */
export function codePointLabel(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** The first forbidden character of `s` (decoded rules), with its UTF-16 index. */
export function findForbidden(s: string, re: RegExp = FORBIDDEN_DECODED): { index: number; label: string } | null {
  const m = re.exec(s);
  return m ? { index: m.index, label: codePointLabel(m[0].codePointAt(0) as number) } : null;
}

/** `s` with every forbidden character replaced by its `U+XXXX` label, safe to show anywhere. */
export function showSafe(s: string): string {
  return s.replace(FORBIDDEN_ALL, (c) => `<${codePointLabel(c.codePointAt(0) as number)}>`);
}

/** Problems whose message and hint are safe to render in a check run, a comment or a log line. */
export function safeProblems(problems: readonly Problem[]): Problem[] {
  return problems.map((p) => ({ ...p, message: showSafe(p.message), ...(p.hint !== undefined ? { hint: showSafe(p.hint) } : {}) }));
}
