import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { candidateKey } from "../../../src/routing/Candidates.js"
import { buildPlan, weightedPick } from "../../../src/routing/Plan.js"
import type { RoutingStrategyName } from "../../../src/shared/ProviderVocabulary.js"
import { makeProvider } from "../../unit/routing/fixtures.js"
import { NOW, scenarioArb, seededRandom } from "./arbitraries.js"

const strategyArb = fc.constantFrom<RoutingStrategyName>("balanced", "latency_first", "cost_first", "reliability_first")

describe("buildPlan invariants", () => {
  it.prop(
    "never repeats an upstream, keeps priority order, skips exactly the open circuits — or, all open, sends the soonest (panic)",
    [scenarioArb, strategyArb, fc.double({ min: 0, max: 0.999999, noNaN: true })],
    ([sc, strategy, r]) => {
      const plan = buildPlan({
        candidates: sc.candidates,
        strategy,
        metrics: sc.metrics,
        circuits: sc.circuits,
        sticky: null,
        now: NOW,
        random: r,
      })
      const keys = plan.attempts.map((a) => candidateKey(a.candidate))
      expect(new Set(keys).size).toBe(keys.length)
      for (let i = 1; i < plan.attempts.length; i++) {
        expect(plan.attempts[i]!.priority).toBeGreaterThanOrEqual(plan.attempts[i - 1]!.priority)
      }
      const distinct = new Set(sc.candidates.map(candidateKey))
      expect(keys.length + plan.skipped.length).toBe(distinct.size)
      // A request is never refused by the plan: there is always something to send.
      expect(plan.attempts.length).toBeGreaterThan(0)
      for (const s of plan.skipped) expect(sc.circuits.get(s.candidate.provider.id)?.status).toBe("open")
      const allOpen = sc.candidates.every((c) => sc.circuits.get(c.provider.id)?.status === "open")
      if (allOpen) {
        expect(plan.attempts).toHaveLength(1)
        expect(plan.attempts[0]!.reason).toBe("panic")
        const waits = sc.candidates.map((c) => sc.circuits.get(c.provider.id)!.retryAfterMs!)
        expect(sc.circuits.get(plan.attempts[0]!.candidate.provider.id)!.retryAfterMs).toBe(Math.min(...waits))
        expect(plan.retryAfterMs).toBe(Math.min(...waits))
      } else {
        for (const a of plan.attempts) expect(sc.circuits.get(a.candidate.provider.id)?.status).not.toBe("open")
      }
    },
  )

  it.prop(
    "a candidate in cooldown is never chosen first while a closed one exists",
    [scenarioArb, fc.double({ min: 0, max: 0.999999, noNaN: true })],
    ([sc, r]) => {
      const plan = buildPlan({
        candidates: sc.candidates,
        strategy: "balanced",
        metrics: sc.metrics,
        circuits: sc.circuits,
        sticky: null,
        now: NOW,
        random: r,
      })
      const minPriority = Math.min(...plan.attempts.map((a) => a.priority))
      const closedInBestTier = plan.attempts.some((a) => a.priority === minPriority && a.circuit === "closed")
      if (closedInBestTier) expect(plan.attempts[0]!.circuit).toBe("closed")
      // The first attempt always comes from the best available tier.
      if (plan.attempts.length > 0) expect(plan.attempts[0]!.priority).toBe(minPriority)
    },
  )

  it.prop(
    "the rest of each tier is ordered closed-first then by descending score",
    [scenarioArb, fc.double({ min: 0, max: 0.999999, noNaN: true })],
    ([sc, r]) => {
      const plan = buildPlan({
        candidates: sc.candidates,
        strategy: "balanced",
        metrics: sc.metrics,
        circuits: sc.circuits,
        sticky: null,
        now: NOW,
        random: r,
      })
      const rest = plan.attempts.slice(1)
      for (let i = 1; i < rest.length; i++) {
        const a = rest[i - 1]!
        const b = rest[i]!
        if (a.priority === b.priority && a.circuit === b.circuit)
          expect(a.score.score).toBeGreaterThanOrEqual(b.score.score)
        if (a.priority === b.priority) expect(a.circuit === "half_open" && b.circuit === "closed").toBe(false)
      }
    },
  )

  it.prop(
    "stickiness wins while the bound upstream is healthy and in the best tier",
    [scenarioArb, fc.nat(), fc.double({ min: 0, max: 0.999999, noNaN: true })],
    ([sc, pick, r]) => {
      const bound = sc.candidates[pick % sc.candidates.length]!
      const sticky = { provider: bound.provider.id, model: bound.model }
      const plan = buildPlan({
        candidates: sc.candidates,
        strategy: "balanced",
        metrics: sc.metrics,
        circuits: sc.circuits,
        sticky,
        now: NOW,
        random: r,
      })
      const status = sc.circuits.get(bound.provider.id)?.status ?? "closed"
      const boundAttempt = plan.attempts.find((a) => candidateKey(a.candidate) === candidateKey(bound))
      if (status !== "closed") {
        expect(plan.sticky).toBe("circuit_not_closed")
        expect(plan.attempts[0]?.reason).not.toBe("sticky")
      } else if (boundAttempt!.score.score < 0.1) {
        expect(plan.sticky).toBe("below_min_score")
      } else if (boundAttempt!.priority === Math.min(...plan.attempts.map((a) => a.priority))) {
        expect(plan.sticky).toBe("applied")
        expect(candidateKey(plan.attempts[0]!.candidate)).toBe(candidateKey(bound))
        expect(plan.attempts[0]!.reason).toBe("sticky")
      } else {
        expect(plan.sticky).toBe("not_in_best_tier")
        expect(plan.attempts[0]!.priority).toBeLessThan(boundAttempt!.priority)
      }
    },
  )
})

