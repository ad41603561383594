import { ConfigProvider, Duration, Effect, Either } from "effect"
import { describe, expect, it } from "vitest"
import { durationConfig, parseDuration } from "../../../src/shared/DurationConfig.js"

const read = (value: string) =>
  Effect.runSync(
    Effect.either(
      Effect.withConfigProvider(
        durationConfig("UPSTREAM_IDLE_TIMEOUT"),
        ConfigProvider.fromMap(new Map([["UPSTREAM_IDLE_TIMEOUT", value]])),
      ),
    ),
  )

describe("duration settings", () => {
  it.each([
    ["60s", 60_000],
    ["60 seconds", 60_000],
    ["1 second", 1_000],
    ["60000", 60_000],
    ["500 millis", 500],
    ["250ms", 250],
    ["1.5m", 90_000],
    ["2 minutes", 120_000],
    ["1 hour", 3_600_000],
    ["2h", 7_200_000],
    ["1 day", 86_400_000],
    [" 7200 Seconds ", 7_200_000],
  ])("%j is %d ms", (text, ms) => {
    const parsed = parseDuration(text)
    expect(Either.isRight(parsed) && Duration.toMillis(parsed.right)).toBe(ms)
    expect(Either.map(read(text), Duration.toMillis)).toEqual(Either.right(ms))
  })

  it.each(["sixty", "-5s", "5 fortnights", "", "1e9", "99999999999"])(
    "%j is refused, naming the forms and the variable",
    (text) => {
      const result = read(text)
      expect(Either.isLeft(result)).toBe(true)
      const message = String(Either.isLeft(result) ? result.left : "")
      expect(message).toContain("UPSTREAM_IDLE_TIMEOUT")
      expect(message).toContain("such as 60s, 60 seconds")
    },
  )
})
