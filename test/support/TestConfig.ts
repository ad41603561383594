import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { ConfigProvider, Effect, Layer } from "effect"
import { AppConfig } from "../../src/config/AppConfig.js"

/** A 40-character secret that is clearly not for production. */
export const TEST_SECRET_KEY = "apiproxy-test-secret-0123456789abcdefghi"

/**
 * Environment variables as the gateway reads them. A value of `undefined` removes a default
 * (e.g. `{ DATABASE_URL: undefined }` forces the embedded database even when CI sets one).
 */
export type TestEnv = Readonly<Record<string, string | undefined>>

const TMPFS_MAGIC = 0x01021994
/** Free space /dev/shm must have to be used: tens of embedded databases of about 40 MB each. */
const SHM_ROOM = 2 * 1024 ** 3
let root: string | undefined

/**
 * Where tests keep data directories: /dev/shm when it is a tmpfs with room to spare (not the 64 MB
 * of a default container), else the system's temporary directory. An embedded database is about
 * 40 MB in a thousand files; on a disk, copying one from the template and removing it again blocks
 * the test's event loop for about a second on a busy machine, in memory for a tenth of that.
 */
export const dataRoot = (): string => {
  if (root === undefined) {
    try {
      const shm = fs.statfsSync("/dev/shm")
      root = shm.type === TMPFS_MAGIC && shm.bavail * shm.bsize >= SHM_ROOM ? "/dev/shm" : os.tmpdir()
    } catch {
      root = os.tmpdir()
    }
  }
  return root
}

/** A fresh temporary directory (under `dataRoot`), removed when the scope closes. */
export const tempDir = (label = "apiproxy-test-") =>
  Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(dataRoot(), label))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })),
  )

/**
 * The env map used by `testConfigLayer`, before overrides: ephemeral port on loopback, a test
 * secret, quiet logs, and the process env's DATABASE_URL / REDIS_URL when set.
 */
export const testEnv = (dataDir: string, overrides: TestEnv = {}): Map<string, string> => {
  const env: Record<string, string | undefined> = {
    PORT: "0",
    HOST: "127.0.0.1",
    NODE_ENV: "test",
    SECRET_KEY: TEST_SECRET_KEY,
    DATA_DIR: dataDir,
    LOG_LEVEL: "WARNING",
    // A private namespace, so tests sharing one Redis never see each other's keys.
    KV_PREFIX: `apiproxy-test-${randomBytes(6).toString("hex")}:`,
    DATABASE_URL: process.env.DATABASE_URL,
    REDIS_URL: process.env.REDIS_URL,
    ...overrides,
  }
  const map = new Map<string, string>()
  for (const [key, value] of Object.entries(env)) if (value !== undefined) map.set(key, value)
  return map
}

/**
 * Provides `AppConfig` from a fixed env map (never the real process env, apart from the
 * DATABASE_URL / REDIS_URL pass-through). DATA_DIR is a fresh temp dir removed on release.
 *
 *   it.layer(testConfigLayer({ MODELS_CACHE_TTL: "5" }))("...", (it) => { ... })
 */
export const testConfigLayer = (overrides: TestEnv = {}) =>
  Layer.unwrapScoped(
    Effect.map(tempDir("apiproxy-test-data-"), (dir) =>
      AppConfig.Default.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(testEnv(dir, overrides))))),
    ),
  )
