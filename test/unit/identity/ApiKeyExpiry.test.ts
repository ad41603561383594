import { describe, expect, it } from "@effect/vitest"
import { expiresAt, expiryProblem, expiryTypeOf, normaliseAllowList } from "../../../src/identity/ApiKeys.js"
import { windowOf } from "../../../src/identity/RateLimit.js"

describe("API key expiry", () => {
  const now = new Date("2024-02-28T12:00:00.000Z")

  it("adds 7, 30 or 365 days, and never is null", () => {
    expect(expiresAt("week", now)?.toISOString()).toBe("2024-03-06T12:00:00.000Z")
    expect(expiresAt("month", now)?.toISOString()).toBe("2024-03-29T12:00:00.000Z")
    // 2024 is a leap year: 365 days after Feb 28 is Feb 27.
    expect(expiresAt("year", now)?.toISOString()).toBe("2025-02-27T12:00:00.000Z")
    expect(expiresAt("never", now)).toBeNull()
  })

  it("an exact time is kept as given, with the type date", () => {
    const at = new Date("2024-03-01T08:30:00.000Z")
    expect(expiresAt(at, now)).toBe(at)
    expect(expiryTypeOf(at)).toBe("date")
    expect(expiryTypeOf("week")).toBe("week")
  })

  it("an exact time must be in the future and at most 100 years ahead", () => {
    expect(expiryProblem(now, now)).toMatch(/in the future/)
    expect(expiryProblem(new Date(now.getTime() + 1), now)).toBeUndefined()
    expect(expiryProblem(new Date(now.getTime() + 36_500 * 86_400_000), now)).toBeUndefined()
    expect(expiryProblem(new Date(now.getTime() + 36_500 * 86_400_000 + 1), now)).toMatch(/at most 36500 days/)
    expect(expiryProblem("year", now)).toBeUndefined()
  })
})

describe("allow-list normalisation", () => {
  it("trims, de-duplicates and sorts", () => {
    expect(normaliseAllowList([" openai", "anthropic", "openai", ""])).toEqual(["anthropic", "openai"])
  })

  it("keeps an empty list empty (no provider) and null null (every provider)", () => {
    expect(normaliseAllowList([])).toEqual([])
    expect(normaliseAllowList(null)).toBeNull()
  })
})

describe("rate-limit windows", () => {
  it("are whole minutes, with the time left until the next one", () => {
    expect(windowOf(120_000)).toEqual({ index: 2, remainingMs: 60_000 })
    expect(windowOf(179_999)).toEqual({ index: 2, remainingMs: 1 })
  })
})
