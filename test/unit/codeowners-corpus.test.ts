// Conformance: every pattern/path pair of the CODEOWNERS corpus (hmarr/codeowners testdata, in
// test/fixtures/codeowners, vendored with its MIT license) matches exactly as recorded.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { matchPattern, ownersOf, parseCodeowners } from "../../src/core/codeowners.ts";

interface CorpusCase {
  name: string;
  pattern: string;
  paths: Record<string, boolean>;
}

const corpusFile = fileURLToPath(new URL("../fixtures/codeowners/patterns.json", import.meta.url));
const corpus = JSON.parse(readFileSync(corpusFile, "utf8")) as CorpusCase[];

/** A pattern with unescaped brackets, escaped the way GitHub asks for literal brackets. */
const escapeBrackets = (p: string) => p.replace(/[[\]]/g, (c) => `\\${c}`);

describe("CODEOWNERS conformance corpus", () => {
  it("loads the whole corpus", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(30);
    expect(corpus.reduce((n, c) => n + Object.keys(c.paths).length, 0)).toBeGreaterThanOrEqual(150);
  });

  for (const c of corpus) {
    describe(`${c.name}: ${c.pattern}`, () => {
      for (const [path, expected] of Object.entries(c.paths)) {
        it(`${expected ? "matches" : "does not match"} ${path}`, () => {
          // The pattern matcher itself.
          expect(matchPattern(c.pattern, path)).toBe(expected);

          // The same line in a CODEOWNERS file. GitHub rejects a line with unescaped [ ] ("both `[`
          // and `]` must be escaped with a `\`"), so we report it and never interpret it; escaped, the
          // brackets are literal and the line matches exactly as the corpus records.
          const hasBrackets = /(^|[^\\])[[\]]/.test(c.pattern);
          const file = parseCodeowners(`${c.pattern} @owner\n`);
          if (hasBrackets) {
            expect(file.errors).toEqual([{ line: 1, message: expect.stringContaining("[ ]") }]);
            expect(ownersOf(file, path)).toEqual({ owners: [], line: null });
            const escaped = parseCodeowners(`${escapeBrackets(c.pattern)} @owner\n`);
            expect(escaped.errors).toEqual([]);
            expect(ownersOf(escaped, path).line !== null).toBe(expected);
          } else {
            expect(file.errors).toEqual([]);
            expect(ownersOf(file, path)).toEqual(expected ? { owners: ["@owner"], line: 1 } : { owners: [], line: null });
          }
        });
      }
    });
  }
});
