import { defineConfig } from "vitest/config";
import SummaryLineReporter from "./test/support/summary-reporter.ts";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: keep real-tool tests from starving each other.
    maxWorkers: 2,
    reporters: ["default", new SummaryLineReporter()],
  },
});
