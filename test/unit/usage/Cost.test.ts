import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { PriceTable } from "../../../src/shared/Prices.js"
import { ProviderSettings } from "../../../src/shared/ProviderSettings.js"
import { costOf, costWith, type Prices, priceOf, usdText } from "../../../src/usage/Cost.js"
import { shippedPriceFile, shippedPrices } from "../../../src/usage/ShippedPrices.js"

const shippedOnly: Prices = { shipped: shippedPrices, ofProvider: () => undefined }
const withOwn = (tables: Record<string, PriceTable>): Prices => ({
  shipped: shippedPrices,
  ofProvider: (p) => tables[p],
})

describe("shipped prices", () => {
  it("the file decodes, is dated and names its source; the common models of each provider are in it", () => {
    expect(shippedPriceFile.as_of).toMatch(/^\d{4}-\d{2}-\d{2}$/)
    expect(shippedPriceFile.source).toContain("openai.com")
    expect(shippedPriceFile.source).toContain("anthropic.com")
    expect(shippedPriceFile.source).toContain("ai.google.dev")
    expect(shippedPriceFile.about).toContain("overrid")
    for (const model of [
      "gpt-4o",
      "gpt-4o-mini",
      "gpt-4.1",
      "o3",
      "claude-sonnet-4",
      "claude-3-5-haiku",
      "gemini-2.5-pro",
      "gemini-2.0-flash",
    ]) {
      expect(shippedPrices[model], model).toBeDefined()
    }
  })
})

describe("price matching", () => {
  it("exact id, then the id without one dated-snapshot suffix", () => {
    const input = (model: string) => priceOf(shippedOnly, "any", model)?.input
    expect(input("gpt-4o")).toBe(2.5)
    expect(input("gpt-4o-2024-08-06")).toBe(2.5)
    expect(input("gpt-4o-mini-2024-07-18")).toBe(0.15)
    expect(input("claude-3-5-sonnet-20241022")).toBe(3)
    expect(input("claude-sonnet-4-20250514")).toBe(3)
    expect(input("claude-opus-4-1-20250805")).toBe(15)
    expect(input("claude-3-5-haiku-latest")).toBe(0.8)
    expect(input("gemini-2.0-flash-001")).toBe(0.1)
    expect(input("gpt-4-0613")).toBe(30)
    // A snapshot priced apart is named exactly and wins over its family.
    expect(input("gpt-4o-2024-05-13")).toBe(5)
  })

  it("an unknown model, or a variant that is not a dated snapshot, has no price (cost null), never a guess", () => {
    for (const model of [
      "gpt-4o-audio-preview",
      "gpt-4o-2024-08-06-extra",
      "my-local-llama",
      "claude-3-5-sonnet-v2",
      "",
      "*",
      "__proto__",
      "constructor",
      "gemini-2.5-flash-preview-05-20",
    ]) {
      expect(priceOf(shippedOnly, "any", model), model).toBeUndefined()
      expect(costOf(shippedOnly, "any", model, { inputTokens: 10, outputTokens: 10 }), model).toBeNull()
    }
  })

  it('a provider\'s own prices win: exact, snapshot, then its "*"; other providers keep the shipped ones', () => {
    const prices = withOwn({
      azure: { "gpt-4o": { input: 2, output: 8 } },
      local: { "*": { input: 0, output: 0 }, special: { input: 1, output: 1 } },
    })
    expect(priceOf(prices, "azure", "gpt-4o-2024-08-06")?.input).toBe(2)
    expect(priceOf(prices, "azure", "gpt-4o-mini")?.input).toBe(0.15)
    expect(priceOf(prices, "openai", "gpt-4o")?.input).toBe(2.5)
    expect(priceOf(prices, "local", "gpt-4o")?.input).toBe(0)
    expect(priceOf(prices, "local", "llama-3-70b")?.input).toBe(0)
    expect(priceOf(prices, "local", "special")?.input).toBe(1)
    expect(costOf(prices, "local", "llama-3-70b", { inputTokens: 1000, outputTokens: 1000 })).toBe(0)
  })
})

