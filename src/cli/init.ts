// `jit init [DIR]`: scaffolds an access repository (policies with one example database,
// CODEOWNERS, schemas, the validate and backstop workflows, a README for requesters). It never
// overwrites: every target is checked before anything is written, and each file is created with
// O_EXCL, so an existing file (or a link in its place) stops it with nothing written.
// Exit 0: written; 1: a target exists (JIT_INIT_FILE_EXISTS); 2: usage.
import { execFile } from "node:child_process";
import { lstat, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parseCommand } from "./args.ts";
import { scaffoldFiles, type ScaffoldOptions } from "./init-templates.ts";
import type { CliIo } from "./io.ts";

const USAGE = `usage: jit init [DIR] [--org ORG] [--source OWNER/NAME@REF] [--mode server|actions] [--branch NAME]

Writes a new access repository into DIR (default: current directory): policies/example.yaml,
.github/CODEOWNERS, schemas/, .github/workflows/validate.yml and revoke-expired.yml, README.md.
Refuses to overwrite: if any of these files exists, nothing is written.
  --org ORG                  GitHub organization of the example teams (default: acme)
  --source OWNER/NAME@REF    the jit-access repository and commit the workflows run jit from
                             (default: this checkout's GitHub origin at its current commit)
  --mode MODE                server (default): the app runs as a server; actions: no server, the
                             workflows jit-check, jit-review, jit-grant and jit-sweep run the app
                             instead of revoke-expired.yml (docs/actions-mode.md)
  --branch NAME              actions mode: the default branch the grant workflow runs on (default main)
Exit status: 0 written, 1 a file exists, 2 usage error.`;

const ORG = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$/;
const SOURCE = /^([A-Za-z0-9-]{1,39}\/[A-Za-z0-9._-]{1,100})@([0-9a-f]{40}|v[0-9]+(?:\.[0-9]+){0,2}|[0-9]+\.[0-9]+\.[0-9]+)$/;
// Plain names only: the branch goes into a YAML flow list unquoted.
const BRANCH = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$/;
const PACKAGE_ROOT = fileURLToPath(new URL("../..", import.meta.url));

export async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parseCommand(argv, io, {
    command: "init", usage: USAGE, positionals: true, options: { org: { type: "string" }, source: { type: "string" }, mode: { type: "string" }, branch: { type: "string" } },
  });
  if (typeof args === "number") return args;
  const { values, positionals, usageError } = args;
  if (positionals.length > 1) return usageError("give at most one DIR");
  const org = values.org ?? "acme";
  if (!ORG.test(org)) return usageError(`"${org}" is not a GitHub organization name`);
  const sourceText = values.source ?? (await ownSource());
  if (sourceText === null) return usageError("cannot tell which jit-access repository the workflows should run: pass --source OWNER/NAME@REF");
  const m = SOURCE.exec(sourceText);
  if (!m) return usageError(`--source must be OWNER/NAME@REF with REF a full commit SHA or a version tag, not "${sourceText}"`);
  const mode = values.mode ?? "server";
  if (mode !== "server" && mode !== "actions") return usageError(`--mode must be server or actions, not "${mode}"`);
  const branch = values.branch ?? "main";
  if (values.branch !== undefined && mode !== "actions") return usageError("--branch is for --mode actions");
  if (!BRANCH.test(branch)) return usageError(`"${branch}" is not a branch name the workflows can name`);
  const options: ScaffoldOptions = { org, source: { repository: m[1] as string, ref: m[2] as string }, mode, branch };

  const dir = resolve(io.cwd, positionals[0] ?? ".");
  const files = scaffoldFiles(options, await packageSchemas());
  const blocked = await blockedTargets(dir, [...files.keys()]);
  if (blocked.length > 0) {
    for (const b of blocked) io.err(`jit init: JIT_INIT_FILE_EXISTS: ${b}`);
    io.err(`jit init: nothing was written to ${dir}`);
    return 1;
  }
  for (const [path, text] of files) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text, { flag: "wx", mode: 0o644 }); // wx: never through an existing file or link
    io.out(`wrote ${path}`);
  }
  io.out("");
  io.out(`Next: edit policies/example.yaml and .github/CODEOWNERS for your teams, check with \`jit validate --repo ${shown(relative(io.cwd, dir), dir)}\`,`);
  io.out(mode === "actions"
    ? "create the jit-app and jit-database environments (default branch only) with their secrets, and install the jit-access app (docs/actions-mode.md)."
    : "create the jit-expiry environment with its secrets, and install the jit-access app on the repository.");
  return 0;
}

/**
 * Why each target cannot be written: it exists (as anything, a dangling link too), or a folder on
 * its way is a link or not a folder, which could put the file somewhere else.
 */
async function blockedTargets(dir: string, paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    const parts = path.split("/");
    let at = dir;
    for (const [i, part] of parts.entries()) {
      at = join(at, part);
      const st = await lstat(at).catch(() => null);
      if (!st) break;
      const last = i === parts.length - 1;
      if (last) out.push(`${path} exists`);
      else if (st.isSymbolicLink() || !st.isDirectory()) {
        out.push(`${parts.slice(0, i + 1).join("/")} is ${st.isSymbolicLink() ? "a symbolic link" : "not a folder"}, needed for ${path}`);
        break;
      }
    }
  }
  return [...new Set(out)];
}

/**
 * The contracts an access repository edits against (requests and policies), copied as they are;
 * the CLI's output schemas (audit, report) describe this tool's output and stay in the package.
 */
const REPOSITORY_SCHEMAS: ReadonlySet<string> = new Set(["access-request.schema.json", "policy.schema.json"]);

async function packageSchemas(): Promise<Map<string, string>> {
  const schemasDir = join(PACKAGE_ROOT, "schemas");
  const names = (await readdir(schemasDir)).filter((n) => REPOSITORY_SCHEMAS.has(n)).sort();
  return new Map(await Promise.all(names.map(async (n) => [n, await readFile(join(schemasDir, n), "utf8")] as const)));
}

/** OWNER/NAME@SHA of this checkout when its origin is on GitHub, else null. */
async function ownSource(): Promise<string | null> {
  const git = async (...a: string[]) => (await promisify(execFile)("git", ["-C", PACKAGE_ROOT, ...a])).stdout.trim();
  try {
    const url = await git("remote", "get-url", "origin");
    const repo = /github\.com[/:]([A-Za-z0-9-]{1,39}\/[A-Za-z0-9._-]{1,100}?)(?:\.git)?\/?$/.exec(url)?.[1];
    return repo ? `${repo}@${await git("rev-parse", "HEAD")}` : null;
  } catch {
    return null;
  }
}


const shown = (rel: string, abs: string): string => (rel === "" ? "." : rel.startsWith("..") ? abs : rel);
