// `jit validate`: checks policies/*.yaml and the request files of a checkout with the same core
// code the app runs, for authors (text), CI annotations (github) and tools (json).
// Exit 0: everything valid; 1: something is invalid; 2: usage or configuration error.
import { stat } from "node:fs/promises";
import { isAbsolute, join, relative, resolve } from "node:path";
import { CODES } from "../core/codes.ts";
import { evaluatePolicy, evaluateRequestAgainstPolicy } from "../core/evaluate-policy.ts";
import { isPolicyPath, parsePolicies, POLICY_MAX_BYTES } from "../core/policy.ts";
import { plain, plainText, visible } from "../core/inert.ts";
import { problem, type Problem } from "../core/problem.ts";
import { parseRequest, REQUEST_MAX_BYTES } from "../core/request.ts";
import type { Policy } from "../core/types.ts";
import { parseCommand, unknownFormat, type OptionValues } from "./args.ts";
import type { CliIo } from "./io.ts";
import { entriesFor, listPolicyEntries, readCapped, walk, type RepoEntry } from "./repo-files.ts";

const USAGE = `usage: jit validate [--repo DIR] [--requester LOGIN [--team @org/team]...] [--format text|json|github] [PATH...]

Validates policies/*.yaml and the request files under access-requests/ (or only the given PATHs).
  --repo DIR          repository root (default: current directory)
  --requester LOGIN   also check that this GitHub user may make the requests
  --team @org/team    a team the requester belongs to (repeatable; without it, team membership is unknown)
  --format FMT        text (default), json, or github (workflow annotations)
Exit status: 0 all valid, 1 something invalid, 2 usage or configuration error.`;

const FORMATS = ["text", "json", "github"] as const;
type Format = (typeof FORMATS)[number];

const OPTIONS = {
  repo: { type: "string" },
  requester: { type: "string" },
  team: { type: "string", multiple: true },
} as const;

interface FileReport {
  path: string;
  problems: Problem[];
}

interface Options {
  cwd: string;
  repo: string;
  format: Format;
  requester?: string;
  teams?: ReadonlySet<string>;
  paths: string[];
}

class UsageError extends Error {}

export async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parseCommand(argv, io, { command: "validate", usage: USAGE, positionals: true, options: OPTIONS, formats: FORMATS, badFormat: unknownFormat });
  if (typeof args === "number") return args;
  try {
    return await validate(toOptions(args.values, args.positionals, args.format, io), io);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    return args.usageError(e.message);
  }
}

function toOptions(values: OptionValues<typeof OPTIONS>, positionals: string[], format: Format, io: CliIo): Options {
  if (values.team && !values.requester) throw new UsageError("--team needs --requester");
  if (values.requester !== undefined && !/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$/.test(values.requester)) {
    throw new UsageError(`"${values.requester}" is not a GitHub login`);
  }
  return {
    cwd: io.cwd,
    repo: resolve(io.cwd, values.repo ?? "."),
    format,
    ...(values.requester !== undefined ? { requester: values.requester } : {}),
    ...(values.team ? { teams: new Set(values.team.map((t) => t.toLowerCase())) } : {}),
    paths: positionals,
  };
}

async function validate(opts: Options, io: CliIo): Promise<number> {
  const { repo } = opts;
  const repoStat = await stat(repo).catch(() => null);
  if (!repoStat?.isDirectory()) throw new UsageError(`${repo} is not a directory`);

  const policyEntries = await listPolicyEntries(repo);
  if (policyEntries === null) throw new UsageError(`${repo} has no policies/ directory`);
  const reports: FileReport[] = [];
  const policyFiles: { path: string; bytes: Uint8Array }[] = [];
  for (const e of policyEntries) {
    if (e.kind === "file" && isPolicyPath(e.path)) policyFiles.push({ path: e.path, bytes: await readCapped(e.abs, POLICY_MAX_BYTES) });
    else if (isPolicyPath(e.path)) reports.push({ path: e.path, problems: [problem("JIT_POLICY_INVALID", "a policy file must be a regular file, not a symbolic link", { path: e.path, line: 1, column: 1, hint: "replace the link with the file itself" })] });
    else if (/\.ya?ml$/i.test(e.path)) reports.push({ path: e.path, problems: [problem("JIT_POLICY_INVALID", "policy files must end in .yaml; this one is ignored by the app", { path: e.path, line: 1, column: 1, hint: "rename it to end in .yaml" })] });
  }
  if (policyFiles.length === 0) throw new UsageError(`${repo} has no policies/*.yaml files`);
  const policies = parsePolicies(policyFiles);
  for (const f of policyFiles) reports.push({ path: f.path, problems: policies.problems.filter((p) => p.path === f.path) });
  const policy = policies.ok ? policies.details : null;

  for (const entry of await requestEntries(opts)) {
    if (isPolicyPath(entry.path)) continue; // validated above with the others
    reports.push({ path: entry.path, problems: await checkRequest(entry, policy, opts) });
  }
  reports.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const ok = reports.every((r) => r.problems.length === 0);
  print(reports, ok, policy !== null, opts, io);
  return ok ? 0 : 1;
}

