import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import type { BreakerState } from "../../../src/routing/CircuitBreaker.js"
import { breakerStatus, defaultBreakerConfig, initialBreaker, transition } from "../../../src/routing/CircuitBreaker.js"

const eventsArb = fc.array(fc.record({ gapMs: fc.integer({ min: 0, max: 120_000 }), ok: fc.boolean() }), {
  maxLength: 60,
})

describe("breaker state machine", () => {
  it.prop(
    "opens only after threshold failures in the window; any success closes; cooldown bounded",
    [eventsArb],
    ([events]) => {
      let state: BreakerState = initialBreaker
      let now = 0
      const recent: Array<number> = []
      for (const e of events) {
        now += e.gapMs
        const before = state
        state = transition(state, e.ok ? { _tag: "Success" } : { _tag: "Failure" }, now)
        if (e.ok) {
          expect(state._tag).toBe("Closed")
          recent.length = 0
          continue
        }
        if (before._tag === "Closed") {
          recent.push(now)
          const inWindow = recent.filter((t) => now - t < defaultBreakerConfig.windowMs).length
          expect(state._tag === "Open").toBe(inWindow >= defaultBreakerConfig.failureThreshold)
          if (state._tag === "Open") recent.length = 0
        } else if (before._tag === "Open") {
          expect(state._tag).toBe("Open")
        }
        if (state._tag === "Open") {
          expect(state.until - state.openedAt).toBeLessThanOrEqual(defaultBreakerConfig.maxCooldownMs)
          expect(state.until - state.openedAt).toBeGreaterThanOrEqual(defaultBreakerConfig.cooldownMs)
        }
      }
    },
  )

  it.prop(
    "an open circuit always half-opens once its cooldown has passed (never excluded for good)",
    [eventsArb],
    ([events]) => {
      let state: BreakerState = initialBreaker
      let now = 0
      for (const e of events) {
        now += e.gapMs
        state = transition(state, e.ok ? { _tag: "Success" } : { _tag: "Failure" }, now)
      }
      const later = now + defaultBreakerConfig.maxCooldownMs
      expect(breakerStatus(state, later).status).not.toBe("open")
    },
  )
})
