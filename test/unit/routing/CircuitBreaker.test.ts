import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { CircuitBreaker, makeCircuitBreaker, providerScope } from "../../../src/routing/CircuitBreaker.js"
import type { Kv } from "../../../src/storage/Kv.js"
import { TestKv } from "../../support/TestKv.js"

/** Two breaker instances over one Kv: two gateway instances sharing Redis. */
const twoInstances = Effect.gen(function* () {
  const a = yield* makeCircuitBreaker
  const b = yield* makeCircuitBreaker
  return { a, b }
})

const run = <A, E>(self: Effect.Effect<A, E, CircuitBreaker | Kv>) =>
  self.pipe(Effect.provide(CircuitBreaker.Default.pipe(Layer.provideMerge(TestKv))))

const scope = providerScope("openai")

describe("CircuitBreaker (shared through Kv)", () => {
  it.effect(
    "opens after N failures in the window, skips while open, half-opens with one probe, closes on success",
    () =>
      run(
        Effect.gen(function* () {
          const { a, b } = yield* twoInstances
          expect(yield* a.recordFailure(scope)).toEqual({ status: "closed" })
          expect(yield* b.recordFailure(scope)).toEqual({ status: "closed" })
          const opened = yield* a.recordFailure(scope)
          expect(opened.status).toBe("open")
          expect(opened.retryAfterMs).toBe(5_000)

          // Both instances see it open and refuse traffic.
          expect((yield* b.views([scope])).get(scope)?.status).toBe("open")
          expect(yield* a.acquire(scope)).toBe(false)
          expect(yield* b.acquire(scope)).toBe(false)

          yield* TestClock.adjust("5 seconds")
          expect((yield* b.views([scope])).get(scope)?.status).toBe("half_open")
          // Exactly one probe across instances.
          const first = yield* a.acquire(scope)
          const second = yield* b.acquire(scope)
          expect([first, second]).toEqual([true, false])
          // With the probe taken, planners see the circuit as open.
          expect((yield* b.views([scope])).get(scope)?.status).toBe("open")

          yield* a.recordSuccess(scope)
          expect((yield* b.views([scope])).get(scope)).toBeUndefined()
          expect(yield* b.acquire(scope)).toBe(true)
          // Failure count was cleared: two more failures do not reopen it.
          yield* a.recordFailure(scope)
          expect((yield* b.recordFailure(scope)).status).toBe("closed")
        }),
      ),
  )

  it.effect("a failed probe reopens with a doubled cooldown", () =>
    run(
      Effect.gen(function* () {
        const cb = yield* CircuitBreaker
        for (let i = 0; i < 3; i++) yield* cb.recordFailure(scope)
        yield* TestClock.adjust("5 seconds")
        expect(yield* cb.acquire(scope)).toBe(true)
        const reopened = yield* cb.recordFailure(scope)
        expect(reopened).toEqual({ status: "open", retryAfterMs: 10_000 })
        yield* TestClock.adjust("9 seconds")
        expect(yield* cb.acquire(scope)).toBe(false)
        yield* TestClock.adjust("1 second")
        expect(yield* cb.acquire(scope)).toBe(true)
      }),
    ),
  )

  it.effect("failed probes never push the cooldown past 20 s: a recovered upstream is probed again within 20 s", () =>
    run(
      Effect.gen(function* () {
        const cb = yield* CircuitBreaker
        for (let i = 0; i < 3; i++) yield* cb.recordFailure(scope)
        const cooldowns: Array<number | undefined> = []
        for (let probe = 0; probe < 8; probe++) {
          yield* TestClock.adjust("20 seconds")
          expect(yield* cb.acquire(scope)).toBe(true)
          cooldowns.push((yield* cb.recordFailure(scope)).retryAfterMs)
        }
        expect(cooldowns).toEqual([10_000, 20_000, 20_000, 20_000, 20_000, 20_000, 20_000, 20_000])
        // Recovered: the next probe, at most 20 s later, succeeds and closes the circuit.
        yield* TestClock.adjust("20 seconds")
        expect(yield* cb.acquire(scope)).toBe(true)
        yield* cb.recordSuccess(scope)
        expect((yield* cb.views([scope])).get(scope)).toBeUndefined()
      }),
    ),
  )

  it.effect("failures spread beyond the window do not open the circuit", () =>
    run(
      Effect.gen(function* () {
        const cb = yield* CircuitBreaker
        for (let i = 0; i < 6; i++) {
          expect((yield* cb.recordFailure(scope)).status).toBe("closed")
          yield* TestClock.adjust("2 minutes")
        }
      }),
    ),
  )

  it.effect("late failures while open do not extend the cooldown; scopes are independent", () =>
    run(
      Effect.gen(function* () {
        const cb = yield* CircuitBreaker
        for (let i = 0; i < 3; i++) yield* cb.recordFailure(scope)
        yield* TestClock.adjust("2 seconds")
        expect(yield* cb.recordFailure(scope)).toEqual({ status: "open", retryAfterMs: 3_000 })
        const views = yield* cb.views([scope, providerScope("other")])
        expect(views.get(providerScope("other"))).toBeUndefined()
        expect(yield* cb.acquire(providerScope("other"))).toBe(true)
      }),
    ),
  )

  it.effect("three failures in a row open the circuit even when they straddle a bucket boundary", () =>
    run(
      Effect.gen(function* () {
        const cb = yield* makeCircuitBreaker
        // The default window is 60 s in 10 s buckets: two failures just before 60 s, one just after.
        yield* TestClock.adjust("59990 millis")
        yield* cb.recordFailure(scope)
        yield* TestClock.adjust("5 millis")
        yield* cb.recordFailure(scope)
        yield* TestClock.adjust("10 millis")
        expect((yield* cb.recordFailure(scope)).status).toBe("open")
      }),
    ),
  )
})
