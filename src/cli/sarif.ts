// `jit validate --format sarif`: SARIF 2.1.0 for GitHub code scanning. One rule per JIT code (its
// meaning from src/core/codes.ts), one result per problem at its file, line and column.
import { CODES, type JitCode } from "../core/codes.ts";
import type { Problem } from "../core/problem.ts";
import type { Log, ReportingDescriptor } from "sarif";
import { VERSION } from "./version.ts";

export const SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json";

const RULE_IDS = (Object.keys(CODES) as JitCode[]).filter((c) => c !== "JIT_OK");
const RULE_INDEX: ReadonlyMap<string, number> = new Map(RULE_IDS.map((id, i) => [id, i]));

const RULES: ReportingDescriptor[] = RULE_IDS.map((id) => ({ id, name: id, shortDescription: { text: CODES[id] }, defaultConfiguration: { level: "error" } }));

/** Typed against the SARIF 2.1.0 definitions (@types/sarif), so the shape is the standard's. */
export function renderSarif(files: readonly { path: string; problems: readonly Problem[] }[]): Log {
  return {
    $schema: SARIF_SCHEMA,
    version: "2.1.0",
    runs: [{
      tool: {
        driver: {
          name: "jit",
          version: VERSION,
          rules: RULES,
        },
      },
      // Columns are UTF-16 code units, which is also SARIF's default columnKind.
      columnKind: "utf16CodeUnits",
      results: files.flatMap((f) => f.problems.map((p) => ({
        ruleId: p.code,
        ruleIndex: RULE_INDEX.get(p.code) ?? 0,
        level: "error",
        message: { text: p.hint ? `${p.message}\nFix: ${p.hint}` : p.message },
        locations: [{
          physicalLocation: {
            artifactLocation: { uri: f.path.split("/").map(encodeURIComponent).join("/"), uriBaseId: "%SRCROOT%" },
            region: { startLine: p.line ?? 1, startColumn: p.column ?? 1 },
          },
        }],
      }))),
    }],
  };
}
