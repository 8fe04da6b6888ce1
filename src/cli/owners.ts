// `jit owners PATH…`: who owns these paths per the repository's CODEOWNERS, exactly as the app
// computes it (src/core/codeowners.ts), with the line that decided and every line GitHub would skip.
// Exit 0: CODEOWNERS read without errors; 1: it has errors or does not exist; 2: usage.
import { lstat } from "node:fs/promises";
import { isAbsolute, join, relative, resolve } from "node:path";
import {
  CODEOWNERS_LOCATIONS, CODEOWNERS_MAX_BYTES, codeownersFromBytes, ownersOf, type SelectedCodeowners,
} from "../core/codeowners.ts";
import { parseCommand, unknownFormat } from "./args.ts";
import type { CliIo } from "./io.ts";
import { readCapped } from "./repo-files.ts";

const USAGE = `usage: jit owners PATH... [--repo DIR] [--format text|json]

Prints the code owners of each repository-relative PATH per the first of .github/CODEOWNERS,
CODEOWNERS, docs/CODEOWNERS that exists, the line that decided, and lines GitHub would not interpret.
  --repo DIR     repository root (default: current directory)
  --format FMT   text (default) or json:
                 {"errors":[{"line","message"}],"paths":[{"path","owners":[...],"line":N|null}]}
Exit status: 0 ok, 1 CODEOWNERS has errors or does not exist, 2 usage error.`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parseCommand(argv, io, {
    command: "owners", usage: USAGE, positionals: true, options: { repo: { type: "string" } }, formats: ["text", "json"], badFormat: unknownFormat,
  });
  if (typeof args === "number") return args;
  const { values, positionals, format, usageError } = args;
  if (positionals.length === 0) return usageError("name at least one PATH");

  const repo = resolve(io.cwd, values.repo ?? ".");
  try {
    if (!(await lstat(repo)).isDirectory()) return usageError(`${repo} is not a directory`);
  } catch {
    return usageError(`${repo} does not exist`);
  }

  const selected = await readCodeowners(repo);
  const paths = positionals.map((p) => {
    const path = toRepoPath(repo, p);
    const own = selected ? ownersOf(selected.parsed, path) : { owners: [], line: null };
    return { path, owners: own.owners, line: own.line };
  });
  const errors = selected?.parsed.errors ?? [];

  if (format === "json") {
    io.out(JSON.stringify({ errors: errors.map((e) => ({ line: e.line, message: e.message })), paths }));
  } else {
    io.out(selected ? `CODEOWNERS: ${selected.path}` : "CODEOWNERS: none (looked for .github/CODEOWNERS, CODEOWNERS, docs/CODEOWNERS)");
    for (const e of errors) io.out(`${selected?.path}:${e.line}: error: ${e.message} (line not interpreted)`);
    for (const p of paths) {
      const how = p.line === null ? "unowned: no rule matches" : p.owners.length === 0 ? `unowned: line ${p.line} has no owners` : `line ${p.line}`;
      io.out(`${p.path}  ${p.owners.join(" ")}${p.owners.length > 0 ? "  " : ""}(${how})`);
    }
  }
  if (!selected) io.err("jit owners: no CODEOWNERS file; every path is unowned and no request can be approved");
  return !selected || errors.length > 0 ? 1 : 0;
}

/** PATHs are repository-relative ("./x" and "/x" too); an absolute path inside the repository is made relative. */
function toRepoPath(repo: string, p: string): string {
  const inside = isAbsolute(p) ? relative(repo, p) : "";
  const path = inside && !inside.startsWith("..") && !isAbsolute(inside) ? inside : p;
  return path.split("\\").join("/").replace(/^(\.\/|\/)+/, "");
}

/** The working tree's CODEOWNERS by GitHub's precedence; a symlink or non-file is reported, not followed. */
export async function readCodeowners(repo: string): Promise<SelectedCodeowners | null> {
  const files = new Map<string, Uint8Array | undefined>();
  for (const path of CODEOWNERS_LOCATIONS) {
    const abs = join(repo, path);
    let st;
    try {
      st = await lstat(abs);
    } catch {
      continue;
    }
    if (!st.isFile()) {
      return { path, parsed: { rules: [], errors: [{ line: 1, message: `${path} is ${st.isSymbolicLink() ? "a symbolic link" : "not a regular file"}; it was not read` }] } };
    }
    files.set(path, await readCapped(abs, CODEOWNERS_MAX_BYTES));
    break;
  }
  return codeownersFromBytes(files);
}
