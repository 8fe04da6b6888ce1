// Test layers: pure unit tests, integration tests run once per supported PostgreSQL major
// (15, 16, 17, 18), and end-to-end tests against the GitHub simulator on PG15; the e2e security
// cases run again on the newest major (18). The JSON report feeds .ci/run's summary line.
import { defineConfig } from "vitest/config";

const integration = (major: string) => ({
  extends: true as const,
  test: {
    name: `pg${major}`,
    include: ["test/integration/**/*.test.ts"],
    env: { JIT_TEST_PG_MAJOR: major },
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});

export default defineConfig({
  test: {
    reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
    pool: "forks",
    projects: [
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      integration("15"),
      integration("16"),
      integration("17"),
      integration("18"),
      {
        extends: true,
        test: { name: "e2e", include: ["test/e2e/**/*.test.ts", "test/sim/**/*.test.ts"], testTimeout: 60_000, hookTimeout: 120_000 },
      },
      {
        extends: true,
        test: {
          name: "e2e-pg18",
          include: ["test/e2e/app-*.test.ts", "test/e2e/expiry.test.ts"],
          exclude: ["test/e2e/app-demo.test.ts"],
          env: { JIT_TEST_PG_MAJOR: "18" },
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
