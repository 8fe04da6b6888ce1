// .env written by the registration flow: mode 0600, other lines kept, replaced keys named, and no
// value can smuggle in a line of its own.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { generateKeyPairSync } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { writeEnvFile } from "../../src/setup/env-file.ts";

let dir: string;
let path: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), "jit-env-")); path = join(dir, ".env"); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const pem = generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } }).privateKey;

describe("writeEnvFile", () => {
  it("creates .env with mode 0600; the PEM round-trips through util.parseEnv (what loadEnvFile reads)", () => {
    const r = writeEnvFile(path, { APP_ID: "42", PRIVATE_KEY: pem, WEBHOOK_SECRET: "abc123" });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(parseEnv(readFileSync(path, "utf8"))).toEqual({ APP_ID: "42", PRIVATE_KEY: pem, WEBHOOK_SECRET: "abc123" });
    expect(r).toMatchObject({ added: ["APP_ID", "PRIVATE_KEY", "WEBHOOK_SECRET"], replaced: [] });
    expect(readdirSync(dir)).toEqual([".env"]); // no temporary file left behind
  });

  it("keeps comments and other keys, fills empty keys in place, names the keys whose value it replaced", () => {
    writeFileSync(path, "# comment\nAPP_ID=\nWEBHOOK_SECRET=old\nDATABASE_URL=postgres://x\nWEBHOOK_SECRET=dup\n", { mode: 0o644 });
    const r = writeEnvFile(path, { APP_ID: "7", WEBHOOK_SECRET: "new" });
    expect(readFileSync(path, "utf8")).toBe("# comment\nAPP_ID=7\nWEBHOOK_SECRET=new\nDATABASE_URL=postgres://x\n");
    expect(r.added).toEqual(["APP_ID"]);
    expect(r.replaced).toEqual(["WEBHOOK_SECRET"]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it("I9: a value cannot add a line (newline, quotes, comment, expansion) and nothing is written", () => {
    writeFileSync(path, "KEEP=1\n");
    for (const v of ["x\nDATABASE_URL=postgres://evil", "x\rY=1", 'a"b', "a'b", "a#b", "a b", "$HOME", "a\\nb", "", "ü"]) {
      expect(() => writeEnvFile(path, { WEBHOOK_SECRET: v }), JSON.stringify(v)).toThrow(/not a plain token/);
    }
    expect(() => writeEnvFile(path, { "A=B\nC": "x" })).toThrow(/refusing to write the key/);
    expect(readFileSync(path, "utf8")).toBe("KEEP=1\n");
    expect(existsSync(join(dir, `.${".env"}.${process.pid}.tmp`))).toBe(false);
  });

  it("I9: a PEM with something appended is not a PEM", () => {
    expect(() => writeEnvFile(path, { PRIVATE_KEY: `${pem}EXTRA=1\n` })).toThrow(/not a plain token/);
  });
});
