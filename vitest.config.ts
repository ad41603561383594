import { availableParallelism } from "node:os"
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Each test file gets fresh modules (isolate, the default): with `isolate: false`, Effect's
    // TestClock and Kv tests failed when a worker reused modules another file had loaded.
    // Vitest's default is one worker per core minus one: a single worker on a 2-core machine,
    // idle whenever a test waits on a timer, a socket or its embedded database's process.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Closes the test file's shared database (test/support/TestDatabase.ts) after the file.
    setupFiles: ["./test/support/Setup.ts"],
    reporters: ["default", "./test/support/SummaryReporter.ts"],
  },
})
