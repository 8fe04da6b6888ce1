// `npm run bench`: runs every bench/*.bench.ts in turn (each in its own process, as its own
// `npm run bench:*` would) and writes bench/RESULTS.md: the machine, the versions, the date, and
// what each benchmark printed. A benchmark that fails is recorded as failed and makes the exit
// status 1; the others still run.
import { execFileSync, spawn } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem, platform, release } from "node:os";
import { join } from "node:path";
import { binDir, type PgMajor } from "../test/harness/postgres.ts";

const DIR = import.meta.dirname;
const major = (process.env.JIT_TEST_PG_MAJOR ?? "15") as PgMajor;

function postgresVersion(m: PgMajor): string {
  try {
    return execFileSync(join(binDir(m), "postgres"), ["--version"], { encoding: "utf8" }).trim();
  } catch {
    return `PostgreSQL ${m}: binaries not found`;
  }
}

function runBench(file: string): Promise<{ code: number | null; output: string; seconds: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [join(DIR, file)], { env: process.env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const take = (chunk: Buffer, to: NodeJS.WriteStream) => {
      output += chunk.toString("utf8");
      to.write(chunk);
    };
    child.stdout.on("data", (c: Buffer) => take(c, process.stdout));
    child.stderr.on("data", (c: Buffer) => take(c, process.stderr));
    child.once("exit", (code) => resolve({ code, output, seconds: (performance.now() - started) / 1000 }));
  });
}

// Colour codes some tools print; the file is read as text.
const ESC = String.fromCharCode(27);
const stripAnsi = (s: string) => s.split(ESC).map((part, i) => (i === 0 ? part : part.replace(/^\[[0-9;]*m/, ""))).join("");

const files = readdirSync(DIR).filter((f) => f.endsWith(".bench.ts")).sort();
const cpu = cpus();
const header = [
  "# Benchmark results",
  "",
  "Written by `npm run bench` (bench/run.ts); each section is what that benchmark printed. Numbers depend on the machine below.",
  "",
  "| | |",
  "| --- | --- |",
  `| Date | ${new Date().toISOString()} |`,
  `| CPU | ${cpu.length} × ${cpu[0]?.model.trim() ?? "unknown"} |`,
  `| Memory | ${(totalmem() / 2 ** 30).toFixed(1)} GiB |`,
  `| OS | ${platform()} ${release()} |`,
  `| Node | ${process.version} |`,
  `| PostgreSQL used | ${postgresVersion(major)} (JIT_TEST_PG_MAJOR=${major}) |`,
  "",
];

const sections: string[] = [];
let failed = 0;
for (const file of files) {
  process.stdout.write(`\n=== ${file} ===\n`);
  const r = await runBench(file);
  if (r.code !== 0) failed++;
  sections.push(`## ${file}`, "", `${r.code === 0 ? "ok" : `FAILED (exit ${r.code})`} in ${r.seconds.toFixed(1)} s`, "", "```", stripAnsi(r.output).trimEnd(), "```", "");
}
writeFileSync(join(DIR, "RESULTS.md"), [...header, ...sections].join("\n"));
process.stdout.write(`\nwrote bench/RESULTS.md (${files.length} benchmarks, ${failed} failed)\n`);
process.exitCode = failed ? 1 : 0;
