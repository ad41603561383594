import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import type { KeyState } from "../../../src/routing/KeyPool.js"
import { applyKeyOutcome, effectivePreference, keyBackoffMs, keyOrder } from "../../../src/routing/KeyPool.js"
import { makeKey } from "../../unit/routing/fixtures.js"
import { seededRandom } from "./arbitraries.js"

const kindArb = fc.constantFrom("retryable" as const, "fatal" as const, "auth" as const)

describe("key backoff", () => {
  it("follows base × 2^min(n, 5), capped at 60 s, ≥ 30 s for 401/403", () => {
    expect([1, 2, 3, 4, 5, 6, 9].map((n) => keyBackoffMs(n, "retryable"))).toEqual([
      2000, 4000, 8000, 16000, 32000, 32000, 32000,
    ])
    expect([1, 2, 3].map((n) => keyBackoffMs(n, "fatal"))).toEqual([10_000, 20_000, 40_000])
    expect(keyBackoffMs(4, "fatal")).toBe(60_000)
    expect(keyBackoffMs(1, "auth")).toBe(30_000)
    expect(keyBackoffMs(5, "auth")).toBe(60_000)
  })

  it.prop(
    "grows with the failure count and stays within its bounds",
    [fc.integer({ min: 0, max: 50 }), kindArb],
    ([n, kind]) => {
      expect(keyBackoffMs(n + 1, kind)).toBeGreaterThanOrEqual(keyBackoffMs(n, kind))
      expect(keyBackoffMs(n, kind)).toBeLessThanOrEqual(60_000)
      if (kind === "auth") expect(keyBackoffMs(n, kind)).toBeGreaterThanOrEqual(30_000)
    },
  )

  it.prop(
    "preference stays in [0.1, 10] and drifts back to 1",
    [fc.array(fc.oneof(fc.constant(null), kindArb), { maxLength: 40 })],
    ([outcomes]) => {
      let s: KeyState | undefined
      outcomes.forEach((o, i) => {
        s = applyKeyOutcome(s, o === null ? { _tag: "Success" } : { _tag: "Failure", kind: o }, i * 1000)
        expect(s.preference).toBeGreaterThanOrEqual(0.1)
        expect(s.preference).toBeLessThanOrEqual(10)
      })
      if (s !== undefined)
        expect(Math.abs(effectivePreference(s, outcomes.length * 1000 + 24 * 3_600_000) - 1)).toBeLessThan(0.01)
    },
  )
})

describe("keyOrder", () => {
  const keys = [makeKey("a", { weight: 3 }), makeKey("b", { weight: 1 }), makeKey("c", { weight: 1 })]

  it.prop(
    "never returns a key in backoff or excluded, nor the same key twice",
    [
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 3, maxLength: 3 }),
      fc.array(fc.double({ min: 0.1, max: 10, noNaN: true }), { minLength: 3, maxLength: 3 }),
      fc.subarray(["a", "b", "c"]),
      fc.integer(),
    ],
    ([backoffs, prefs, excluded, seed]) => {
      const now = 10_000
      const states = new Map<string, KeyState>(
        keys.map((k, i) => [
          k.id,
          {
            failCount: backoffs[i]!,
            backoffUntil: backoffs[i]! > 0 ? now + 1 : 0,
            preference: prefs[i]!,
            updatedAt: now,
          },
        ]),
      )
      const order = keyOrder(keys, states, now, seededRandom(seed), new Set(excluded))
      expect(new Set(order.map((k) => k.id)).size).toBe(order.length)
      for (const k of order) {
        expect(excluded).not.toContain(k.id)
        expect(states.get(k.id)!.backoffUntil).toBeLessThanOrEqual(now)
      }
      // Higher preference tiers come first.
      for (let i = 1; i < order.length; i++) {
        const prev = states.get(order[i - 1]!.id)!.preference
        expect(prev).toBeGreaterThanOrEqual(states.get(order[i]!.id)!.preference - 0.05 - 1e-9)
      }
      expect(order.length).toBe(keys.filter((k, i) => backoffs[i] === 0 && !excluded.includes(k.id)).length)
    },
  )

  it("a higher preference wins; within a tier the weights split the first picks", () => {
    const now = 0
    const preferred = new Map<string, KeyState>([
      ["c", { failCount: 0, backoffUntil: 0, preference: 2, updatedAt: now }],
    ])
    const rnd = seededRandom(7)
    for (let i = 0; i < 100; i++) expect(keyOrder(keys, preferred, now, rnd)[0]!.id).toBe("c")
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 }
    const n = 20_000
    for (let i = 0; i < n; i++) counts[keyOrder(keys, new Map(), now, rnd)[0]!.id]!++
    expect(counts.a! / n).toBeCloseTo(0.6, 1)
    expect(counts.b! / n).toBeCloseTo(0.2, 1)
  })
})
