import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { costOf, type Prices, usdText } from "../../../src/usage/Cost.js"
import { shippedPrices } from "../../../src/usage/ShippedPrices.js"
import { addUsage, type UsageTally } from "../../../src/usage/UsageTally.js"

const prices: Prices = {
  shipped: shippedPrices,
  ofProvider: (p) => (p === "own" ? { "*": { input: 0.000003, output: 0.123457, request: 0.000001 } } : undefined),
}

const models = [...Object.keys(shippedPrices), "unknown-model", "gpt-4o-2024-08-06", "claude-sonnet-4-20250514"]

const request = fc.record({
  provider: fc.constantFrom("openai", "anthropic", "own"),
  model: fc.constantFrom(...models),
  caller: fc.constantFrom("k1", "k2", null),
  minute: fc.integer({ min: 0, max: 5 }),
  usage: fc.record(
    {
      inputTokens: fc.integer({ min: 0, max: 2_000_000 }),
      outputTokens: fc.integer({ min: 0, max: 200_000 }),
      cachedInputTokens: fc.integer({ min: 0, max: 1_000_000 }),
      cacheCreationTokens: fc.integer({ min: 0, max: 100_000 }),
      reasoningTokens: fc.integer({ min: 0, max: 100_000 }),
    },
    { requiredKeys: [] },
  ),
})

describe("cost sums", () => {
  it.prop(
    "per-request costs summed equal the usage totals, to the nano-dollar, whatever the grouping",
    [fc.array(request, { maxLength: 200 })],
    ([requests]) => {
      const tally: UsageTally = new Map()
      let expected = 0n
      let unpriced = 0
      const t0 = Date.UTC(2026, 0, 1)
      for (const r of requests) {
        const cost = costOf(prices, r.provider, r.model, r.usage)
        if (cost === null) unpriced += 1
        else {
          expect(Number.isSafeInteger(cost) && cost >= 0).toBe(true)
          expected += BigInt(cost)
        }
        addUsage(
          tally,
          {
            apiKeyId: r.caller,
            userId: null,
            provider: r.provider,
            model: r.model,
            usage: r.usage,
            cost,
            complete: true,
          },
          t0 + r.minute * 60_000,
        )
      }
      const rows = [...tally.values()]
      const total = rows.reduce((sum, row) => sum + BigInt(row.costNanoUsd), 0n)
      expect(total).toBe(expected)
      expect(usdText(total)).toBe(usdText(expected))
      expect(rows.reduce((n, row) => n + row.unpriced, 0)).toBe(unpriced)
      expect(rows.every((row) => Number.isSafeInteger(row.costNanoUsd))).toBe(true)
    },
  )

  it.prop(
    "a cost never depends on float addition: it equals the exact rational sum rounded half up once",
    [request],
    ([r]) => {
      const cost = costOf(prices, r.provider, r.model, r.usage)
      if (cost === null) return
      // Splitting the output of a request into two requests of the same model changes the cost by at most one nano-dollar of rounding (plus a per-request price).
      const out = r.usage.outputTokens ?? 0
      const half = Math.floor(out / 2)
      const a = costOf(prices, r.provider, r.model, { outputTokens: half })!
      const b = costOf(prices, r.provider, r.model, { outputTokens: out - half })!
      const whole = costOf(prices, r.provider, r.model, { outputTokens: out })!
      const perRequest = r.provider === "own" ? 1_000 : 0
      expect(Math.abs(a + b - perRequest - whole)).toBeLessThanOrEqual(1)
    },
  )
})
