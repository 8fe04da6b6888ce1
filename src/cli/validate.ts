// `jit validate`: checks policies/*.yaml and the request files of a checkout with the same core
// code the app runs, for authors (text, with the offending line), CI annotations (github), tools
// (json) and code scanning (sarif). It also checks that every grantable role can be approved at all.
// Exit 0: everything valid; 1: something is invalid; 2: usage or configuration error.
import { JitError } from "../core/errors.ts";
import { stat } from "node:fs/promises";
import { isAbsolute, join, relative, resolve } from "node:path";
import { CODES } from "../core/codes.ts";
import { evaluatePolicy, evaluateRequestAgainstPolicy } from "../core/evaluate-policy.ts";
import { startProblems } from "../core/schedule.ts";
import { breakGlassProblems } from "../core/break-glass.ts";
import { isPolicyPath, parsePolicies, POLICY_MAX_BYTES } from "../core/policy.ts";
import { irregularEntry } from "../core/policy-reader.ts";
import { plain, plainText, visible } from "../core/inert.ts";
import { problem, type Problem } from "../core/problem.ts";
import { parseRequest, REQUEST_MAX_BYTES } from "../core/request.ts";
import { sourceExcerpt } from "../core/source-excerpt.ts";
import { showSafe } from "../core/text.ts";
import { sameConnection, sharedRoleProblems } from "../core/shared-roles.ts";
import type { Policy } from "../core/types.ts";
import { parseStrictYaml, type Locate } from "../core/yaml-strict.ts";
import { parseCommand, unknownFormat, type OptionValues } from "./args.ts";
import type { CliIo } from "./io.ts";
import { readCodeowners } from "./owners.ts";
import { entriesFor, findRepoRoot, readCapped, walk, type RepoEntry } from "./repo-files.ts";
import { renderSarif } from "./sarif.ts";
import { ownershipProblems } from "./validate-owners.ts";
import { diskPolicyReader } from "../policy-loader.ts";

const USAGE = `usage: jit validate [--repo DIR] [--requester LOGIN [--team @org/team]...] [--format text|json|github|sarif] [PATH...]

Validates policies/*.yaml and the request files under access-requests/ (or only the given PATHs),
and that a CODEOWNERS owner of each database's request folder can satisfy each role's approvers.
  --repo DIR          repository root (default: the nearest folder up from here with policies/ or .git)
  --requester LOGIN   also check that this GitHub user may make the requests
  --team @org/team    a team the requester belongs to (repeatable; without it, team membership is unknown)
  --format FMT        text (default), json, github (workflow annotations) or sarif (SARIF 2.1.0)
Exit status: 0 all valid, 1 something invalid, 2 usage or configuration error.`;

const FORMATS = ["text", "json", "github", "sarif"] as const;
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
  /** Null: find it from the working directory. */
  repo: string | null;
  format: Format;
  requester?: string;
  teams?: ReadonlySet<string>;
  paths: string[];
}

class UsageError extends JitError {
  constructor(message: string) {
    super("JIT_USAGE", message);
  }
}

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
    repo: values.repo === undefined ? null : resolve(io.cwd, values.repo),
    format,
    ...(values.requester !== undefined ? { requester: values.requester } : {}),
    ...(values.team ? { teams: new Set(values.team.map((t) => t.toLowerCase())) } : {}),
    paths: positionals,
  };
}

async function validate(given: Options, io: CliIo): Promise<number> {
  const repo = given.repo ?? (await findRepoRoot(given.cwd)) ?? given.cwd;
  const opts = { ...given, repo };
  const repoStat = await stat(repo).catch(() => null);
  if (!repoStat?.isDirectory()) throw new UsageError(`${repo} is not a directory`);

  // The app's own policy reader lists the directory: a file the app would refuse is refused here.
  const policyReader = diskPolicyReader(repo);
  const policyEntries = (await policyReader.list())?.sort((a, b) => (a.path < b.path ? -1 : 1)) ?? null;
  if (policyEntries === null) throw new UsageError(`${repo} has no policies/ directory`);
  const reports: FileReport[] = [];
  /** What each reported file holds, for the source lines in text output. */
  const sources = new Map<string, Uint8Array>();
  const policyFiles: { path: string; bytes: Uint8Array }[] = [];
  for (const e of policyEntries) {
    const irregular = irregularEntry(e);
    if (!irregular && isPolicyPath(e.path)) policyFiles.push({ path: e.path, bytes: (await policyReader.read(e)) ?? new Uint8Array() });
    else if (isPolicyPath(e.path)) reports.push({ path: e.path, problems: [problem("JIT_POLICY_INVALID", `a policy file must be a regular file (mode 100644), not ${irregular}`, { path: e.path, line: 1, column: 1, hint: "replace it with a regular, non-executable file" })] });
    else if (e.type === "blob" && /\.ya?ml$/i.test(e.path)) reports.push({ path: e.path, problems: [problem("JIT_POLICY_INVALID", "policy files must end in .yaml; this one is ignored by the app", { path: e.path, line: 1, column: 1, hint: "rename it to end in .yaml" })] });
  }
  if (policyFiles.length === 0) throw new UsageError(`${repo} has no policies/*.yaml files`);
  const policies = parsePolicies(policyFiles);
  for (const f of policyFiles) reports.push({ path: f.path, problems: policies.problems.filter((p) => p.path === f.path) });
  const policy = policies.ok ? policies.details : null;
  for (const f of policyFiles) sources.set(f.path, f.bytes);
  if (policy) await addOwnershipProblems(repo, policy, policyFiles, reports, sources);
  // I16: one role on one cluster under two keys, told by the connection variables' names and values.
  for (const p of policy ? sharedRoleProblems(policy, sameConnection(policy, io.env)) : []) {
    const report = reports.find((r) => r.path === p.path);
    if (report) report.problems.push(p);
    else reports.push({ path: p.path ?? "policies", problems: [p] });
  }

  for (const entry of await requestEntries(opts)) {
    if (isPolicyPath(entry.path)) continue; // validated above with the others
    reports.push({ path: entry.path, problems: await checkRequest(entry, policy, opts, sources) });
  }
  reports.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const ok = reports.every((r) => r.problems.length === 0);
  print(reports, ok, policy !== null, opts, io, sources);
  return ok ? 0 : 1;
}

