import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import type { Verdict } from "../../../src/routing/RetryPolicy.js"
import { backoffDelayMs, classify, decideRetry, defaultRetryConfig, isPenalisable } from "../../../src/routing/RetryPolicy.js"

describe("retry decisions", () => {
  it.prop("backoff grows and is capped", [fc.integer({ min: 1, max: 30 })], ([n]) => {
    expect(backoffDelayMs(n + 1)).toBeGreaterThanOrEqual(backoffDelayMs(n))
    expect(backoffDelayMs(n)).toBeLessThanOrEqual(defaultRetryConfig.maxDelayMs)
  })

  it.prop(
    "a retry never waits less than Retry-After nor past the remaining budget, and is bounded",
    [fc.integer({ min: 0, max: 5 }), fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: undefined }), fc.double({ min: 0, max: 100_000, noNaN: true }), fc.double({ min: 0, max: 0.9999, noNaN: true })],
    ([done, retryAfterMs, remaining, jitter]) => {
      const v: Verdict = { _tag: "Retryable", reason: "server_error", retryAfterMs }
      const d = decideRetry(v, done, remaining, jitter)
      if (d._tag === "Retry") {
        expect(done).toBeLessThan(defaultRetryConfig.maxRetries)
        expect(d.delayMs).toBeGreaterThanOrEqual(retryAfterMs ?? 0)
        expect(d.delayMs).toBeLessThan(remaining)
      } else {
        expect(d._tag).toBe("MoveOn")
      }
    },
  )

  it.prop("4xx other than 408/429 are never retried on the same candidate nor penalised (default rule)", [fc.integer({ min: 400, max: 499 }).filter((s) => s !== 408 && s !== 429), fc.string()], ([status, message]) => {
    const v = classify({ _tag: "HttpError", status, message })
    expect(v._tag).not.toBe("Retryable")
    expect(isPenalisable(v)).toBe(false)
    expect(decideRetry(v, 0, Infinity, 0)._tag).not.toBe("Retry")
  })
})