describe("cost arithmetic", () => {
  it("input and output at their rates: 1 000 in + 500 out of gpt-4o is $0.0075", () => {
    expect(costOf(shippedOnly, "openai", "gpt-4o", { inputTokens: 1000, outputTokens: 500 })).toBe(7_500_000)
    expect(usdText(7_500_000)).toBe("0.0075")
  })

  it("cache reads and writes are inside the input count and priced once at their own rates", () => {
    // claude-sonnet-4: 1 000 fresh × $3 + 8 000 read × $0.30 + 1 000 written × $3.75 + 200 out × $15, per million.
    const usage = { inputTokens: 10_000, cachedInputTokens: 8_000, cacheCreationTokens: 1_000, outputTokens: 200 }
    expect(costOf(shippedOnly, "anthropic", "claude-sonnet-4-20250514", usage)).toBe(
      3_000_000 + 2_400_000 + 3_750_000 + 3_000_000,
    )
    // No cached rate: cached input costs what input does.
    expect(costWith({ input: 1, output: 1 }, { inputTokens: 100, cachedInputTokens: 60, outputTokens: 0 })).toBe(
      100_000,
    )
  })

  it("reasoning is inside output, at the output rate unless priced apart", () => {
    const usage = { inputTokens: 0, outputTokens: 1_000, reasoningTokens: 800 }
    expect(costWith({ input: 1, output: 10 }, usage)).toBe(10_000_000)
    expect(costWith({ input: 1, output: 10, reasoning: 20 }, usage)).toBe(200 * 10_000 + 800 * 20_000)
  })

  it("long context: the whole request at the higher rates once its input passes the threshold", () => {
    const at = (input: number) =>
      costOf(shippedOnly, "google", "gemini-2.5-pro", { inputTokens: input, outputTokens: 1_000 })
    expect(at(200_000)).toBe(200_000 * 1_250 + 1_000 * 10_000)
    expect(at(200_001)).toBe(200_001 * 2_500 + 1_000 * 15_000)
  })

  it("a per-request price is added once; a reply with no usage reported costs only that", () => {
    expect(costWith({ input: 1, output: 1, request: 0.01 }, {})).toBe(10_000_000)
    expect(costWith({ input: 1, output: 1, request: 0.01 }, { inputTokens: 1_000 })).toBe(10_000_000 + 1_000_000)
    expect(costWith({ input: 1, output: 1 }, {})).toBe(0)
  })

  it("exact: one pico-dollar per token, rounded half up to the nano-dollar once per answer", () => {
    const tiny = { input: 0.000001, output: 0 }
    expect(costWith(tiny, { inputTokens: 499 })).toBe(0)
    expect(costWith(tiny, { inputTokens: 500 })).toBe(1)
    expect(costWith(tiny, { inputTokens: 1_500 })).toBe(2)
    // Prices that are not exact binary fractions (0.075, 0.1, 0.3) still give exact integers.
    expect(costWith({ input: 0.075, output: 0.3 }, { inputTokens: 3, outputTokens: 7 })).toBe(
      Math.round((3 * 75_000 + 7 * 300_000) / 1000),
    )
    expect(costWith({ input: 0.1, output: 0.1 }, { inputTokens: 3, outputTokens: 0 })).toBe(300)
  })

  it("huge counts stay exact (no float rounding): 10 billion tokens at $1 000 000 per million", () => {
    expect(costWith({ input: 1_000_000, output: 0 }, { inputTokens: 10_000_000_000 })).toBe(
      10_000_000_000 * 1_000_000_000,
    )
  })

  it("hostile usage (negative, fractional, NaN, cached above input) never makes a negative or NaN cost", () => {
    const price = { input: 1, output: 2, cached_input: 0.5 }
    expect(costWith(price, { inputTokens: -5, outputTokens: Number.NaN })).toBe(0)
    expect(costWith(price, { inputTokens: 10.7, outputTokens: Number.POSITIVE_INFINITY })).toBe(10_000)
    expect(costWith(price, { inputTokens: 10, cachedInputTokens: 30 })).toBe(30 * 500)
    expect(costWith(price, { outputTokens: 10, reasoningTokens: 30 })).toBe(30 * 2_000)
  })
})

describe("usdText", () => {
  it("an exact decimal string with at least two decimals", () => {
    expect(usdText(0)).toBe("0.00")
    expect(usdText(1)).toBe("0.000000001")
    expect(usdText(1_234)).toBe("0.000001234")
    expect(usdText(10_000_000)).toBe("0.01")
    expect(usdText(5_000_000_000)).toBe("5.00")
    expect(usdText(12_345_678_901_234_567_890n)).toBe("12345678901.23456789")
  })
})

describe("price validation", () => {
  const decode = (table: unknown) => Schema.decodeUnknownEither(PriceTable)(table)
  it("accepts prices with at most 6 decimals; refuses more, negatives, non-numbers, missing input/output", () => {
    expect(Either.isRight(decode({ "gpt-4o": { input: 2.5, output: 10, cached_input: 0.000001 } }))).toBe(true)
    for (const bad of [
      { m: { input: 0.0000001, output: 1 } },
      { m: { input: -1, output: 1 } },
      { m: { input: "1", output: 1 } },
      { m: { input: 1 } },
      { m: { input: Number.POSITIVE_INFINITY, output: 1 } },
      { m: { input: 1, output: 1, long_context: { above_input_tokens: 0, input: 1, output: 1 } } },
      { ["x".repeat(201)]: { input: 1, output: 1 } },
      { "": { input: 1, output: 1 } },
    ]) {
      expect(Either.isLeft(decode(bad)), JSON.stringify(bad).slice(0, 80)).toBe(true)
    }
  })

  it("a table of more than 2 000 models is refused (a providers file or API call cannot store unbounded prices)", () => {
    const table = Object.fromEntries(Array.from({ length: 2_001 }, (_, i) => [`m${i}`, { input: 1, output: 1 }]))
    expect(Either.isLeft(decode(table))).toBe(true)
  })

  it("is a provider setting (providers file, management API, stored settings)", () => {
    const decoded = Schema.decodeUnknownSync(ProviderSettings)({ prices: { "*": { input: 0, output: 0 } } })
    expect(decoded.prices).toEqual({ "*": { input: 0, output: 0 } })
  })
})