describe("weighted choice", () => {
  it("converges to the seed's 68.5 % / 31.5 % for weights 2 and 1 (no metrics)", () => {
    const a = makeProvider("a", { weight: 1 })
    const b = makeProvider("b", { weight: 2 })
    const candidates = [
      { provider: a, model: "gpt-4o", weight: 1, priority: 0 },
      { provider: b, model: "gpt-4o", weight: 2, priority: 0 },
    ]
    const rnd = seededRandom(42)
    const n = 40_000
    let bCount = 0
    // Counted, asserted once after the loop: 40 000 expect calls cost seconds.
    let notTwoAttempts = 0
    for (let i = 0; i < n; i++) {
      const plan = buildPlan({
        candidates,
        strategy: "balanced",
        metrics: new Map(),
        circuits: new Map(),
        sticky: null,
        now: NOW,
        random: rnd,
      })
      if (plan.attempts[0]!.candidate.provider.id === "b") bCount++
      if (plan.attempts.length !== 2) notTwoAttempts++
    }
    expect(notTwoAttempts).toBe(0)
    expect(bCount / n).toBeCloseTo(1.85 / 2.7, 2)
  })

  it.prop(
    "weightedPick frequencies converge to weight shares",
    [fc.array(fc.double({ min: 0.05, max: 10, noNaN: true }), { minLength: 1, maxLength: 5 }), fc.integer()],
    ([weights, seed]) => {
      const rnd = seededRandom(seed)
      const idx = weights.map((_, i) => i)
      const counts = weights.map(() => 0)
      const n = 20_000
      for (let i = 0; i < n; i++) counts[weightedPick(idx, (j) => weights[j]!, rnd())!]!++
      const total = weights.reduce((s, w) => s + w, 0)
      for (const [i, w] of weights.entries()) expect(Math.abs(counts[i]! / n - w / total)).toBeLessThan(0.025)
    },
    { fastCheck: { numRuns: 30 } },
  )

  it.prop(
    "weightedPick is uniform when every weight is zero and never picks a zero weight otherwise",
    [
      fc.array(fc.constantFrom(0, 0, 1, 2), { minLength: 1, maxLength: 6 }),
      fc.double({ min: 0, max: 0.999999, noNaN: true }),
    ],
    ([weights, r]) => {
      const idx = weights.map((_, i) => i)
      const picked = weightedPick(idx, (j) => weights[j]!, r)!
      if (weights.some((w) => w > 0)) expect(weights[picked]).toBeGreaterThan(0)
      else expect(picked).toBe(Math.floor(r * weights.length))
    },
  )
})
