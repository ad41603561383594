import { FastCheck as fc } from "effect"
import type { Candidate } from "../../../src/routing/Candidates.js"
import { upstreamKey } from "../../../src/routing/Candidates.js"
import type { CircuitView } from "../../../src/routing/Plan.js"
import type { UpstreamMetrics } from "../../../src/routing/Scoring.js"
import { makeProvider } from "../../unit/routing/fixtures.js"

export const NOW = 1_700_000_000_000

/** Deterministic PRNG (mulberry32) so frequency tests are reproducible. */
export const seededRandom = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export const metricsArb: fc.Arbitrary<UpstreamMetrics> = fc.record({
  latencyEwmaMs: fc.double({ min: 1, max: 20_000, noNaN: true }),
  errorEwma: fc.double({ min: 0, max: 1, noNaN: true }),
  samples: fc.integer({ min: 0, max: 1000 }),
  updatedAt: fc.integer({ min: NOW - 3_600_000, max: NOW }),
  weightFactor: fc.double({ min: 0.2, max: 3, noNaN: true }),
})

export interface Scenario {
  readonly candidates: ReadonlyArray<Candidate>
  readonly metrics: ReadonlyMap<string, UpstreamMetrics>
  readonly circuits: ReadonlyMap<string, CircuitView>
}

const upstreamArb = fc.record({
  provider: fc.integer({ min: 0, max: 5 }),
  model: fc.constantFrom("m1", "m2", "m3"),
  weight: fc.double({ min: 0.01, max: 5, noNaN: true }),
  priority: fc.integer({ min: 0, max: 3 }),
  circuit: fc.constantFrom<CircuitView["status"]>("closed", "closed", "closed", "half_open", "open"),
  metrics: fc.option(metricsArb, { nil: undefined }),
  cost: fc.option(fc.double({ min: 0, max: 30, noNaN: true }), { nil: null }),
})

export const scenarioArb: fc.Arbitrary<Scenario> = fc.array(upstreamArb, { minLength: 1, maxLength: 12 }).map((ups) => {
  const providers = new Map<number, ReturnType<typeof makeProvider>>()
  const circuits = new Map<string, CircuitView>()
  const metrics = new Map<string, UpstreamMetrics>()
  const candidates = ups.map((u) => {
    let p = providers.get(u.provider)
    if (p === undefined) {
      p = makeProvider(`p${u.provider}`, { costInput: u.cost, costOutput: u.cost })
      providers.set(u.provider, p)
      circuits.set(
        p.id,
        u.circuit === "open" ? { status: "open", retryAfterMs: 1000 * (u.provider + 1) } : { status: u.circuit },
      )
    }
    if (u.metrics !== undefined) metrics.set(upstreamKey(p.id, u.model), u.metrics)
    return { provider: p, model: u.model, weight: u.weight, priority: u.priority }
  })
  return { candidates, metrics, circuits }
})
