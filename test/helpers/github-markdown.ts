// What GitHub would make of a Markdown body, modelled conservatively for I19 tests: code spans and
// fences link nothing; a backslash-escaped character is literal text, but GitHub's mention and
// reference filters run on the rendered text, so an escaped `@` or `#` still counts here.

interface Scanned {
  /** The text as rendered, code spans included (for "nothing was lost" checks). */
  rendered: string;
  /** Rendered text outside code spans and fences: where GitHub links mentions, references and URLs. */
  linkable: string;
  /** Outside code, with escaped characters hidden: where `<`, `|`, `*`, `[` still act as Markdown. */
  active: string;
}

const PUNCT = /[!-/:-@[-`{-~]/;

export function scan(md: string): Scanned {
  let rendered = "";
  let linkable = "";
  let active = "";
  const lines = md.split("\n");
  let fence: string | null = null;
  lines.forEach((line, li) => {
    const nl = li < lines.length - 1 ? "\n" : "";
    const f = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fence !== null) {
      if (f && f[1]![0] === fence[0] && f[1]!.length >= fence.length) fence = null;
      rendered += line + nl;
      linkable += nl;
      active += nl;
      return;
    }
    if (f) {
      fence = f[1]!;
      rendered += line + nl;
      linkable += nl;
      active += nl;
      return;
    }
    for (let i = 0; i < line.length;) {
      const c = line[i]!;
      if (c === "\\" && i + 1 < line.length && PUNCT.test(line[i + 1]!)) {
        rendered += line[i + 1];
        linkable += line[i + 1];
        active += "·";
        i += 2;
        continue;
      }
      if (c === "`") {
        const run = /^`+/.exec(line.slice(i))![0];
        const close = line.indexOf(run, i + run.length);
        // A closing run of exactly the same length ends the span.
        let end = close;
        while (end !== -1 && (line[end + run.length] === "`" || line[end - 1] === "`")) end = line.indexOf(run, end + 1);
        if (end !== -1) {
          rendered += line.slice(i + run.length, end);
          linkable += " ";
          active += " ";
          i = end + run.length;
          continue;
        }
      }
      rendered += c;
      linkable += c;
      active += c;
      i++;
    }
    rendered += nl;
    linkable += nl;
    active += nl;
  });
  return { rendered, linkable, active };
}

/** `@user` and `@org/team` GitHub would link (and notify) in this Markdown. */
export function mentionsIn(md: string): string[] {
  return [...scan(md).linkable.matchAll(/(?<![A-Za-z0-9_])[@\uFF20\uFE6B]([A-Za-z0-9](?:[A-Za-z0-9-]*)(?:\/[A-Za-z0-9][A-Za-z0-9_.-]*)?)/g)].map((m) => m[1]!.toLowerCase());
}

/** Issue references (`#1`, `owner/repo#1`, `GH-1`, issue and pull URLs) GitHub would link. */
export function referencesIn(md: string): string[] {
  return [...scan(md).linkable.matchAll(/(?:[\w.-]+\/[\w.-]+)?[#\uFF03]\d+|\bGH-\d+|https?:\/\/\S+\/(?:issues|pull)\/\d+/gi)].map((m) => m[0]);
}

/** Closing keywords followed by what they close: merged into the default branch, GitHub would close it. */
export function closingIn(md: string): string[] {
  return [...scan(md).linkable.matchAll(/\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s*:?\s+(?:(?:[\w.-]+\/[\w.-]+)?#\d+|GH-\d+|https?:\/\/\S+\/(?:issues|pull)\/\d+)/gi)].map((m) => m[0]);
}

/** Autolinks GitHub would make (URLs, www., emails). */
export function linksIn(md: string): string[] {
  return [...scan(md).linkable.matchAll(/[a-z][a-z0-9+.-]*:\/\/\S+|\bwww\.\S+|[\w.+-]+@[\w-]+\.[\w.-]+/gi)].map((m) => m[0]);
}

/** Raw HTML (tags, comments, entities) that would still act. */
export function htmlIn(md: string): string[] {
  return [...scan(md).active.matchAll(/<[!/?A-Za-z][^>]*>?|&#?[A-Za-z0-9]+;/g)].map((m) => m[0]);
}

/** Hidden markers `<!-- … -->` as GitHub would keep them (the app's own and forged ones). */
export function markersIn(md: string): string[] {
  return [...scan(md).active.matchAll(/<!--[\s\S]*?-->/g)].map((m) => m[0]);
}

/** Lines that start a heading, a list item, a quote or a rule: the message's block structure. */
export function blocksIn(md: string): string[] {
  return scan(md).active.split("\n").filter((l) => /^ {0,3}(?:#{1,6}(?:\s|$)|[-+*]\s|\d+[.)]\s|>|(?:[-*_]\s*){3,}$)/.test(l));
}

/** Characters I18 never lets out. */
export const FORBIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}\u034F\u115F\u1160\u3164\uFFA0]/u;
