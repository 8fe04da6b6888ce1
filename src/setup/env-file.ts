// Writes the app's credentials into .env after registration. The file ends up mode 0600 (it holds
// the private key), is replaced atomically (a crash never leaves half a key), keeps every other
// line as it was, and reports by name (never by value) which keys it replaced. Values are checked
// first so that nothing GitHub answers can add a line of its own (e.g. "x\nDATABASE_URL=…").
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { parseEnv } from "node:util";

export interface EnvWriteResult {
  path: string;
  /** Every key written. */
  keys: string[];
  /** Keys that were absent or empty before. */
  added: string[];
  /** Keys that held another non-empty value before: that value is gone. */
  replaced: string[];
}

const KEY = /^[A-Z_][A-Z0-9_]*$/;
const PLAIN = /^[\x21-\x7e]+$/; // printable ASCII, no space
const UNSAFE = /["'`#\\$]/;
const PEM = /^-----BEGIN (?:RSA )?PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END (?:RSA )?PRIVATE KEY-----\n?$/;

function encode(key: string, value: string): string {
  if (!KEY.test(key)) throw new Error(`refusing to write the key ${JSON.stringify(key)} to .env`);
  if (PEM.test(value)) return `${key}="${value.replace(/\n/g, "\\n")}"`; // util.parseEnv and loadEnvFile expand \n inside double quotes
  if (!PLAIN.test(value) || UNSAFE.test(value)) throw new Error(`refusing to write ${key} to .env: its value is not a plain token`);
  return `${key}=${value}`;
}

/** Sets `values` in the .env at `path` (created when absent), leaving other lines untouched. */
export function writeEnvFile(path: string, values: Record<string, string>): EnvWriteResult {
  const lines = Object.entries(values).map(([k, v]) => [k, encode(k, v)] as const);
  const before = existsSync(path) ? readFileSync(path, "utf8") : "";
  const old = parseEnv(before);
  const out: string[] = [];
  const pending = new Map(lines);
  for (const line of before === "" ? [] : before.replace(/\n$/, "").split("\n")) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line);
    const key = m?.[1];
    if (key && pending.has(key)) { out.push(pending.get(key)!); pending.delete(key); } // first occurrence wins, later ones drop
    else if (!key || !values[key]) out.push(line);
  }
  for (const l of pending.values()) out.push(l);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  writeFileSync(tmp, out.join("\n") + "\n", { mode: 0o600, flag: "wx" });
  chmodSync(tmp, 0o600); // the umask may have narrowed, never widened, the mode; make it exact
  renameSync(tmp, path);
  const keys = Object.keys(values);
  return {
    path,
    keys,
    added: keys.filter((k) => !old[k]),
    replaced: keys.filter((k) => !!old[k] && old[k] !== values[k]),
  };
}
