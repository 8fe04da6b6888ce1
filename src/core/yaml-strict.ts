// Strict YAML for request and policy files (docs/security.md I2). A request is inert data: the parser
// refuses every YAML feature that can make a file mean more than it shows (anchors, aliases, merge
// keys, tags, directives, extra documents, duplicate keys) and every input that can hurt the
// process (size, invalid UTF-8, depth). Depth is measured on yaml's CST, which its Parser builds
// without recursion, BEFORE the recursive Composer runs, so deep input cannot overflow the stack.
// The value is built by hand from the AST into null-prototype objects; yaml's toJS() is never
// called, so aliases are never expanded (the equivalent of maxAliasCount: 0).
import { Composer, LineCounter, Parser, isAlias, isMap, isPair, isScalar, isSeq } from "yaml";
import type { CST, Document, Node, ParsedNode, ScalarTag, Tags } from "yaml";
import { problem, type Problem } from "./problem.ts";
import { byPosition } from "./problem-order.ts";
import { FORBIDDEN_RAW, findForbidden, safeProblems, showSafe } from "./text.ts";
import { syntaxErrorOffset } from "./yaml-error-position.ts";

export const DEFAULT_MAX_BYTES = 16 * 1024;
export const DEFAULT_MAX_DEPTH = 32;
/** Hard ceiling on maxDepth: the Composer and the builder recurse once per level. */
const MAX_DEPTH_CEILING = 256;
/** Stop collecting after this many problems; a hostile file could otherwise produce thousands. */
const MAX_PROBLEMS = 100;

export interface Position {
  line: number;
  column: number;
}

/** Position of the value at `pointer` (object keys / array indexes); with `key`, of its key. */
export type Locate = (pointer: readonly string[], opts?: { key?: boolean }) => Position;

export type StrictYamlResult = { ok: true; value: unknown; locate: Locate } | { ok: false; problems: Problem[] };

export interface StrictYamlOptions {
  maxBytes?: number;
  maxDepth?: number;
}

const LONE_CR = /\r(?!\n)/;

const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

// Core schema, narrowed: integers only in plain decimal (no 0o/0x, no leading zeros, at most 15
// digits so they stay exact), booleans only `true`/`false`, no floats. Everything else stays a
// string for the JSON Schema to judge, so `010`, `0x1F`, `1e3`, `.inf`, `True` cannot sneak in
// as numbers or booleans. Keys are always strings (stringKeys).
const strictInt: ScalarTag = {
  tag: "tag:yaml.org,2002:int",
  default: true,
  test: /^-?(?:0|[1-9][0-9]{0,14})$/,
  identify: (v) => Number.isSafeInteger(v),
  resolve: (s) => Number(s),
};
const strictBool: ScalarTag = {
  tag: "tag:yaml.org,2002:bool",
  default: true,
  test: /^(?:true|false)$/,
  identify: (v) => typeof v === "boolean",
  resolve: (s) => s === "true",
};
const KEEP_CORE_TAGS = new Set(["tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:str", "tag:yaml.org,2002:null"]);

/** The options every document is composed with; exported so tests can show what they do. */
export const STRICT_YAML_OPTIONS = {
  version: "1.2",
  schema: "core",
  customTags: (tags: Tags): Tags => [...tags.filter((t) => typeof t !== "string" && KEEP_CORE_TAGS.has(t.tag)), strictBool, strictInt],
  merge: false,
  resolveKnownTags: false,
  uniqueKeys: true,
  stringKeys: true,
  strict: true,
  intAsBigInt: false,
  logLevel: "silent",
} as const;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Lenient = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

