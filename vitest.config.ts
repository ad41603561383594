import { availableParallelism } from "node:os"
import { defineConfig } from "vitest/config"
import DurationSequencer from "./test/support/DurationSequencer.js"

/** Pure tests (no database, no process, no socket beyond loopback mocks): the `unit` project. */
const pure = ["test/unit/**/*.test.ts", "test/property/**/*.test.ts"]

/**
 * Pure-looking files that must run beside the integration tests. GatewayWithMemoryUpstream opens
 * the shared database and builds the whole gateway: a file of the `unit` project run after it in
 * the same worker saw its TestClock start 900 ms late (Stickiness, KeyPool, RoutingMetrics).
 */
const servicesUnit = ["test/unit/gateway/GatewayWithMemoryUpstream.test.ts"]

/**
 * Worker processes: one more than the cores (TEST_WORKERS to choose). The integration and e2e
 * files mostly wait — on timers, sockets, gateway processes and embedded databases — so on a
 * 2-core machine a third worker fills those waits (embedded pass 274 → 239 s, 1.6 cores busy);
 * a fourth only adds contention (269 s).
 */
const WORKERS = Number(process.env.TEST_WORKERS ?? availableParallelism() + 1)

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Worker processes are reused from file to file (vitest's default starts a process per file:
    // ~1 s of Node, vitest and node_modules per file, 170 worker-seconds of the embedded pass),
    // and a file's modules stay loaded for the next file of its project (fresh modules per file
    // cost 30–60 s of the pass in loading alone). Only this root setting decides whether the pool
    // recycles a worker after each file; both projects inherit it. Projects never share a worker:
    // between the two projects every worker is replaced.
    poolOptions: { forks: { isolate: false } },
    maxWorkers: WORKERS,
    // As many at the least: the pool otherwise stops a worker the moment it finds no file
    // waiting, and with more than two workers that stop raced the switch between the projects
    // ("Terminating worker thread": the run ended half done, leaving busy orphaned workers).
    minWorkers: WORKERS,
    // Restores what a file may have changed in shared modules, and closes what the test file
    // opened (test/support/FileTeardown.ts) after the file.
    setupFiles: ["./test/support/Setup.ts"],
    reporters: ["default", "./test/support/SummaryReporter.ts"],
    // The longest files start first (test/durations.json on a fresh clone).
    sequence: { sequencer: DurationSequencer },
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: pure,
          exclude: servicesUnit,
        },
      },
      {
        extends: true,
        test: {
          name: "services",
          include: ["test/integration/**/*.test.ts", "test/e2e/**/*.test.ts", ...servicesUnit],
          // A file closes what it opens (test/support/FileTeardown.ts), so the next file in the
          // worker inherits no server, process or database of it; module-level caches (the
          // migrated database template) are shared on purpose.
        },
      },
    ],
  },
})
