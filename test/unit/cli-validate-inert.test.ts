// I19/I18 in `jit validate`: the GitHub annotations it prints quote hostile keys, values and paths
// inert, and no output format echoes a hidden character.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { captureIo } from "../../src/cli/io.ts";
import { run } from "../../src/cli/validate.ts";
import { closingIn, FORBIDDEN } from "../helpers/github-markdown.ts";
import { POLICY_FIXTURE } from "./support/core-fixtures.ts";

const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

function repo(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "jit-validate-inert-"));
  temps.push(dir);
  for (const [p, content] of Object.entries({ "policies/orders.yaml": readFileSync(POLICY_FIXTURE, "utf8"), ...files })) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), content);
  }
  return dir;
}

async function validate(dir: string, format: string) {
  const io = captureIo({}, dir);
  const code = await run(["--repo", dir, "--format", format], io);
  return { code, out: io.stdout.join("\n") };
}

describe("I19: jit validate --format github", () => {
  it("I19: hostile keys, values and paths are quoted inert in annotations; no format echoes a hidden character", async () => {
    const dir = repo({
      "access-requests/orders-prod/alice-1.yaml": `role: orders_readonly\nduration: "@victim fixes #1"\nreason: ok\nticket: INC-1\n"@acme/security closes acme/access#2": 1\n`,
      "access-requests/@victim fixes #3/x\u202E.yaml": "role: orders_readonly\n",
      "access-requests/orders-prod/hidden.yaml": `role: orders_readonly\nduration: 2h\nreason: "a\\u202Eb\\u200Dc"\nticket: INC-1\n`,
    });
    const gh = await validate(dir, "github");
    expect(gh.code).toBe(1);
    const annotations = gh.out.split("\n").filter((l) => l.startsWith("::error"));
    expect(annotations.length).toBeGreaterThanOrEqual(4);
    for (const a of annotations) {
      const message = a.slice(a.indexOf("::", 2) + 2);
      expect(message).not.toMatch(/(?<![A-Za-z0-9_])@(?:victim|acme\/security)/);
      expect(closingIn(message)).toEqual([]);
    }
    expect(gh.out).toContain("@ victim");
    for (const format of ["github", "text", "json"]) {
      const r = await validate(dir, format);
      expect(r.out.replace(/\n/g, " ")).not.toMatch(FORBIDDEN);
    }
  });
});
