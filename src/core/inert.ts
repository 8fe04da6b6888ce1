// Untrusted text made inert before it reaches GitHub (I19) and without invisible characters (I18).
// Anything a requester controls (request keys and values, paths, PR titles, branch names, logins,
// problem messages quoting them) may only reach GitHub through this module:
// - `md` builds Markdown: its literal parts are the app's own words, every interpolated string is
//   escaped (`text`), and only `Md` values built here pass unescaped. Renderers return `Md`, and
//   the GitHub adapters accept only `Md`, so pasting a raw string into a body does not type-check.
// - `plain` does the same for plain-text fields (check-run and issue titles, annotations, commit
//   messages), where Markdown escapes would show but references and mentions still matter.
// Pure: no I/O.

/**
 * Characters that are never echoed (I18): controls (line breaks included), format characters
 * (bidi overrides and isolates, zero-width spaces and joiners, BOM, soft hyphen, tag characters),
 * line and paragraph separators, lone surrogates, private use, noncharacters, and every default-ignorable
 * code point (the invisible "blank letters", variation selectors, Khmer inherent vowels).
 */
const HIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}]/gu;

/** Look-alikes GitHub or a reader might take for `@` and `#`: shown as the ASCII sign, then escaped like it. */
const LOOKALIKE: Record<string, string> = { "\uFF20": "@", "\uFE6B": "@", "\uFF03": "#", "\uFE5F": "#" };

/** Replaces every character I18 forbids with a visible escape such as `\u202E`. */
export function visible(s: string): string {
  return s.replace(HIDDEN, (c) => `\\u${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`);
}

/** At most `max` characters (code points, never half a surrogate pair), marked with "…" when cut. */
export function bound(s: string, max: number): string {
  const chars = Array.from(s);
  return chars.length <= max ? s : `${chars.slice(0, Math.max(0, max - 1)).join("")}…`;
}

/** Default bound for one untrusted value; a reason or a problem message fits, a pasted file does not. */
export const MAX_VALUE = 300;

const prepare = (s: string, max: number) => visible(bound(s, max)).replace(/[\uFF20\uFE6B\uFF03\uFE5F]/g, (c) => LOOKALIKE[c]!);

/**
 * What GitHub would turn into a link, a mention or an issue reference: URLs (autolinked; issue
 * URLs close issues), `@user` / `@org/team` and emails, `#12`, `GH-12`. Shown as code spans, where
 * GitHub links nothing; none of these tokens can hold a backtick, a pipe or a space.
 */
const LINKABLE = /[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s<>|`\\]*|www\.[^\s<>|`\\]+|@[A-Za-z0-9_][A-Za-z0-9_./-]*|#[0-9]+|\bGH-[0-9]+/gi;

/**
 * Markdown that can start anywhere in a line: escapes, code, emphasis and strikethrough, links and
 * images, HTML and comments, entities, table cells, math. `_` only where it could open or close
 * emphasis (GFM ignores it inside words, so `orders_readonly` stays readable).
 */
const INLINE = /[\\`*[\]<>|~&$]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g;

/** Block structure a value could open if it started a line: headings, lists, quotes, rules, setext underlines. */
const LINE_START = /^(?:[#>+=-]|\d+(?=[.)]))/;

export interface InertOptions {
  /** Characters (code points) kept before the value is cut with "…". */
  max?: number;
  /**
   * Logins and teams (lowercase, without `@`) that may stay mentions: accounts the app read from
   * GitHub itself (the PR author, reviewers), never names a requester typed.
   */
  mentions?: ReadonlySet<string>;
}

const isKnownMention = (token: string, o: InertOptions) => token.startsWith("@") && o.mentions?.has(token.slice(1).toLowerCase()) === true;

/** Safe Markdown: only this module makes one. */
export class Md {
  readonly #text: string;
  private constructor(text: string) {
    this.#text = text;
  }
  /** Internal: the caller guarantees `text` is safe. */
  static unsafeTrusted(text: string): Md {
    return new Md(text);
  }
  get text(): string {
    return this.#text;
  }
  toString(): string {
    return this.#text;
  }
}

/** Safe plain text (titles, annotations, commit messages): only this module makes one. */
export class Plain {
  readonly #text: string;
  private constructor(text: string) {
    this.#text = text;
  }
  static unsafeTrusted(text: string): Plain {
    return new Plain(text);
  }
  get text(): string {
    return this.#text;
  }
  toString(): string {
    return this.#text;
  }
}

/** Untrusted text as inline Markdown: renders as the characters it holds and nothing more. */
export function text(s: string, o: InertOptions = {}): Md {
  const t = prepare(s, o.max ?? MAX_VALUE);
  const escape = (part: string) => part.replace(INLINE, "\\$&");
  let out = "";
  let last = 0;
  for (const m of t.matchAll(LINKABLE)) {
    out += escape(t.slice(last, m.index)) + (isKnownMention(m[0], o) ? m[0] : `\`${m[0]}\``);
    last = m.index + m[0].length;
  }
  out += escape(t.slice(last));
  // `\#`, `\-`, `1\.`: the value cannot open a block even where a renderer starts a line with it.
  return Md.unsafeTrusted(out.replace(LINE_START, (m) => (/^\d/.test(m) ? `${m}\\` : `\\${m}`)));
}

