import * as fs from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import { AppConfig } from "../../../src/config/AppConfig.js"
import { TEST_SECRET_KEY, testConfigLayer } from "../../support/TestConfig.js"

describe("testConfigLayer", () => {
  it.effect("provides test defaults and applies overrides", () =>
    Effect.gen(function* () {
      const config = yield* AppConfig
      expect(config.port).toBe(0)
      expect(config.host).toBe("127.0.0.1")
      expect(config.logLevel).toBe("WARNING")
      expect(Redacted.value(config.secretKey)).toBe(TEST_SECRET_KEY)
      expect(TEST_SECRET_KEY.length).toBe(40)
      expect(fs.existsSync(config.dataDir)).toBe(true)
      expect(config.bodyLimitBytes).toBe(1234)
      expect(Option.isNone(config.redisUrl)).toBe(true)
      expect(config.kvPrefix).toMatch(/^apiproxy-test-[0-9a-f]+:$/)
    }).pipe(Effect.provide(testConfigLayer({ BODY_LIMIT_BYTES: "1234", REDIS_URL: undefined }))),
  )
})
