import { availableParallelism } from "node:os"
import { defineConfig } from "vitest/config"

/** Pure tests (no database, no process, no socket beyond loopback mocks): the `unit` project. */
const pure = ["test/unit/**/*.test.ts", "test/property/**/*.test.ts"]

/**
 * Pure-looking files that must still run isolated. GatewayWithMemoryUpstream opens the shared
 * database and builds the whole gateway: a file of the `unit` project run after it in the same
 * worker saw its TestClock start 900 ms late (Stickiness, KeyPool, RoutingMetrics).
 */
const isolatedUnit = ["test/unit/gateway/GatewayWithMemoryUpstream.test.ts"]

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Worker processes are reused from file to file (vitest's default starts a process per file:
    // ~1 s of Node, vitest and node_modules per file, 170 worker-seconds of the embedded pass).
    // Only this root setting reaches the pool (it decides whether a worker is recycled after
    // each file); a project's own `poolOptions.forks.isolate` decides whether the file's
    // modules are loaded afresh in the reused process. Projects never share a worker.
    poolOptions: { forks: { isolate: false } },
    // Vitest's default is one worker per core minus one: a single worker on a 2-core machine,
    // idle whenever a test waits on a timer, a socket or its embedded database's process.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Closes what the test file opened (test/support/FileTeardown.ts) after the file.
    setupFiles: ["./test/support/Setup.ts"],
    reporters: ["default", "./test/support/SummaryReporter.ts"],
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: pure,
          exclude: isolatedUnit,
          // Modules load once per worker, not once per file.
          poolOptions: { forks: { isolate: false } },
        },
      },
      {
        extends: true,
        test: {
          name: "isolated",
          include: ["test/integration/**/*.test.ts", "test/e2e/**/*.test.ts", ...isolatedUnit],
          // Each file gets fresh modules (in a reused process): these open databases, processes
          // and servers, and a file that shares a worker's modules with another inherits its
          // leftovers. What a file opens it closes (test/support/FileTeardown.ts).
          poolOptions: { forks: { isolate: true } },
        },
      },
    ],
  },
})
