/**
 * What must close when a test file ends, registered by the support module that opened it on
 * first use (test/support/TestDatabase.ts). test/support/Setup.ts runs them after every file, so
 * a file that never imports such a module loads none of its dependencies.
 */
const closers = new Set<() => Promise<void>>()

/** Runs `close` after each test file (idempotent: it runs whether or not the file used it). */
export const closeAfterEachFile = (close: () => Promise<void>): void => {
  closers.add(close)
}

/** Runs every registered closer (test/support/Setup.ts). */
export const closeFileResources = async (): Promise<void> => {
  for (const close of closers) await close()
}
