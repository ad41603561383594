import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { counterTtlMs, windowOf } from "../../../src/usage/BudgetPeriod.js"

const at = (iso: string) => Date.parse(iso)
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())
const shown = (period: Parameters<typeof windowOf>[0], now: string) => {
  const window = windowOf(period, at(now))
  return [iso(window.startMs), iso(window.endMs)]
}

describe("budget periods are UTC calendar periods", () => {
  it("a day runs from 00:00 UTC to the next", () => {
    expect(shown("day", "2026-12-03T11:43:26.123Z")).toEqual(["2026-12-03T00:00:00.000Z", "2026-12-04T00:00:00.000Z"])
    expect(shown("day", "2026-12-03T00:00:00.000Z")).toEqual(["2026-12-03T00:00:00.000Z", "2026-12-04T00:00:00.000Z"])
    expect(shown("day", "2026-12-03T23:59:59.999Z")).toEqual(["2026-12-03T00:00:00.000Z", "2026-12-04T00:00:00.000Z"])
    expect(shown("day", "2028-02-28T12:00:00.000Z")).toEqual(["2028-02-28T00:00:00.000Z", "2028-02-29T00:00:00.000Z"])
  })

  it("a week starts on Monday (ISO weeks), across month and year ends", () => {
    // 2026-12-03 is a Thursday.
    expect(shown("week", "2026-12-03T11:00:00Z")).toEqual(["2026-11-30T00:00:00.000Z", "2026-12-07T00:00:00.000Z"])
    expect(shown("week", "2026-11-30T00:00:00Z")).toEqual(["2026-11-30T00:00:00.000Z", "2026-12-07T00:00:00.000Z"])
    // A Sunday belongs to the week that began six days before.
    expect(shown("week", "2026-12-06T23:59:59.999Z")).toEqual(["2026-11-30T00:00:00.000Z", "2026-12-07T00:00:00.000Z"])
    expect(shown("week", "2027-01-01T08:00:00Z")).toEqual(["2026-12-28T00:00:00.000Z", "2027-01-04T00:00:00.000Z"])
  })

  it("a month runs from the 1st to the 1st, whatever its length", () => {
    expect(shown("month", "2026-12-31T23:59:59.999Z")).toEqual(["2026-12-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z"])
    expect(shown("month", "2028-02-10T00:00:00Z")).toEqual(["2028-02-01T00:00:00.000Z", "2028-03-01T00:00:00.000Z"])
    expect(shown("month", "2027-02-01T00:00:00Z")).toEqual(["2027-02-01T00:00:00.000Z", "2027-03-01T00:00:00.000Z"])
  })

  it("total never starts over", () => {
    expect(windowOf("total", at("2026-12-03T11:00:00Z"))).toEqual({ startMs: 0, endMs: null })
  })

  it.prop(
    "every instant lies in its period, which starts at midnight UTC, and the next period starts where it ends",
    [
      FastCheck.integer({ min: 0, max: at("2200-01-01T00:00:00Z") }),
      FastCheck.constantFrom("day" as const, "week" as const, "month" as const),
    ],
    ([now, period]) => {
      const window = windowOf(period, now)
      expect(window.startMs).toBeLessThanOrEqual(now)
      expect(window.endMs!).toBeGreaterThan(now)
      expect(Math.abs(window.startMs % 86_400_000)).toBe(0)
      expect(windowOf(period, window.endMs!).startMs).toBe(window.endMs)
      expect(windowOf(period, window.endMs! - 1)).toEqual(window)
      if (period === "week") expect(new Date(window.startMs).getUTCDay()).toBe(1)
      if (period === "month") expect(new Date(window.startMs).getUTCDate()).toBe(1)
    },
  )

  it("a counter lives until its period ends, at most the re-seed interval", () => {
    const hour = 3_600_000
    const now = at("2026-12-03T23:30:00Z")
    expect(counterTtlMs(windowOf("day", now), now, hour)).toBe(30 * 60_000)
    expect(counterTtlMs(windowOf("month", now), now, hour)).toBe(hour)
    expect(counterTtlMs(windowOf("total", now), now, hour)).toBe(hour)
    expect(counterTtlMs(windowOf("day", now), windowOf("day", now).endMs!, hour)).toBe(1)
  })
})
