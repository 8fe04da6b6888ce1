// CODEOWNERS, parsed and matched the way GitHub does, and stricter where GitHub is vague.
//
// Who owns a request file decides who may approve it, so this is our own parser: the npm libraries
// get nesting and case wrong. Semantics (GitHub's "About code owners" and the conformance corpus in
// test/fixtures/codeowners):
// - the first file that exists of .github/CODEOWNERS, CODEOWNERS, docs/CODEOWNERS is the only one used;
// - one rule per line: a gitignore-style pattern, then owners (@user, @org/team, email);
// - the LAST matching rule wins, and a matching rule without owners leaves the path unowned;
// - paths are case-sensitive; `*` and `?` never cross `/`; `**` spans directories;
// - a pattern without a leading or inner `/` matches at any depth, otherwise it is anchored at the root;
//   a trailing `/` matches everything below the directory; a last segment other than a lone `*` also
//   matches everything below a directory of that name;
// - `#` starts a comment at the start of a line or after whitespace; `\ ` is a space inside a pattern;
//   `\*`, `\?`, `\[`, `\]`, `\\` are literal.
// GitHub skips lines it cannot interpret; so do we, and we report each one as an error with its line.
// Unsupported gitignore syntax (`!` negation, `[ ]` ranges, a leading `\#`) and anything ambiguous is
// such an error: the line matches nothing. Callers that grant access fail closed on errors that could
// affect a path (see erroneousLinesAfter).

export interface CodeownersRule {
  /** The pattern as written (escapes included). */
  pattern: string;
  /** Owners as written: "@login", "@org/team" or an email address. */
  owners: string[];
  /** 1-based line number in the file. */
  line: number;
}

export interface CodeownersError {
  line: number;
  message: string;
}

export interface ParsedCodeowners {
  rules: CodeownersRule[];
  errors: CodeownersError[];
}

export interface Ownership {
  /** Owners of the matching rule; empty when no rule matches or the last match has no owners. */
  owners: string[];
  /** Line of the rule that decided, or null when no rule matches. */
  line: number | null;
}

/** Where GitHub looks for CODEOWNERS, highest precedence first. */
export const CODEOWNERS_LOCATIONS = [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"] as const;

/** GitHub ignores a CODEOWNERS file larger than 3 MB. */
export const CODEOWNERS_MAX_BYTES = 3 * 1024 * 1024;

/**
 * Picks the CODEOWNERS GitHub would use: the first location (in precedence order) that exists.
 * `files` maps candidate paths to their text, or undefined when the file does not exist.
 */
export function selectCodeowners(files: ReadonlyMap<string, string | undefined>): { path: string; text: string } | null {
  for (const path of CODEOWNERS_LOCATIONS) {
    const text = files.get(path);
    if (text !== undefined) return { path, text };
  }
  return null;
}

/** The CODEOWNERS GitHub would use, parsed; null when none of the locations exists. */
export interface SelectedCodeowners {
  path: string;
  parsed: ParsedCodeowners;
}

/**
 * Like selectCodeowners, from file bytes (as read at a commit). A file GitHub would ignore as a whole
 * (over 3 MB, not UTF-8) is still the selected one, GitHub does not fall back to the next location,
 * and it yields no rules and an error on line 1.
 */
export function codeownersFromBytes(files: ReadonlyMap<string, Uint8Array | undefined>): SelectedCodeowners | null {
  for (const path of CODEOWNERS_LOCATIONS) {
    const bytes = files.get(path);
    if (bytes === undefined) continue;
    if (bytes.byteLength > CODEOWNERS_MAX_BYTES) return { path, parsed: { rules: [], errors: [{ line: 1, message: "the file is over 3 MB; GitHub ignores it" }] } };
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      return { path, parsed: { rules: [], errors: [{ line: 1, message: "the file is not valid UTF-8" }] } };
    }
    return { path, parsed: parseCodeowners(text) };
  }
  return null;
}

