import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import type { AttemptResult } from "../../../src/routing/RoutingMetrics.js"
import { updateMetrics } from "../../../src/routing/RoutingMetrics.js"
import type { UpstreamMetrics } from "../../../src/routing/Scoring.js"
import { effectiveMetrics, score, strategies } from "../../../src/routing/Scoring.js"

const resultArb: fc.Arbitrary<AttemptResult> = fc.oneof(
  fc.constant({ _tag: "Success" } as const),
  fc.constant({ _tag: "Neutral" } as const),
  fc.constantFrom("retryable" as const, "fatal" as const).map((severity) => ({ _tag: "Failure", severity }) as const),
)
const stepArb = fc.record({
  gapMs: fc.integer({ min: 0, max: 600_000 }),
  latencyMs: fc.option(fc.integer({ min: 1, max: 30_000 }), { nil: undefined }),
  result: resultArb,
})

const replay = (
  steps: ReadonlyArray<fc.RecordValue<{ gapMs: number; latencyMs: number | undefined; result: AttemptResult }>>,
) => {
  let m: UpstreamMetrics | undefined
  let now = 0
  const history: Array<UpstreamMetrics | undefined> = []
  for (const s of steps) {
    now += s.gapMs
    m = updateMetrics(m, s, now)
    history.push(m)
  }
  return { m, now, history }
}

describe("metrics updates", () => {
  it.prop(
    "weights, error rates and sample counts stay within bounds",
    [fc.array(stepArb, { maxLength: 200 })],
    ([steps]) => {
      for (const m of replay(steps).history) {
        if (m === undefined) continue
        expect(m.weightFactor).toBeGreaterThanOrEqual(0.2)
        expect(m.weightFactor).toBeLessThanOrEqual(3)
        expect(m.errorEwma).toBeGreaterThanOrEqual(0)
        expect(m.errorEwma).toBeLessThanOrEqual(1)
        expect(m.samples).toBeLessThanOrEqual(1000)
        expect(m.latencyEwmaMs).toBeGreaterThanOrEqual(0)
      }
    },
  )

  it.prop(
    "client-caused errors (neutral) never change a provider's record",
    [fc.array(stepArb, { maxLength: 50 }), fc.integer({ min: 0, max: 1e9 })],
    ([steps, later]) => {
      const { m, now } = replay(steps)
      expect(updateMetrics(m, { result: { _tag: "Neutral" }, latencyMs: 5 }, now + later)).toBe(m)
    },
  )

  it.prop(
    "a penalised provider recovers with time alone, without needing a success (W3)",
    [fc.integer({ min: 1, max: 500 }), fc.constantFrom(...Object.values(strategies))],
    ([failures, strategy]) => {
      let m: UpstreamMetrics | undefined
      for (let i = 0; i < failures; i++)
        m = updateMetrics(m, { result: { _tag: "Failure", severity: "fatal" }, latencyMs: 30_000 }, i)
      const s = (t: number) => score({ baseWeight: 1, metrics: m, cost: 0, circuit: "closed" }, strategy, t).score
      const fresh = score({ baseWeight: 1, metrics: undefined, cost: 0, circuit: "closed" }, strategy, 0).score
      expect(s(failures)).toBeLessThan(fresh - 0.4)
      if (failures >= 3) expect(s(failures)).toBeLessThan(strategy.minScore)
      expect(s(failures + 2 * 3_600_000)).toBeGreaterThanOrEqual(
        score({ baseWeight: 1, metrics: undefined, cost: 0, circuit: "closed" }, strategy, 0).score - 0.01,
      )
    },
  )

  it("successes after failures raise the score step by step (recovery with traffic)", () => {
    let m: UpstreamMetrics | undefined
    for (let i = 0; i < 10; i++) m = updateMetrics(m, { result: { _tag: "Failure", severity: "retryable" } }, 0)
    expect(m!.weightFactor).toBe(0.2)
    const scores: Array<number> = []
    for (let i = 1; i <= 30; i++) {
      m = updateMetrics(m, { result: { _tag: "Success" }, latencyMs: 300 }, i * 1000)
      scores.push(score({ baseWeight: 1, metrics: m, cost: 0, circuit: "closed" }, strategies.balanced, i * 1000).score)
    }
    for (let i = 1; i < scores.length; i++) expect(scores[i]!).toBeGreaterThan(scores[i - 1]!)
    expect(effectiveMetrics(m, 30_000).error).toBeLessThan(0.05)
  })

  it("the first samples are averaged, later ones smoothed", () => {
    let m = updateMetrics(undefined, { result: { _tag: "Success" }, latencyMs: 100 }, 0)!
    expect(m.latencyEwmaMs).toBe(100)
    m = updateMetrics(m, { result: { _tag: "Success" }, latencyMs: 300 }, 0)!
    expect(m.latencyEwmaMs).toBe(200)
    expect(m.errorEwma).toBe(0)
    m = updateMetrics(m, { result: { _tag: "Failure", severity: "retryable" } }, 0)!
    expect(m.errorEwma).toBeCloseTo(1 / 3)
    expect(m.latencyEwmaMs).toBe(200)
  })
})
