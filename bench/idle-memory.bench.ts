// Benchmark (not a test): the server's idle memory. Starts `npm start` as a developer would (a
// GitHub App configured, no DATABASE_URL: the embedded PostgreSQL under .data/) in a throwaway copy
// of the checkout, waits until it listens and then IDLE_S seconds more, and reads VmRSS of the app's
// node process from /proc (PostgreSQL's processes are not counted: they are not the app). Goal
// (issue 12): one node process, at most 120 MB.
// Usage: npm run bench:memory -- [checkout]   (default: this checkout)
import { spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(process.argv[2] ?? join(import.meta.dirname, ".."));
const IDLE_S = Number(process.env.IDLE_S ?? 15);
const GOAL_MB = 120;

const dir = mkdtempSync(join(tmpdir(), "jit-idle-"));
chmodSync(dir, 0o755); // the embedded cluster runs as the postgres OS user under root
for (const part of ["src", "bin", "schemas", "policies", "app.yml", "package.json"]) cpSync(join(ROOT, part), join(dir, part), { recursive: true });
symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
const child = spawn("npm", ["start"], {
  cwd: dir, stdio: ["ignore", "pipe", "pipe"],
  env: {
    PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH ?? "/usr/bin:/bin"}`, HOME: dir,
    APP_ID: "4242", PRIVATE_KEY: privateKey, WEBHOOK_SECRET: randomBytes(8).toString("hex"), JIT_REPOSITORIES: "acme/access", PORT: "0", HOST: "127.0.0.1",
  },
});
let out = "";
child.stdout.on("data", (c: Buffer) => (out += c.toString()));
child.stderr.on("data", (c: Buffer) => (out += c.toString()));
const kb = (pid: number, field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
let pid = 0;
try {
  for (const start = Date.now(); !pid; await new Promise((r) => setTimeout(r, 100))) {
    pid = Number(/listening on .*pid (\d+)/.exec(out)?.[1] ?? 0);
    if (Date.now() - start > 180_000 || child.exitCode !== null) throw new Error(`the app did not start: ${out.slice(-2000)}`);
  }
  await new Promise((r) => setTimeout(r, IDLE_S * 1000));
  const nodes = (readFileSync(`/proc/${child.pid}/status`, "utf8").match(/^Name:\s+(\S+)/m)?.[1] ?? "?");
  const rss = kb(pid, "VmRSS") / 1024;
  console.log(`idle memory of ${ROOT} after ${IDLE_S} s idle, node ${process.version}`);
  console.log(`app node process ${pid}: VmRSS ${rss.toFixed(1)} MB (VmHWM ${(kb(pid, "VmHWM") / 1024).toFixed(1)} MB); parent ${child.pid} is ${nodes} (${pid === child.pid ? "the app itself" : "npm"})`);
  console.log(`goal ≤ ${GOAL_MB} MB: ${rss <= GOAL_MB ? "met" : "MISSED"}`);
} finally {
  // SIGTERM to npm; a checkout whose start script does not exec node leaves the app running (the
  // shell in between does not pass the signal on), so the app is also told directly.
  child.kill("SIGTERM");
  const alive = (p: number) => { try { process.kill(p, 0); return true; } catch { return false; } };
  for (const start = Date.now(); (child.exitCode === null && child.signalCode === null) || (pid && alive(pid)); await new Promise((r) => setTimeout(r, 200))) {
    if (Date.now() - start > 5000 && pid && alive(pid)) process.kill(pid, "SIGTERM");
    if (Date.now() - start > 60_000) break;
  }
  rmSync(dir, { recursive: true, force: true });
}
