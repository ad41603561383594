import { describe, expect, it } from "vitest"
import { addRateLimitHeaders, resetText } from "../../../src/http/RateLimitHeaders.js"

describe("x-ratelimit-* headers", () => {
  it.each([
    [0, "0ms"],
    [0.4, "1ms"],
    [250, "250ms"],
    [999, "999ms"],
    [1000, "1s"],
    [41_520, "41.52s"],
    [59_999, "59.999s"],
    [60_000, "1m0s"],
    [-5, "0ms"],
  ])("a reset of %s ms reads %s (OpenAI's notation)", (ms, text) => {
    expect(resetText(ms)).toBe(text)
  })

  it("only the pair of each limit the key has", () => {
    const both: Record<string, string | number> = { "content-type": "application/json" }
    addRateLimitHeaders(both, {
      requests: { limit: 60, remaining: 59 },
      tokens: { limit: 1000, remaining: 0 },
      resetMs: 41_520,
    })
    expect(both).toEqual({
      "content-type": "application/json",
      "x-ratelimit-limit-requests": "60",
      "x-ratelimit-remaining-requests": "59",
      "x-ratelimit-reset-requests": "41.52s",
      "x-ratelimit-limit-tokens": "1000",
      "x-ratelimit-remaining-tokens": "0",
      "x-ratelimit-reset-tokens": "41.52s",
    })
    const requestsOnly: Record<string, string | number> = {}
    addRateLimitHeaders(requestsOnly, { requests: { limit: 2, remaining: 0 }, resetMs: 100 })
    expect(Object.keys(requestsOnly)).toEqual([
      "x-ratelimit-limit-requests",
      "x-ratelimit-remaining-requests",
      "x-ratelimit-reset-requests",
    ])
  })
})
