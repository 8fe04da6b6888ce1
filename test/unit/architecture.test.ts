// Issue 11: one place for each concern, checked on the source itself. Each rule here fails on the
// code as it was before the refactor (state SQL in the scheduler, use cases searching problem codes).
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");
const SRC = join(ROOT, "src");

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}
const rel = (f: string) => relative(ROOT, f).split("\\").join("/");
const text = (f: string) => readFileSync(f, "utf8");

/** Every module `entry` reaches through relative imports (static and dynamic). */
function closure(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (f: string) => {
    if (seen.has(f)) return;
    seen.add(f);
    for (const m of text(f).matchAll(/(?:import|export)[^;]*?from\s+"(\.[^"]+)"|import\("(\.[^"]+)"\)/g)) visit(normalize(join(dirname(f), m[1] ?? m[2]!)));
  };
  visit(entry);
  return seen;
}

describe("one place for each concern", () => {
  it("all state-database SQL is in src/db/: no .query( anywhere else in src/", () => {
    const outside = files(SRC).filter((f) => !rel(f).startsWith("src/db/") && /\.query\s*(<[^>]*>)?\s*\(/.test(text(f)));
    expect(outside.map(rel)).toEqual([]);
  });

  it("the startup path (src/main.ts, src/index.ts, src/app.ts, src/background.ts) imports nothing from src/cli/", () => {
    for (const entry of ["main.ts", "index.ts", "app.ts", "background.ts"]) {
      const reached = [...closure(join(SRC, entry))].map(rel);
      expect(reached.length).toBeGreaterThan(1);
      expect(reached.filter((f) => f.startsWith("src/cli/"))).toEqual([]);
    }
  });

  it("no use case, job or sweep steers by problem codes or message text: the core's action says it", () => {
    const steering = /problems\.(some|find|filter)\([^)]*\.code|\.message\.(includes|startsWith)\(|TRANSIENT|NOT_INCIDENTS/;
    const places = [...files(join(SRC, "usecases")), ...files(join(SRC, "jobs")), join(SRC, "scheduler/sweep.ts"), join(SRC, "cli/revoke.ts")];
    expect(places.filter((f) => steering.test(text(f))).map(rel)).toEqual([]);
  });

  it("grants, extensions and revokes are carried out only by usecases/apply-action.ts", () => {
    const callers = files(SRC).filter((f) => !rel(f).startsWith("src/db/") && /\.(grant|revoke|revokeMany)\(\{?\s*(repository|\.\.\.|input|key|ids|\w+\.map)|extendGrant\(/.test(text(f)));
    expect(callers.map(rel)).toEqual(["src/usecases/apply-action.ts"]);
  });

  it("every error class derives from the one JitError base", () => {
    const own = files(SRC).flatMap((f) => [...text(f).matchAll(/class (\w+) extends (\w+)/g)].map((m) => ({ f: rel(f), name: m[1], base: m[2] })))
      .filter((c) => c.base === "Error" || c.name!.endsWith("Error") || c.name!.endsWith("Refused") || c.name === "ApplyFailed");
    expect(own.length).toBeGreaterThan(8);
    expect(own.filter((c) => c.base !== "JitError" && !(c.name === "JitError" && c.f === "src/core/errors.ts"))).toEqual([]);
  });
});
