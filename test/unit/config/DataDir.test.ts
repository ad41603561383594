import { ConfigProvider, Effect, Option } from "effect"
import { describe, expect, it } from "vitest"
import { appConfig } from "../../../src/config/AppConfig.js"
import { dataDirOf, usesEmbeddedDatabase } from "../../../src/config/DataDir.js"

/**
 * `main.ts` decides whether to start the embedded database, and where, before `AppConfig` loads
 * (config/DataDir.ts). Both must read the environment the same way, or the gateway would adopt a
 * database started in another directory, or start one it then does not use.
 */
const cases: ReadonlyArray<Record<string, string>> = [
  {},
  { DATA_DIR: "/var/lib/apiproxy" },
  { DATA_DIR: "./somewhere else" },
  { DATABASE_URL: "" },
  { DATABASE_URL: "   " },
  { DATABASE_URL: "postgres://u:p@127.0.0.1:5432/db" },
  { DATABASE_URL: " postgresql://u@h/db ", DATA_DIR: "/tmp/x" },
]

describe("DataDir agrees with AppConfig", () => {
  for (const env of cases) {
    it(`reads ${JSON.stringify(env)} as AppConfig does`, () => {
      const config = Effect.runSync(
        Effect.withConfigProvider(appConfig, ConfigProvider.fromMap(new Map(Object.entries(env)))),
      )
      expect(usesEmbeddedDatabase(env)).toBe(Option.isNone(config.databaseUrl))
      expect(dataDirOf(env)).toBe(config.dataDir)
    })
  }
})