/** JIT_NO_ELIGIBLE_OWNER on policy files, JIT_CODEOWNERS_ERROR on the CODEOWNERS file. */
async function addOwnershipProblems(repo: string, policy: Policy, policyFiles: readonly { path: string; bytes: Uint8Array }[], reports: FileReport[], sources: Map<string, Uint8Array>): Promise<void> {
  const codeowners = await readCodeowners(repo);
  const locators = new Map<string, Locate | null>();
  const locate = (path: string): Locate | null => {
    if (!locators.has(path)) {
      const bytes = policyFiles.find((f) => f.path === path)?.bytes;
      const parsed = bytes ? parseStrictYaml(bytes, { maxBytes: POLICY_MAX_BYTES }) : null;
      locators.set(path, parsed?.ok ? parsed.locate : null);
    }
    return locators.get(path) ?? null;
  };
  for (const p of await ownershipProblems(policy, codeowners, locate)) {
    const path = p.path ?? codeowners?.path ?? "";
    let report = reports.find((r) => r.path === path);
    if (!report) reports.push((report = { path, problems: [] }));
    report.problems.push(p);
  }
  if (codeowners && !sources.has(codeowners.path)) {
    sources.set(codeowners.path, await readCapped(join(repo, codeowners.path), 64 * 1024).catch(() => new Uint8Array()));
  }
}

async function requestEntries(opts: Options & { repo: string }): Promise<RepoEntry[]> {
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

async function checkRequest(entry: RepoEntry, policy: Policy | null, opts: Options, sources: Map<string, Uint8Array>): Promise<Problem[]> {
  if (entry.kind !== "file") {
    return [problem("JIT_PATH_INVALID", `${entry.path} is ${entry.kind === "symlink" ? "a symbolic link" : "not a regular file"}; only regular files count as requests`, {
      path: entry.path, line: 1, column: 1, hint: "replace it with a regular file",
    })];
  }
  const bytes = await readCapped(entry.abs, REQUEST_MAX_BYTES);
  sources.set(entry.path, bytes);
  const parsed = parseRequest(entry.path, bytes);
  if (!parsed.ok || !parsed.details || !policy) return parsed.problems;
  const request = parsed.details;
  const decision = opts.requester === undefined
    ? evaluateRequestAgainstPolicy(request, policy)
    : evaluatePolicy({ request, policy, requester: opts.requester, ...(opts.teams ? { requesterTeams: opts.teams } : {}) });
  // The same start rules as the check: against now (the merge re-checks against its merge time).
  const db = Object.hasOwn(policy.databases, request.database) ? policy.databases[request.database] : undefined;
  const role = db && Object.hasOwn(db.roles, request.role) ? db.roles[request.role] : undefined;
  const teams = new Set([...(opts.teams ?? [])].map((t) => t.toLowerCase()));
  return [...decision.problems, ...(role ? [...startProblems(request, role, Date.now()), ...breakGlassProblems(request, role, opts.requester ?? null, teams)] : [])];
}

const lenient = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

function print(reports: FileReport[], ok: boolean, policyOk: boolean, opts: Options, io: CliIo, sources: ReadonlyMap<string, Uint8Array>): void {
  if (opts.format === "json") {
    io.out(JSON.stringify({
      ok,
      files: reports.map((r) => ({
        path: visible(r.path),
        ok: r.problems.length === 0,
        errors: r.problems.map((p) => ({ code: p.code, message: p.message, line: p.line ?? 1, column: p.column ?? 1, fix: p.hint ?? CODES[p.code] })),
      })),
    }));
    return;
  }
  if (opts.format === "sarif") {
    io.out(JSON.stringify(renderSarif(reports)));
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
      io.out(`ok    ${showSafe(r.path)}`);
      continue;
    }
    const bytes = sources.get(r.path);
    const text = bytes ? lenient.decode(bytes) : null;
    for (const p of r.problems) {
      // File names come from the checkout: never let one write escape sequences to the terminal.
      io.out(`error ${showSafe(r.path)}:${p.line ?? 1}:${p.column ?? 1} ${p.code}: ${showSafe(p.message)}`);
      // The line itself, with a caret under the column (not for files too large to have been parsed).
      if (text !== null && p.code !== "JIT_FILE_TOO_LARGE") for (const l of sourceExcerpt(text, p.line ?? 1, p.column ?? 1)) io.out(`      ${l}`);
      io.out(`      fix: ${showSafe(p.hint ?? CODES[p.code])}`);
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
