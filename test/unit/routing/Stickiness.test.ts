import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, TestClock } from "effect"
import { candidateKey } from "../../../src/routing/Candidates.js"
import { buildPlan } from "../../../src/routing/Plan.js"
import { normalizeSessionId, Stickiness } from "../../../src/routing/Stickiness.js"
import { Kv } from "../../../src/storage/Kv.js"
import { memoryLayer, TestKv } from "../../support/TestKv.js"
import { makeProvider } from "./fixtures.js"

const run = <A, E>(self: Effect.Effect<A, E, Stickiness | Kv>) =>
  self.pipe(Effect.provide(Stickiness.Default.pipe(Layer.provideMerge(TestKv))))

const up = { logicalModel: "gpt-4o", provider: "pa", model: "gpt-4o" }

describe("Stickiness (Kv)", () => {
  it.effect("binds, keeps createdAt on re-bind, and expires after the TTL (7200 s default)", () =>
    run(
      Effect.gen(function* () {
        const s = yield* Stickiness
        yield* TestClock.adjust("10 seconds")
        yield* s.bind("key:1", "conv-1", up)
        yield* TestClock.adjust("1 hour")
        const again = yield* s.bind("key:1", "conv-1", { ...up, provider: "pb" })
        expect(Option.getOrThrow(again)).toMatchObject({ provider: "pb", createdAt: 10_000, lastAccessed: 3_610_000 })
        expect(yield* s.target("key:1", "conv-1", "gpt-4o")).toEqual({ provider: "pb", model: "gpt-4o" })
        // The TTL is refreshed by the re-bind (works against Redis too: no clock games).
        const kv = yield* Kv
        const ttl = yield* kv.ttl("routing:session:key:1:conv-1")
        expect(ttl).toBeGreaterThan(7_190_000)
        expect(ttl).toBeLessThanOrEqual(7_200_000)
      }),
    ),
  )

  it.effect("a binding expires when its TTL passes (memory backend: expiry follows TestClock)", () =>
    Effect.gen(function* () {
      const s = yield* Stickiness
      yield* s.bind("key:1", "conv-1", up)
      yield* TestClock.adjust("7199 seconds")
      expect(yield* s.target("key:1", "conv-1", "gpt-4o")).not.toBeNull()
      yield* TestClock.adjust("1 second")
      expect(yield* s.target("key:1", "conv-1", "gpt-4o")).toBeNull()
    }).pipe(Effect.provide(Stickiness.Default.pipe(Layer.provide(memoryLayer)))),
  )

  it.effect("is ignored for another logical model and invisible to another owner", () =>
    run(
      Effect.gen(function* () {
        const s = yield* Stickiness
        yield* s.bind("key:1", "conv", up)
        expect(yield* s.target("key:1", "conv", "claude")).toBeNull()
        expect(yield* s.target("key:2", "conv", "gpt-4o")).toBeNull()
        expect(Option.isNone(yield* s.get("key:2", "conv"))).toBe(true)
        expect(yield* s.remove("key:2", "conv")).toBe(false)
        expect(yield* s.remove("key:1", "conv")).toBe(true)
        expect(yield* s.remove("key:1", "conv")).toBe(false)
      }),
    ),
  )

  it.effect("stickiness wins over scores while the bound upstream is healthy, not while its circuit is open", () =>
    run(
      Effect.gen(function* () {
        const s = yield* Stickiness
        const pa = makeProvider("pa", { weight: 1 })
        const pb = makeProvider("pb", { weight: 100 })
        const candidates = [
          { provider: pa, model: "gpt-4o", weight: 1, priority: 0 },
          { provider: pb, model: "gpt-4o", weight: 100, priority: 0 },
        ]
        yield* s.bind("key:1", "conv", up)
        const sticky = yield* s.target("key:1", "conv", "gpt-4o")
        for (const r of [0, 0.5, 0.99]) {
          const plan = buildPlan({
            candidates,
            strategy: "balanced",
            metrics: new Map(),
            circuits: new Map(),
            sticky,
            now: 0,
            random: r,
          })
          expect(candidateKey(plan.attempts[0]!.candidate)).toBe("pa/gpt-4o")
          expect(plan.sticky).toBe("applied")
        }
        const open = buildPlan({
          candidates,
          strategy: "balanced",
          metrics: new Map(),
          circuits: new Map([["pa", { status: "open", retryAfterMs: 5000 }]]),
          sticky,
          now: 0,
          random: 0,
        })
        expect(open.attempts.map((a) => a.candidate.provider.id)).toEqual(["pb"])
        expect(open.sticky).toBe("circuit_not_closed")
      }),
    ),
  )

  it("ignores blank and oversized session ids", () => {
    expect(normalizeSessionId("  ")).toBeUndefined()
    expect(normalizeSessionId(undefined)).toBeUndefined()
    expect(normalizeSessionId("x".repeat(257))).toBeUndefined()
    expect(normalizeSessionId(" abc ")).toBe("abc")
  })
})