export function parseStrictYaml(bytes: Uint8Array, opts: StrictYamlOptions = {}): StrictYamlResult {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxDepth = Math.min(opts.maxDepth ?? DEFAULT_MAX_DEPTH, MAX_DEPTH_CEILING);

  // Size first: nothing below runs on an oversized file.
  if (bytes.byteLength > maxBytes) {
    return fail([problem("JIT_FILE_TOO_LARGE", `the file is ${bytes.byteLength} bytes; the limit is ${maxBytes}`, { line: 1, column: 1, hint: "a request is a few short lines; shorten the file" })]);
  }
  // A BOM is invisible in review and in diffs; refuse it rather than guess.
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return fail([problem("JIT_UTF8_INVALID", "the file starts with a byte-order mark", { line: 1, column: 1, hint: "save the file as UTF-8 without BOM" })]);
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return fail([problem("JIT_UTF8_INVALID", "the file is not valid UTF-8", { ...firstInvalidUtf8(bytes), hint: "save the file as UTF-8" })]);
  }

  const lines = new LineCounter();
  const tokens = Array.from(new Parser(lines.addNewLine).parse(text));
  const at = (offset: number): Position => {
    const { line, col } = lines.linePos(offset);
    return { line: Math.max(line, 1), column: Math.max(col, 1) };
  };
  const problems: Problem[] = [];

  // A CR is allowed raw only as half of a CRLF line ending: a lone CR is a line break to some
  // readers and not to others, so a line could hide behind it.
  const bad = findForbidden(text, FORBIDDEN_RAW) ?? findForbidden(text, LONE_CR);
  if (bad) {
    problems.push(problem("JIT_TEXT_FORBIDDEN_CHAR", `the file contains the invisible or control character ${bad.label}`, { ...at(bad.index), hint: "remove it; request files are plain text" }));
  }
  // The raw text is clean: anything forbidden in a value or key now came from a YAML escape (I18).
  const checkDecoded = !bad;
  if (!scanCst(tokens, maxDepth, problems, at)) return fail(byPosition(problems));

  const docs = Array.from(new Composer(STRICT_YAML_OPTIONS).compose(tokens, true));
  const doc = docs[0] as Document.Parsed;
  for (const d of docs) {
    for (const e of d.errors) {
      // Reported by our own walks with a sharper code.
      if (e.code === "DUPLICATE_KEY" || e.code === "NON_STRING_KEY" || e.code === "TAG_RESOLVE_FAILED" || e.code === "BAD_ALIAS" || e.code === "ALIAS_PROPS") continue;
      problems.push(problem("JIT_YAML_SYNTAX", showSafe(firstLine(e.message)), { ...at(syntaxErrorOffset(e, text, tokens)), hint: "fix the YAML syntax; quote values that contain ':' or '#'" }));
    }
  }
  const value = buildValue(doc.contents, 1, problems, at, checkDecoded);
  if (problems.length > 0) return fail(byPosition(problems));
  return { ok: true, value, locate: makeLocate(doc, at) };
}

function fail(problems: Problem[]): StrictYamlResult {
  // Keys and syntax errors are quoted in messages: never let them carry what they report.
  return { ok: false, problems: safeProblems(problems.slice(0, MAX_PROBLEMS)) };
}

/** I18: a decoded scalar (value or key) holding a forbidden character, reported by code point only. */
function decodedProblem(s: string, node: Node, at: (o: number) => Position, what: "value" | "key"): Problem | null {
  const bad = findForbidden(s);
  if (!bad) return null;
  return problem("JIT_TEXT_FORBIDDEN_CHAR", `a ${what} decodes to the invisible or control character ${bad.label} (written as an escape)`, {
    ...startOf(node, at), hint: "remove the escape sequence; request files are plain text",
  });
}

/** A key or token quoted in a message, forbidden characters named by code point (I18). */
function quoted(s: string | undefined): string {
  return showSafe(JSON.stringify(s ?? ""));
}

function firstLine(s: string): string {
  return s.split("\n", 1)[0] ?? s;
}

/**
 * Iterative walk over the CST: rejects directives, anchors, aliases, tags and extra documents,
 * and measures nesting. Returns false when the input is too deep to compose safely.
 */
function scanCst(tokens: CST.Token[], maxDepth: number, problems: Problem[], at: (o: number) => Position): boolean {
  // Two parallel stacks instead of {node, depth} frames: this walk runs on every file.
  const nodes: unknown[] = [];
  const depths: number[] = [];
  for (let i = tokens.length - 1; i >= 0; i--) {
    nodes.push(tokens[i]);
    depths.push(0);
  }
  let documents = 0;
  while (nodes.length > 0) {
    const node = nodes.pop();
    const depth = depths.pop() as number;
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) {
        nodes.push(node[i]);
        depths.push(depth);
      }
      continue;
    }
    if (typeof node !== "object" || node === null) continue;
    const t = node as Record<string, unknown> & { type?: string; offset?: number; source?: string };
    const where = () => at(t.offset ?? 0);
    let d = depth;
    switch (t.type) {
      case "directive":
        problems.push(problem("JIT_YAML_DIRECTIVE", `YAML directive ${quoted(t.source)} is not allowed`, { ...where(), hint: "delete the line; files are always read as plain YAML 1.2" }));
        break;
      case "anchor":
        problems.push(problem("JIT_YAML_ALIAS", `YAML anchor ${quoted(t.source)} is not allowed`, { ...where(), hint: "write every value out in full" }));
        break;
      case "alias":
        problems.push(problem("JIT_YAML_ALIAS", `YAML alias ${quoted(t.source)} is not allowed`, { ...where(), hint: "write every value out in full" }));
        break;
      case "tag":
        problems.push(problem("JIT_YAML_TAG", `explicit YAML tag ${quoted(t.source)} is not allowed`, { ...where(), hint: "remove the tag; quote the value if it must be text" }));
        break;
      case "document":
        documents++;
        if (documents === 2) problems.push(problem("JIT_YAML_MULTIPLE_DOCUMENTS", "the file holds more than one YAML document", { ...where(), hint: "remove the '---' separator and everything after it" }));
        break;
      case "block-map":
      case "block-seq":
      case "flow-collection":
        d = depth + 1;
        if (d > maxDepth) {
          problems.push(problem("JIT_YAML_TOO_DEEP", `the document nests deeper than ${maxDepth} levels`, { ...where(), hint: "flatten the structure" }));
          return false;
        }
        break;
    }
    if (problems.length >= MAX_PROBLEMS) return false;
    // Leaf tokens (cst.d.ts: SourceToken, Directive, ErrorToken) have a source and no children.
    if (typeof t.source === "string" && t.end === undefined && t.props === undefined) continue;
    // Children in reverse key order, so problems are found roughly in source order.
    const keys = Object.keys(t);
    for (let i = keys.length - 1; i >= 0; i--) {
      const c = t[keys[i] as string];
      if (typeof c === "object" && c !== null) {
        nodes.push(c);
        depths.push(d);
      }
    }
  }
  return true;
}

