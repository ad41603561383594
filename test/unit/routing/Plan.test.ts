import { describe, expect, it } from "@effect/vitest"
import { buildPlan, describePlan } from "../../../src/routing/Plan.js"
import type { UpstreamMetrics } from "../../../src/routing/Scoring.js"
import { makeProvider } from "./fixtures.js"

const a = makeProvider("a")
const b = makeProvider("b")
const c = makeProvider("c")
const cand = (p: typeof a, priority = 0, weight = 1) => ({ provider: p, model: "m", weight, priority })
const base = {
  strategy: "balanced" as const,
  metrics: new Map<string, UpstreamMetrics>(),
  circuits: new Map(),
  sticky: null,
  now: 0,
  random: 0,
}
const ids = (plan: ReturnType<typeof buildPlan>) => plan.attempts.map((x) => x.candidate.provider.id)

describe("buildPlan rules", () => {
  it("panic mode: when every candidate's circuit is open, the one whose cooldown ends first still goes out", () => {
    const plan = buildPlan({
      ...base,
      candidates: [cand(a), cand(b, 1)],
      circuits: new Map([
        ["a", { status: "open" as const, retryAfterMs: 9000 }],
        ["b", { status: "open" as const, retryAfterMs: 4000 }],
      ]),
    })
    expect(ids(plan)).toEqual(["b"])
    expect(plan.attempts[0]).toMatchObject({ reason: "panic", circuit: "open" })
    expect(plan.retryAfterMs).toBe(4000)
    expect(plan.skipped.map((s) => s.candidate.provider.id)).toEqual(["a"])
    // A model with a single upstream is never refused by its own breaker.
    const solo = buildPlan({
      ...base,
      candidates: [cand(a)],
      circuits: new Map([["a", { status: "open" as const, retryAfterMs: 9000 }]]),
    })
    expect(ids(solo)).toEqual(["a"])
    expect(solo.attempts[0]!.reason).toBe("panic")
  })

  it("a candidate's circuit is the worse of its provider's and its upstream's", () => {
    const upstreamOpen = buildPlan({
      ...base,
      candidates: [cand(a), cand(b, 1)],
      circuits: new Map([["a/m", { status: "open" as const, retryAfterMs: 1000 }]]),
    })
    expect(ids(upstreamOpen)).toEqual(["b"])
    const providerHalf = buildPlan({
      ...base,
      candidates: [cand(a), cand(b, 1)],
      circuits: new Map([
        ["a/m", { status: "closed" as const }],
        ["a", { status: "half_open" as const }],
      ]),
    })
    expect(providerHalf.attempts[0]).toMatchObject({ circuit: "half_open", reason: "half_open_probe" })
  })

  it("probes a half-open primary tier before the backup tier; closed candidates come before half-open ones in a tier", () => {
    const probe = buildPlan({
      ...base,
      candidates: [cand(a), cand(b, 1)],
      circuits: new Map([["a", { status: "half_open" as const }]]),
    })
    expect(ids(probe)).toEqual(["a", "b"])
    expect(probe.attempts[0]!.reason).toBe("half_open_probe")
    const mixed = buildPlan({
      ...base,
      candidates: [cand(a, 0, 5), cand(c, 0, 1)],
      circuits: new Map([["a", { status: "half_open" as const }]]),
    })
    expect(ids(mixed)).toEqual(["c", "a"])
  })

  it("a low-scoring candidate is not drawn while others qualify, but stays in the plan (never excluded, W3)", () => {
    const failing: UpstreamMetrics = {
      latencyEwmaMs: 10_000,
      errorEwma: 1,
      samples: 100,
      updatedAt: 0,
      weightFactor: 0.2,
    }
    for (const r of [0, 0.3, 0.6, 0.999]) {
      const plan = buildPlan({
        ...base,
        random: r,
        candidates: [cand(a), cand(b)],
        metrics: new Map([["a/m", failing]]),
      })
      expect(ids(plan)).toEqual(["b", "a"])
    }
    // Alone, it is still tried.
    expect(ids(buildPlan({ ...base, candidates: [cand(a)], metrics: new Map([["a/m", failing]]) }))).toEqual(["a"])
  })

  it("dedupes a (provider, model) listed twice, keeping its best priority", () => {
    const plan = buildPlan({ ...base, candidates: [cand(a, 2), cand(b, 1), cand(a, 0)] })
    expect(plan.attempts.map((x) => [x.candidate.provider.id, x.priority])).toEqual([
      ["a", 0],
      ["b", 1],
    ])
  })

  it("a sticky upstream in a worse tier does not pull traffic away from a healthy better tier", () => {
    const plan = buildPlan({ ...base, candidates: [cand(a), cand(b, 1)], sticky: { provider: "b", model: "m" } })
    expect(ids(plan)).toEqual(["a", "b"])
    expect(plan.sticky).toBe("not_in_best_tier")
  })
})

describe("describePlan", () => {
  it("is JSON-safe and carries no key material", () => {
    const plan = buildPlan({
      ...base,
      candidates: [cand(a), cand(b, 1)],
      circuits: new Map([["b", { status: "open" as const, retryAfterMs: 1000 }]]),
    })
    const json = JSON.stringify(describePlan(plan))
    expect(json).not.toContain("sk-")
    expect(JSON.parse(json)).toMatchObject({
      strategy: "balanced",
      sticky: "none",
      attempts: [{ provider: "a", model: "m", priority: 0, circuit: "closed", reason: "weighted_choice" }],
      skipped: [{ provider: "b", reason: "circuit_open", retryAfterMs: 1000 }],
    })
  })
})