/** Parses a CODEOWNERS file. Never throws; lines it cannot interpret are errors and match nothing. */
export function parseCodeowners(text: string): ParsedCodeowners {
  const rules: CodeownersRule[] = [];
  const errors: CodeownersError[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const parsed = parseLine((lines[i] ?? "").replace(/\r$/, ""));
    if (parsed === null) continue;
    if ("error" in parsed) {
      errors.push({ line: lineNo, message: parsed.error });
      continue;
    }
    const rule: CodeownersRule = { pattern: parsed.pattern, owners: parsed.owners, line: lineNo };
    compiled.set(rule, parsed.matcher);
    rules.push(rule);
  }
  return { rules, errors };
}

/** Owners of `path` (repository-relative, no leading slash): the last matching rule wins. */
export function ownersOf(parsed: ParsedCodeowners, path: string): Ownership {
  for (let i = parsed.rules.length - 1; i >= 0; i--) {
    const rule = parsed.rules[i]!;
    if (matcherOf(rule).matches(path)) return { owners: [...rule.owners], line: rule.line };
  }
  return { owners: [], line: null };
}

/**
 * Errors on lines after the rule that decided `ownership` (or on any line when no rule matched).
 * Those are lines GitHub skips but whose author may have meant them to apply to the path, since a
 * later line would have won; a grant must not rest on such a guess. Earlier lines cannot matter:
 * the last match wins whatever they say.
 */
export function erroneousLinesAfter(parsed: ParsedCodeowners, ownership: Ownership): CodeownersError[] {
  const after = ownership.line ?? 0;
  return parsed.errors.filter((e) => e.line > after);
}

/**
 * Whether a single pattern matches a path, with GitHub's semantics; false for a pattern that is
 * invalid by itself (e.g. `***`, an empty segment). Used by the conformance test and `ownersOf`.
 * Syntax GitHub refuses at the line level (`!`, unescaped `[ ]`, `#`) is checked by parseCodeowners.
 */
export function matchPattern(pattern: string, path: string): boolean {
  const m = compilePattern(pattern);
  return "error" in m ? false : m.matches(path);
}

/** The kind of a syntactically valid owner, or null when GitHub would not accept it. */
export function ownerKind(owner: string): "user" | "team" | "email" | null {
  if (USER_OWNER.test(owner) && owner.length <= 40) return "user";
  if (TEAM_OWNER.test(owner)) return "team";
  if (EMAIL_OWNER.test(owner)) return "email";
  return null;
}