function startOf(node: Node | null | undefined, at: (o: number) => Position): Position {
  const r = node?.range;
  return r ? at(r[0]) : { line: 1, column: 1 };
}

/**
 * AST -> plain data in null-prototype objects, checking keys. Recursion is bounded: scanCst has
 * already proven the nesting is at most maxDepth (<= MAX_DEPTH_CEILING).
 */
function buildValue(node: unknown, depth: number, problems: Problem[], at: (o: number) => Position, checkDecoded: boolean): unknown {
  if (node === null || node === undefined) return null;
  if (isScalar(node)) {
    const v = node.value;
    if (checkDecoded && typeof v === "string") {
      const p = decodedProblem(v, node, at, "value");
      if (p) problems.push(p);
    }
    return typeof v === "string" || typeof v === "number" || typeof v === "boolean" || v === null ? v : null;
  }
  if (isAlias(node)) return null; // already reported by scanCst
  if (isSeq(node)) return node.items.map((item) => buildValue(item, depth + 1, problems, at, checkDecoded));
  if (isMap(node)) {
    const out = Object.create(null) as Record<string, unknown>;
    const seen = new Map<string, Position>();
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const key = pair.key as ParsedNode | null;
      const where = startOf(key ?? (pair.value as ParsedNode | null), at);
      if (!isScalar(key) || typeof key.value !== "string") {
        problems.push(problem("JIT_YAML_FORBIDDEN_KEY", "mapping keys must be plain strings", { ...where, hint: "use a simple text key" }));
        continue;
      }
      const k = key.value;
      const decoded = checkDecoded ? decodedProblem(k, key, at, "key") : null;
      if (decoded) {
        problems.push(decoded);
        continue;
      }
      if (k === "<<") {
        problems.push(problem("JIT_YAML_ALIAS", "YAML merge keys (<<) are not allowed", { ...where, hint: "write every value out in full" }));
        continue;
      }
      if (FORBIDDEN_KEYS.has(k) || k === "") {
        problems.push(problem("JIT_YAML_FORBIDDEN_KEY", `the key ${quoted(k)} is not allowed`, { ...where, hint: "rename or remove the key" }));
        continue;
      }
      const first = seen.get(k);
      if (first) {
        problems.push(problem("JIT_YAML_DUPLICATE_KEY", `the key ${quoted(k)} appears twice (first on line ${first.line})`, { ...where, hint: "keep exactly one of them" }));
        continue;
      }
      seen.set(k, where);
      out[k] = buildValue(pair.value, depth + 1, problems, at, checkDecoded);
    }
    return out;
  }
  return null;
}

function makeLocate(doc: Document.Parsed, at: (o: number) => Position): Locate {
  return (pointer, opts = {}) => {
    let node: unknown = doc.contents;
    let keyNode: Node | null = null;
    let parent: unknown = null;
    for (const seg of pointer) {
      parent = node;
      keyNode = null;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && p.key.value === seg);
        if (!pair) return startOf(parent as Node, at);
        keyNode = pair.key as Node;
        node = pair.value;
      } else if (isSeq(node)) {
        const item = node.items[Number(seg)];
        if (item === undefined) return startOf(parent as Node, at);
        node = item;
      } else {
        return startOf(node as Node, at);
      }
    }
    // An empty value (`reason:`) has no text of its own: point at its key.
    const r = (node as Node | null)?.range;
    const empty = !r || r[0] === r[1];
    if (keyNode && (opts.key || empty)) return startOf(keyNode, at);
    return startOf(node as Node, at);
  };
}

/** Line and column of the first byte that does not decode, for the error message. */
function firstInvalidUtf8(bytes: Uint8Array): Position {
  const s = utf8Lenient.decode(bytes);
  let offset = 0;
  let line = 1;
  let column = 1;
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (cp === 0xfffd && !(bytes[offset] === 0xef && bytes[offset + 1] === 0xbf && bytes[offset + 2] === 0xbd)) break;
    offset += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (ch === "\n") {
      line++;
      column = 1;
    } else {
      column += ch.length; // UTF-16 units, like yaml's LineCounter
    }
  }
  return { line, column };
}
