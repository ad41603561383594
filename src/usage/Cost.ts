import type { UsageDelta } from "../protocol/Canonical.js"
import type { ModelPrice, PriceTable } from "../shared/Prices.js"

/**
 * What an answer cost, from the provider's reported usage and a price (issue 15 item 2). Pure.
 *
 * Money is an integer number of nano-dollars (`NanoUsd`, 1e-9 USD): a price has at most 6
 * decimals per million tokens, i.e. a whole number of pico-dollars per token, so each answer's
 * cost is an exact integer of pico-dollars, rounded once (half up) to nano-dollars. Sums of
 * answers are integer sums: a total is exactly the sum of its parts, and exact to the cent.
 */

/** An amount in nano-dollars (1e-9 USD): a whole number. */
export type NanoUsd = number

/** Where prices come from, in order: the serving provider's own table, then the shipped defaults. */
export interface Prices {
  /** The provider's `prices` setting (providers file, management API), by provider id. */
  readonly ofProvider: (provider: string) => PriceTable | undefined
  /** The shipped defaults (`usage/default-prices.json`). */
  readonly shipped: PriceTable
}

/** A model id's dated-snapshot suffix: -2024-08-06, -20241022, -0613, -002, -latest. */
const SNAPSHOT_SUFFIX = /-(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|\d{3}|latest)$/

/**
 * The price of `model` in `table`: its exact id, then its id without one dated-snapshot suffix
 * (`gpt-4o-2024-08-06` → `gpt-4o`), then — when `wildcard` — the table's `*` entry.
 */
export const priceIn = (table: PriceTable, model: string, wildcard: boolean): ModelPrice | undefined => {
  const exact = Object.hasOwn(table, model) ? table[model] : undefined
  if (exact !== undefined) return exact
  const family = model.replace(SNAPSHOT_SUFFIX, "")
  if (family !== model && Object.hasOwn(table, family)) return table[family]
  return wildcard && Object.hasOwn(table, "*") ? table["*"] : undefined
}

/** The price that applies to `model` served by `provider`: the provider's own table first (`*` included), then the shipped one. */
export const priceOf = (prices: Prices, provider: string, model: string): ModelPrice | undefined => {
  const own = prices.ofProvider(provider)
  return (own === undefined ? undefined : priceIn(own, model, true)) ?? priceIn(prices.shipped, model, false)
}

/** USD (at most 6 decimals) → pico-dollars per token of a per-million price, or per request × 1e-6 (exact: see Prices.ts). */
const micro = (usd: number): bigint => BigInt(Math.round(usd * 1e6))

const count = (tokens: number | undefined): bigint =>
  tokens === undefined || !Number.isFinite(tokens) || tokens <= 0 ? 0n : BigInt(Math.floor(tokens))

/**
 * The cost of one answer in nano-dollars: canonical usage counts cached input and cache writes
 * inside `inputTokens`, and reasoning inside `outputTokens` (protocol/Canonical), so each part is
 * priced once at its own rate. `request` is added once per answer. Rounded half up.
 */
export const costWith = (price: ModelPrice, usage: UsageDelta): NanoUsd => {
  const input = count(usage.inputTokens)
  const cached = count(usage.cachedInputTokens)
  const written = count(usage.cacheCreationTokens)
  const output = count(usage.outputTokens)
  const reasoning = count(usage.reasoningTokens)
  const long = price.long_context
  const rates = long !== undefined && input > BigInt(long.above_input_tokens) ? long : price
  const fresh = input > cached + written ? input - cached - written : 0n
  const visible = output > reasoning ? output - reasoning : 0n
  const pico =
    fresh * micro(rates.input) +
    cached * micro(rates.cached_input ?? rates.input) +
    written * micro(rates.cache_write ?? rates.input) +
    visible * micro(rates.output) +
    reasoning * micro(rates.reasoning ?? rates.output) +
    (price.request === undefined ? 0n : micro(price.request) * 1_000_000n)
  return Number((pico + 500n) / 1000n)
}

/**
 * The cost of an answer of `model` served by `provider` with the reported `usage`, in
 * nano-dollars; `null` when no price applies (unknown model: never a guess).
 */
export const costOf = (prices: Prices, provider: string, model: string, usage: UsageDelta): NanoUsd | null => {
  const price = priceOf(prices, provider, model)
  return price === undefined ? null : costWith(price, usage)
}

const NANO_PER_USD = 1_000_000_000n

/** Nano-dollars as a USD decimal string, exact, at least 2 decimals: 1234 → "0.000001234", 5e9 → "5.00". */
export const usdText = (nano: NanoUsd | bigint): string => {
  const value = BigInt(nano)
  const sign = value < 0n ? "-" : ""
  const abs = value < 0n ? -value : value
  const fraction = (abs % NANO_PER_USD).toString().padStart(9, "0").replace(/0+$/, "").padEnd(2, "0")
  return `${sign}${abs / NANO_PER_USD}.${fraction}`
}
