import { defineConfig } from "vitest/config";
import SummaryLineReporter from "./test/support/summary-reporter.ts";

// The end-to-end lab (npm run test:e2e): real Synapse, PostgreSQL, Redis, S3 and HAProxy on loopback.
// One lab at a time: two cores carry one tier's processes, not two.
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.e2e.ts"],
    testTimeout: 300_000,
    hookTimeout: 400_000,
    maxWorkers: 1,
    fileParallelism: false,
    globalSetup: ["test/e2e/install-toolchain.ts"],
    reporters: ["default", new SummaryLineReporter()],
  },
});