/** Untrusted text as an inline code span when it can be one (no backtick, pipe or space), else as `text`. */
export function code(s: string, max = 100): Md {
  const t = prepare(s, max);
  return t !== "" && /^[^`|\s]+$/.test(t) ? Md.unsafeTrusted(`\`${t}\``) : text(s, { max });
}

/** A stable `JIT_*` code as it is (the app's own word); anything else as text. */
export function jitCode(c: string): Md {
  return /^JIT_[A-Z0-9_]+$/.test(c) ? Md.unsafeTrusted(c) : text(c);
}

const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;

/** `@login` for a well-formed GitHub login the app means to mention (requester, approvers); anything else as code. */
export function mention(login: string): Md {
  return LOGIN.test(login) ? Md.unsafeTrusted(`@${login}`) : code(login);
}

/** A fenced code block whose lines cannot close the fence. */
export function codeBlock(lang: string, lines: readonly string[]): Md {
  const body = lines.map((l) => visible(l));
  const longest = Math.max(2, ...body.map((l) => Math.max(0, ...[...l.matchAll(/`+/g)].map((m) => m[0].length))));
  const fence = "`".repeat(longest + 1);
  return Md.unsafeTrusted([`${fence}${lang.replace(/[^a-z]/g, "")}`, ...body, fence].join("\n"));
}

type MdValue = Md | string | number;

/** Markdown from the app's own words (the literal parts) and values: strings are escaped, `Md` is kept. */
export function md(strings: TemplateStringsArray, ...values: MdValue[]): Md {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += (v instanceof Md ? v.text : typeof v === "number" ? String(v) : text(v).text) + strings[i + 1]!;
  });
  return Md.unsafeTrusted(out);
}

/** Joins safe pieces. */
export function joinMd(parts: readonly Md[], separator: string): Md {
  return Md.unsafeTrusted(parts.map((p) => p.text).join(separator));
}

/** A closing keyword GitHub reads in PR bodies and commit messages, followed by what it closes (`Fixes:#1` too). */
const CLOSING = /\b(close[sd]?|fix(?:e[sd])?|resolve[sd]?)(\s*:\s*|\s+)(?=[A-Za-z0-9_.-]*\/?[A-Za-z0-9_.-]*#[0-9]|GH-[0-9]|[A-Za-z][A-Za-z0-9+.-]*:\/\/)/gi;

/**
 * Untrusted text for a plain-text field: no hidden characters, bounded; a space after `@` where
 * GitHub could see a mention (unless allowed), and the closing keyword cut from an issue reference
 * or URL that follows it (a PR title becomes a merge commit message).
 */
export function plainText(s: string, o: InertOptions = {}): Plain {
  const t = prepare(s, o.max ?? MAX_VALUE)
    .replace(/@([A-Za-z0-9_][A-Za-z0-9_./-]*)/g, (m: string) => (isKnownMention(m, o) ? m : `@ ${m.slice(1)}`))
    .replace(CLOSING, "$1 —$2");
  return Plain.unsafeTrusted(t);
}

/** Plain text from the app's own words and values: strings are made inert, `Plain` is kept. */
export function plain(strings: TemplateStringsArray, ...values: (Plain | string | number)[]): Plain {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += (v instanceof Plain ? v.text : typeof v === "number" ? String(v) : plainText(v).text) + strings[i + 1]!;
  });
  return Plain.unsafeTrusted(out);
}

/** Bounds a finished plain text (GitHub's field limits) without leaving half a character. */
export function boundPlain(p: Plain, max: number): Plain {
  return Plain.unsafeTrusted(bound(p.text, max));
}

/**
 * A hidden marker `<!-- name:key -->` the app finds its own comments and issues by. The key is
 * percent-encoded outside a small safe set, so it can never end the comment or hold a second marker.
 */
export function marker(name: string, key?: string): Md {
  const enc = (s: string) => s.replace(/[^A-Za-z0-9:/._-]/gu, (c) => encodeURIComponent(c).replace(/[!'()*]/g, (x) => `%${x.charCodeAt(0).toString(16).toUpperCase()}`));
  return Md.unsafeTrusted(`<!-- ${enc(visible(name))}${key === undefined ? "" : `:${enc(visible(key))}`} -->`);
}
