// `.env` at start: fills only unset variables (the real environment wins, even an empty value),
// is optional, and is never read inside GitHub Actions.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadDotEnv, PROJECT_ENV_FILE } from "../../src/util/env-file.ts";

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

function envFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "jit-env-"));
  dirs.push(dir);
  const file = join(dir, ".env");
  writeFileSync(file, text);
  return file;
}

const FILE = 'APP_ID=123\nWEBHOOK_SECRET="from file"\n# a comment\nJIT_EXAMPLE=debug\nPRIVATE_KEY="-----BEGIN KEY-----\\nabc\\n-----END KEY-----"\n';

describe(".env", () => {
  it("fills unset variables and leaves every variable already set alone, even an empty one", () => {
    const env: NodeJS.ProcessEnv = { WEBHOOK_SECRET: "from environment", JIT_EXAMPLE: "" };
    expect(loadDotEnv(envFile(FILE), env)).toBe("loaded");
    expect(env).toEqual({
      WEBHOOK_SECRET: "from environment",
      JIT_EXAMPLE: "",
      APP_ID: "123",
      PRIVATE_KEY: "-----BEGIN KEY-----\nabc\n-----END KEY-----", // "\n" in double quotes is a newline, as with node --env-file
    });
  });

  it("is optional: no file, nothing changes", () => {
    const env: NodeJS.ProcessEnv = { A: "1" };
    expect(loadDotEnv(join(tmpdir(), "jit-no-such-dir", ".env"), env)).toBe("absent");
    expect(env).toEqual({ A: "1" });
  });

  it("is not read inside GitHub Actions, where a checkout could hold one", () => {
    const env: NodeJS.ProcessEnv = { GITHUB_ACTIONS: "true" };
    expect(loadDotEnv(envFile(FILE), env)).toBe("skipped");
    expect(env).toEqual({ GITHUB_ACTIONS: "true" });
  });

  it("works on the real process environment of a fresh process", () => {
    const file = envFile(FILE);
    const script = `import { loadDotEnv } from ${JSON.stringify(resolve(import.meta.dirname, "../../src/util/env-file.ts"))};
      console.log(loadDotEnv(${JSON.stringify(file)}));
      console.log(JSON.stringify([process.env.APP_ID, process.env.WEBHOOK_SECRET, process.env.JIT_EXAMPLE]));`;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", WEBHOOK_SECRET: "real", JIT_EXAMPLE: "" }, encoding: "utf8",
    });
    expect(out.trim().split("\n")).toEqual(["loaded", JSON.stringify(["123", "real", ""])]);
  });

  it("is the one next to package.json", () => {
    expect(PROJECT_ENV_FILE).toBe(resolve(import.meta.dirname, "../../.env"));
  });
});
