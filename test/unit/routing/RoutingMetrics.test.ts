import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { upstreamKey } from "../../../src/routing/Candidates.js"
import { makeRoutingMetrics, RoutingMetrics } from "../../../src/routing/RoutingMetrics.js"
import { score, strategies } from "../../../src/routing/Scoring.js"
import type { Kv } from "../../../src/storage/Kv.js"
import { TestKv } from "../../support/TestKv.js"

const run = <A, E>(self: Effect.Effect<A, E, RoutingMetrics | Kv>) =>
  self.pipe(Effect.provide(RoutingMetrics.Default.pipe(Layer.provideMerge(TestKv))))

describe("RoutingMetrics (Kv)", () => {
  it.effect("records every attempt and shares the result across instances", () =>
    run(
      Effect.gen(function* () {
        const a = yield* makeRoutingMetrics()
        const b = yield* makeRoutingMetrics()
        yield* TestClock.adjust("1 hour")
        yield* a.record({ provider: "p1", model: "m", latencyMs: 400, result: { _tag: "Success" } })
        yield* b.record({
          provider: "p1",
          model: "m",
          latencyMs: 800,
          result: { _tag: "Failure", severity: "retryable" },
        })
        yield* a.record({ provider: "p2", model: "m", latencyMs: 100, result: { _tag: "Neutral" } })
        const got = yield* b.getMany([
          { provider: "p1", model: "m" },
          { provider: "p2", model: "m" },
        ])
        const m = got.get(upstreamKey("p1", "m"))!
        expect(m.samples).toBe(2)
        expect(m.latencyEwmaMs).toBe(600)
        expect(m.errorEwma).toBeCloseTo(0.5)
        expect(got.has(upstreamKey("p2", "m"))).toBe(false)
      }),
    ),
  )

  it.effect("scores from recorded metrics fall with errors and recover as the clock moves on", () =>
    run(
      Effect.gen(function* () {
        const metrics = yield* RoutingMetrics
        for (let i = 0; i < 5; i++) {
          yield* metrics.record({
            provider: "p",
            model: "m",
            latencyMs: 3000,
            result: { _tag: "Failure", severity: "retryable" },
          })
        }
        const at = (now: number) =>
          metrics
            .getMany([{ provider: "p", model: "m" }])
            .pipe(
              Effect.map(
                (ms) =>
                  score({ baseWeight: 1, metrics: ms.get("p/m"), cost: 0, circuit: "closed" }, strategies.balanced, now)
                    .score,
              ),
            )
        const fresh = score(
          { baseWeight: 1, metrics: undefined, cost: 0, circuit: "closed" },
          strategies.balanced,
          0,
        ).score
        const penalised = yield* at(0)
        expect(penalised).toBeLessThan(strategies.balanced.minScore)
        yield* TestClock.adjust("20 minutes")
        const later = yield* at(20 * 60_000)
        expect(later).toBeGreaterThan(penalised)
        expect(later).toBeGreaterThan(strategies.balanced.minScore)
        expect(fresh - later).toBeLessThan(0.1)
      }),
    ),
  )
})
