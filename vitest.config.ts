import { defineConfig } from "vitest/config";
import SummaryLineReporter from "./test/support/summary-reporter.ts";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // MATRIX_GITOPS_SITE=<fixture> runs the suite against that site, emitted into a scratch tree.
    globalSetup: ["test/support/emit-site-tree.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: keep real-tool tests from starving each other.
    maxWorkers: 2,
    reporters: ["default", new SummaryLineReporter()],
  },
});
