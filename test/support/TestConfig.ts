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

/** A fresh temporary directory, removed when the scope closes. */
export const tempDir = (label = "apiproxy-test-") =>
  Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), label))),
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
