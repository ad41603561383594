import { availableParallelism } from "node:os"
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // A worker keeps its module graph from one test file to the next: effect, the SDKs and the
    // gateway's modules load once per worker instead of once per file (loading was most of the
    // CPU a unit test file cost). Each test file still runs its own top-level code; no test
    // relies on module state of src/ or test/support/ being fresh.
    isolate: false,
    // Vitest's default is one worker per core minus one: a single worker on a 2-core machine,
    // idle whenever a test waits on a timer, a socket or its embedded database's process.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Closes the test file's shared database (test/support/TestDatabase.ts) after the file.
    setupFiles: ["./test/support/Setup.ts"],
    reporters: ["default", "./test/support/SummaryReporter.ts"],
  },
})