// GitHub logins: alphanumerics and hyphens, at most 39 characters; managed users add `_shortcode`.
const USER_OWNER = /^@[A-Za-z0-9][A-Za-z0-9_-]*$/;
const TEAM_OWNER = /^@[A-Za-z0-9][A-Za-z0-9_-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const EMAIL_OWNER = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$/;

interface Matcher {
  matches(path: string): boolean;
}

const compiled = new WeakMap<CodeownersRule, Matcher>();

function matcherOf(rule: CodeownersRule): Matcher {
  let m = compiled.get(rule);
  if (!m) {
    // A rule built by hand (not by parseCodeowners): compile it; an invalid one matches nothing.
    const c = compilePattern(rule.pattern);
    m = "error" in c ? { matches: () => false } : c;
    compiled.set(rule, m);
  }
  return m;
}

type LineResult = null | { error: string } | { pattern: string; owners: string[]; matcher: Matcher };

const isBlank = (ch: string | undefined): boolean => ch === " " || ch === "\t";

function parseLine(raw: string): LineResult {
  let i = 0;
  while (isBlank(raw[i])) i++;
  if (i === raw.length || raw[i] === "#") return null;

  // The pattern runs to the first unescaped blank; `\ ` keeps a space inside it.
  const start = i;
  while (i < raw.length && !isBlank(raw[i])) {
    if (raw[i] === "\\") {
      if (i + 1 >= raw.length) return { error: "a pattern cannot end with a lone backslash" };
      i += 2;
    } else i++;
  }
  const pattern = raw.slice(start, i);

  const syntax = checkPatternSyntax(pattern);
  if (syntax) return { error: syntax };
  const matcher = compilePattern(pattern);
  if ("error" in matcher) return { error: matcher.error };

  const owners: string[] = [];
  for (const token of raw.slice(i).split(/[ \t]+/)) {
    if (token === "") continue;
    if (token.startsWith("#")) break; // trailing comment
    if (ownerKind(token) === null) return { error: `invalid owner "${printable(token)}": expected @user, @org/team or an email address` };
    owners.push(token);
  }
  return { pattern, owners, matcher };
}

/** Gitignore syntax that GitHub does not support in CODEOWNERS, and characters we refuse to guess about. */
function checkPatternSyntax(pattern: string): string | null {
  if (pattern.startsWith("\\#")) return "escaping a leading # with \\ is not supported by GitHub; the line would not be a pattern";
  if (pattern.startsWith("!")) return "negation (!) is not supported in CODEOWNERS";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === "\\") {
      i++;
      if (pattern[i] === "#") return "'#' inside a pattern is ambiguous (GitHub may read a comment); rename the path or use a wildcard";
      continue;
    }
    if (ch === "[" || ch === "]") return "character ranges ([ ]) are not supported in CODEOWNERS; escape literal brackets as \\[ and \\]";
    if (ch === "#") return "'#' inside a pattern is ambiguous (GitHub may read a comment); rename the path or use a wildcard";
    const code = ch.charCodeAt(0);
    if (code < 0x20 || code === 0x7f) return "the pattern contains a control character";
  }
  return null;
}

function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f]/g, "?").slice(0, 80);
}

// ---------------------------------------------------------------------------------------------
// Pattern compilation. A pattern becomes a small NFA over characters, simulated in O(pattern x path)
// so that no pattern, however many `**` it has, can make matching slow (no backtracking regex).

type Atom = { lit: string } | "star" | "any1";
type Segment = Atom[];

type Tok =
  | { k: "lit"; ch: string } // exactly this character
  | { k: "one" } // one character other than "/"
  | { k: "oneAny" } // any one character
  | { k: "star" } // zero or more characters other than "/"
  | { k: "starAny" }; // zero or more characters

interface Nfa {
  toks: Tok[];
  /** Optional groups: from token index -> index after the group (an epsilon edge). */
  skips: Map<number, number>;
}