async function requestEntries(opts: Options): Promise<RepoEntry[]> {
  if (opts.paths.length === 0) return walk(opts.repo, join(opts.repo, "access-requests"));
  const seen = new Map<string, RepoEntry>();
  for (const p of opts.paths) {
    const abs = resolve(opts.cwd, p);
    const rel = relative(opts.repo, abs);
    if (rel.startsWith("..") || isAbsolute(rel)) throw new UsageError(`${p} is outside the repository ${opts.repo}`);
    const entries = await entriesFor(opts.repo, abs);
    if (entries === null) throw new UsageError(`${p}: no such file or directory`);
    for (const e of entries) seen.set(e.path, e);
  }
  return [...seen.values()];
}

async function checkRequest(entry: RepoEntry, policy: Policy | null, opts: Options): Promise<Problem[]> {
  if (entry.kind !== "file") {
    return [problem("JIT_PATH_INVALID", `${entry.path} is ${entry.kind === "symlink" ? "a symbolic link" : "not a regular file"}; only regular files count as requests`, {
      path: entry.path, line: 1, column: 1, hint: "replace it with a regular file",
    })];
  }
  const parsed = parseRequest(entry.path, await readCapped(entry.abs, REQUEST_MAX_BYTES));
  if (!parsed.ok || !parsed.details || !policy) return parsed.problems;
  const request = parsed.details;
  const decision = opts.requester === undefined
    ? evaluateRequestAgainstPolicy(request, policy)
    : evaluatePolicy({ request, policy, requester: opts.requester, ...(opts.teams ? { requesterTeams: opts.teams } : {}) });
  return decision.problems;
}

function print(reports: FileReport[], ok: boolean, policyOk: boolean, opts: Options, io: CliIo): void {
  if (opts.format === "json") {
    io.out(JSON.stringify({
      ok,
      files: reports.map((r) => ({
        path: visible(r.path),
        ok: r.problems.length === 0,
        errors: r.problems.map((p) => ({ code: p.code, message: p.message, line: p.line ?? 1, column: p.column ?? 1 })),
      })),
    }));
    return;
  }
  const invalid = reports.filter((r) => r.problems.length > 0);
  const errors = invalid.reduce((n, r) => n + r.problems.length, 0);
  const summary = `${reports.length} file${reports.length === 1 ? "" : "s"} checked: ${reports.length - invalid.length} valid, ${invalid.length} invalid (${errors} error${errors === 1 ? "" : "s"})`;
  const notes: string[] = [];
  if (!policyOk) notes.push("Policy checks on requests were skipped because the policies are invalid.");
  if (opts.requester === undefined) notes.push("Requester checks were skipped (who may ask, identity, user): pass --requester LOGIN to run them.");
  else if (opts.teams === undefined) notes.push(`Team membership of ${opts.requester} is unknown: pass --team @org/team for each of their teams.`);

  if (opts.format === "github") {
    for (const r of invalid) for (const p of r.problems) io.out(annotation(r.path, p));
    io.out(summary);
    for (const n of notes) io.out(n);
    return;
  }
  for (const r of reports) {
    if (r.problems.length === 0) {
      io.out(`ok    ${visible(r.path)}`);
      continue;
    }
    for (const p of r.problems) {
      io.out(`error ${visible(r.path)}:${p.line ?? 1}:${p.column ?? 1} ${p.code}: ${p.message}`);
      io.out(`      fix: ${p.hint ?? CODES[p.code]}`);
    }
  }
  io.out("");
  io.out(summary);
  for (const n of notes) io.out(n);
}

// Workflow command escaping per GitHub's toolkit: data escapes %, CR, LF; properties also : and ,.
const escapeData = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
const escapeProperty = (s: string) => escapeData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");

/** Annotations are shown on GitHub: the message is made inert like everything the app writes there (I19). */
function annotation(path: string, p: Problem): string {
  const props = [`file=${escapeProperty(visible(path))}`, `line=${p.line ?? 1}`, `col=${p.column ?? 1}`, `title=${escapeProperty(p.code)}`].join(",");
  const message = p.hint ? plain`${plainText(p.message, { max: 1000 })} (fix: ${p.hint})` : plainText(p.message, { max: 1000 });
  return `::error ${props}::${escapeData(message.text)}`;
}
