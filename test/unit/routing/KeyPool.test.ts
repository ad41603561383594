import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, TestClock } from "effect"
import { KeyPool, makeKeyPool } from "../../../src/routing/KeyPool.js"
import type { Kv } from "../../../src/storage/Kv.js"
import { TestKv } from "../../support/TestKv.js"
import { makeKey, makeProvider } from "./fixtures.js"

const run = <A, E>(self: Effect.Effect<A, E, KeyPool | Kv>) =>
  self.pipe(Effect.provide(KeyPool.Default.pipe(Layer.provideMerge(TestKv))))

const provider = makeProvider("p", { keys: [makeKey("k1"), makeKey("k2")] })

describe("KeyPool (Kv)", () => {
  it.effect("skips keys in backoff, shares backoff across instances, and recovers after it", () =>
    run(
      Effect.gen(function* () {
        const a = yield* makeKeyPool()
        const b = yield* makeKeyPool()
        yield* a.recordFailure("p", "k1", "retryable") // 2 s
        for (let i = 0; i < 20; i++) expect((yield* b.pick(provider)).id).toBe("k2")
        yield* b.recordFailure("p", "k2", "auth") // 30 s
        const none = yield* Effect.either(a.pick(provider))
        expect(Either.isLeft(none) && none.left.reason).toBe("all_in_backoff")
        expect(Either.isLeft(none) && none.left.retryAfterMs).toBe(2000)
        yield* TestClock.adjust("2 seconds")
        expect((yield* a.pick(provider)).id).toBe("k1")
        // A second retryable failure of k1 doubles its backoff to 4 s.
        yield* a.recordFailure("p", "k1", "retryable")
        yield* TestClock.adjust("3999 millis")
        expect(Either.isLeft(yield* Effect.either(a.pick(provider)))).toBe(true)
        yield* TestClock.adjust("1 millis")
        expect((yield* a.pick(provider)).id).toBe("k1")
        // Success clears the backoff immediately.
        yield* a.recordFailure("p", "k1", "retryable")
        yield* a.recordSuccess("p", "k1")
        expect((yield* b.pick(provider)).id).toBe("k1")
      }),
    ),
  )

  it.effect("enforces max_qps per key per second across instances", () =>
    run(
      Effect.gen(function* () {
        const a = yield* makeKeyPool()
        const b = yield* makeKeyPool()
        const limited = makeProvider("q", { keys: [makeKey("only", { maxQps: 3 })] })
        yield* TestClock.adjust("500 millis")
        const got = [
          yield* Effect.either(a.pick(limited)),
          yield* Effect.either(b.pick(limited)),
          yield* Effect.either(a.pick(limited)),
          yield* Effect.either(b.pick(limited)),
        ]
        expect(got.map(Either.isRight)).toEqual([true, true, true, false])
        const last = got[3]!
        expect(Either.isLeft(last) && last.left.reason).toBe("rate_limited")
        expect(Either.isLeft(last) && last.left.retryAfterMs).toBe(500)
        yield* TestClock.adjust("500 millis")
        expect(Either.isRight(yield* Effect.either(a.pick(limited)))).toBe(true)
      }),
    ),
  )

  it.effect("a rate-limited key yields to the next one; excluded keys are not picked", () =>
    run(
      Effect.gen(function* () {
        const pool = yield* KeyPool
        const p = makeProvider("r", { keys: [makeKey("x", { maxQps: 1, weight: 1000 }), makeKey("y")] })
        const first = yield* pool.pick(p)
        const second = yield* pool.pick(p, [])
        expect(new Set([first.id, second.id])).toEqual(new Set(["x", "y"]))
        expect((yield* pool.pick(p, ["x"])).id).toBe("y")
        const none = yield* Effect.either(pool.pick(p, ["x", "y"]))
        expect(Either.isLeft(none) && none.left.reason).toBe("no_keys")
      }),
    ),
  )
})