function compilePattern(pattern: string): Matcher | { error: string } {
  const atoms = toAtoms(pattern);
  if ("error" in atoms) return atoms;
  let segs: Segment[] = [[]];
  for (const a of atoms.atoms) {
    if (typeof a === "object" && a.lit === "/") segs.push([]);
    else segs[segs.length - 1]!.push(a);
  }
  if (segs.every((s) => s.length === 0)) return { error: "the pattern matches nothing" };

  const isDoubleStar = (s: Segment) => s.length === 2 && s[0] === "star" && s[1] === "star";
  const isLoneStar = (s: Segment) => s.length === 1 && s[0] === "star";
  const doubleStar: Segment = ["star", "star"];

  if (segs[0]!.length === 0) {
    segs = segs.slice(1); // leading "/": anchored at the root
  } else if (segs.length === 1 || (segs.length === 2 && segs[1]!.length === 0)) {
    // A single name matches at any depth, as if written "**/name".
    if (!isDoubleStar(segs[0]!)) segs = [doubleStar, ...segs];
  }
  if (segs.length > 1 && segs[segs.length - 1]!.length === 0) segs[segs.length - 1] = doubleStar; // trailing "/"
  // "**/" (or "/**/") has no documented meaning: gitignore reads "everything", the corpus' regex
  // semantics "nothing". Refuse to guess.
  if (segs.length === 2 && isDoubleStar(segs[0]!) && isDoubleStar(segs[1]!)) return { error: "the pattern **/ is ambiguous; use * or ** to mean everything" };
  if (segs.some((s) => s.length === 0)) return { error: "the pattern has an empty path segment (//)" };
  for (const s of segs) {
    for (let j = 0; j + 2 < s.length; j++) {
      if (s[j] === "star" && s[j + 1] === "star" && s[j + 2] === "star") return { error: "a pattern cannot contain three consecutive asterisks" };
    }
  }

  const nfa: Nfa = { toks: [], skips: new Map() };
  const push = (...t: Tok[]) => nfa.toks.push(...t);
  const optional = (...t: Tok[]) => {
    const from = nfa.toks.length;
    push(...t);
    nfa.skips.set(from, nfa.toks.length);
  };
  const slash: Tok = { k: "lit", ch: "/" };
  const last = segs.length - 1;
  let needSlash = false;
  segs.forEach((seg, i) => {
    if (isDoubleStar(seg)) {
      if (i === 0 && i === last) push({ k: "oneAny" }, { k: "starAny" }); // "**": anything
      else if (i === 0) {
        optional({ k: "oneAny" }, { k: "starAny" }, slash); // leading: any leading directories
        needSlash = false;
      } else if (i === last) push(slash, { k: "starAny" }); // trailing: everything below
      else {
        optional(slash, { k: "oneAny" }, { k: "starAny" }); // inner: zero or more directories
        needSlash = true;
      }
      return;
    }
    if (needSlash) push(slash);
    needSlash = true;
    if (isLoneStar(seg)) {
      push({ k: "one" }, { k: "star" }); // one whole non-empty name, nothing below it
      return;
    }
    for (const a of seg) {
      if (a === "star") push({ k: "star" });
      else if (a === "any1") push({ k: "one" });
      else push({ k: "lit", ch: a.lit });
    }
    if (i === last) optional(slash, { k: "starAny" }); // a file of that name, or anything below it
  });
  return { matches: (path) => runNfa(nfa, path) };
}

function toAtoms(pattern: string): { atoms: Atom[] } | { error: string } {
  const atoms: Atom[] = [];
  // Iterate by code point so a surrogate pair is one literal.
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === "\\") {
      const next = chars[++i];
      if (next === undefined) return { error: "a pattern cannot end with a lone backslash" };
      atoms.push({ lit: next });
    } else if (ch === "*") atoms.push("star");
    else if (ch === "?") atoms.push("any1");
    else atoms.push({ lit: ch });
  }
  if (atoms.length === 0) return { error: "empty pattern" };
  return { atoms };
}

function runNfa(nfa: Nfa, path: string): boolean {
  const n = nfa.toks.length;
  let current = closure(nfa, [0]);
  for (const ch of path) {
    const next: number[] = [];
    for (const s of current) {
      const t = nfa.toks[s];
      if (!t) continue;
      switch (t.k) {
        case "lit":
          if (t.ch === ch) next.push(s + 1);
          break;
        case "one":
          if (ch !== "/") next.push(s + 1);
          break;
        case "oneAny":
          next.push(s + 1);
          break;
        case "star":
          if (ch !== "/") next.push(s);
          break;
        case "starAny":
          next.push(s);
          break;
      }
    }
    if (next.length === 0) return false;
    current = closure(nfa, next);
  }
  return current.has(n);
}

function closure(nfa: Nfa, states: number[]): Set<number> {
  const seen = new Set<number>();
  const stack = [...states];
  while (stack.length > 0) {
    const s = stack.pop()!;
    if (seen.has(s)) continue;
    seen.add(s);
    const t = nfa.toks[s];
    if (t && (t.k === "star" || t.k === "starAny")) stack.push(s + 1);
    const skip = nfa.skips.get(s);
    if (skip !== undefined) stack.push(skip);
  }
  return seen;
}
