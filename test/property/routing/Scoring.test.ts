import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import {
  decayFactor,
  defaultScoringConfig,
  effectiveMetrics,
  relativeCosts,
  score,
  strategies,
} from "../../../src/routing/Scoring.js"
import { metricsArb, NOW } from "./arbitraries.js"

const strategyArb = fc.constantFrom(...Object.values(strategies))
const circuitArb = fc.constantFrom("closed" as const, "half_open" as const, "open" as const)

describe("score", () => {
  it("is w − 0.15 under balanced with no metrics (seed worked example)", () => {
    const s = (w: number) =>
      score({ baseWeight: w, metrics: undefined, cost: 0, circuit: "closed" }, strategies.balanced, NOW).score
    expect(s(1)).toBeCloseTo(0.85, 10)
    expect(s(2)).toBeCloseTo(1.85, 10)
  })

  it("is computed exactly from the formula", () => {
    const m = { latencyEwmaMs: 2000, errorEwma: 0.5, samples: 1_000_000, updatedAt: NOW, weightFactor: 1 }
    const b = score({ baseWeight: 1, metrics: m, cost: 0.4, circuit: "closed" }, strategies.latency_first, NOW)
    // latency ≈ 0.5, error ≈ 0.5 (confidence ≈ 1), status: error 0.5 → degraded (0.5)
    expect(b.status).toBe("degraded")
    expect(b.score).toBeCloseTo(1 - 0.6 * 0.5 - 0.2 * 0.5 - 0.1 * 0.4 - 0.1 * 0.5, 4)
  })

  it.prop(
    "falls as latency rises",
    [metricsArb, strategyArb, circuitArb, fc.double({ min: 1, max: 5000, noNaN: true })],
    ([m, strategy, circuit, extra]) => {
      const lo = score({ baseWeight: 1, metrics: m, cost: 0, circuit }, strategy, NOW).score
      const hi = score(
        { baseWeight: 1, metrics: { ...m, latencyEwmaMs: m.latencyEwmaMs + extra }, cost: 0, circuit },
        strategy,
        NOW,
      ).score
      expect(hi).toBeLessThanOrEqual(lo + 1e-12)
    },
  )

  it.prop(
    "falls as errors rise",
    [metricsArb, strategyArb, circuitArb, fc.double({ min: 0, max: 1, noNaN: true })],
    ([m, strategy, circuit, extra]) => {
      const worse = { ...m, errorEwma: Math.min(1, m.errorEwma + extra) }
      const a = score({ baseWeight: 1, metrics: m, cost: 0, circuit }, strategy, NOW).score
      const b = score({ baseWeight: 1, metrics: worse, cost: 0, circuit }, strategy, NOW).score
      expect(b).toBeLessThanOrEqual(a + 1e-12)
    },
  )

  it.prop("an open or half-open circuit never scores above closed", [metricsArb, strategyArb], ([m, strategy]) => {
    const s = (circuit: "closed" | "half_open" | "open") =>
      score({ baseWeight: 1, metrics: m, cost: 0, circuit }, strategy, NOW).score
    expect(s("half_open")).toBeLessThanOrEqual(s("closed") + 1e-12)
    expect(s("open")).toBeLessThanOrEqual(s("half_open") + 1e-12)
  })

  it.prop(
    "the effective weight factor stays within [0.2, 3]",
    [metricsArb, fc.double({ min: -100, max: 100, noNaN: true }), fc.integer({ min: 0, max: 10 * 3_600_000 })],
    ([m, wf, age]) => {
      const e = effectiveMetrics({ ...m, weightFactor: wf, updatedAt: NOW - age }, NOW)
      expect(e.weightFactor).toBeGreaterThanOrEqual(0.2)
      expect(e.weightFactor).toBeLessThanOrEqual(3)
      expect(e.error).toBeGreaterThanOrEqual(0)
      expect(e.error).toBeLessThanOrEqual(1)
    },
  )

  it.prop(
    "old evidence fades: a penalised upstream recovers toward a fresh one's score",
    [metricsArb, strategyArb],
    ([m, strategy]) => {
      const bad = {
        ...m,
        errorEwma: 1,
        latencyEwmaMs: 10_000,
        weightFactor: 0.2,
        samples: Math.max(1, m.samples),
        updatedAt: NOW,
      }
      const fresh = score({ baseWeight: 1, metrics: undefined, cost: 0, circuit: "closed" }, strategy, NOW).score
      const ages = [0, 60_000, 300_000, 900_000, 3_600_000, 6 * 3_600_000]
      const scores = ages.map(
        (age) => score({ baseWeight: 1, metrics: bad, cost: 0, circuit: "closed" }, strategy, NOW + age).score,
      )
      for (let i = 1; i < scores.length; i++) expect(scores[i]!).toBeGreaterThanOrEqual(scores[i - 1]! - 1e-12)
      expect(scores[0]!).toBeLessThan(fresh)
      expect(Math.abs(scores[scores.length - 1]! - fresh)).toBeLessThan(0.01)
      expect(scores[scores.length - 1]!).toBeGreaterThanOrEqual(strategy.minScore)
    },
  )

  it("decay halves every half-life", () => {
    expect(decayFactor(defaultScoringConfig.halfLifeMs, defaultScoringConfig.halfLifeMs)).toBeCloseTo(0.5)
    expect(decayFactor(-5, 1000)).toBe(1)
  })

  it("relative costs: none known → 0; unknown among known → 0.5; max → 1", () => {
    expect(relativeCosts([undefined, undefined])).toEqual([0, 0])
    expect(relativeCosts([2, undefined, 4])).toEqual([0.5, 0.5, 1])
    expect(relativeCosts([0, 0])).toEqual([0, 0])
  })
})
