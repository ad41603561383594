import { Schema } from "effect"
import { expecting } from "./SchemaText.js"

/**
 * Model prices, in US dollars (issue 15 item 2): one Schema for the shipped table
 * (`usage/default-prices.json`), a provider's `prices` setting (providers file, management API,
 * the `providers.settings` column) and the registry. Token prices are per million tokens; the
 * arithmetic on them is `usage/Cost.ts`.
 *
 * Every price has at most 6 decimals (a millionth of a dollar per million tokens, i.e. a
 * pico-dollar per token), so a cost is an exact integer sum, never a float one.
 */

/** The largest price accepted: far above any real one, small enough that no arithmetic is strained. */
const MAX_PRICE = 1_000_000

/** Whether `usd` has at most 6 decimals (read from JSON, 0.075 is 75000.00000000001 millionths: tolerate that). */
const sixDecimals = (usd: number): boolean => Math.abs(usd * 1e6 - Math.round(usd * 1e6)) < 1e-3

export const Usd = expecting(
  Schema.Number.pipe(
    Schema.finite(),
    Schema.between(0, MAX_PRICE),
    Schema.filter((usd) => sixDecimals(usd)),
  ),
  `expected a price in USD from 0 to ${MAX_PRICE} with at most 6 decimals`,
)

/** Token prices in USD per million tokens; each left out falls back as described. */
const TokenPriceFields = {
  input: Usd.annotations({ description: "USD per million input tokens not read from or written to a cache" }),
  output: Usd.annotations({
    description: "USD per million output tokens (visible output; reasoning too unless `reasoning` is set)",
  }),
  cached_input: Schema.optionalWith(
    Usd.annotations({ description: "USD per million input tokens read from a cache (default: `input`)" }),
    {
      exact: true,
    },
  ),
  cache_write: Schema.optionalWith(
    Usd.annotations({
      description: "USD per million input tokens written to a cache (Anthropic's cache creation; default: `input`)",
    }),
    { exact: true },
  ),
  reasoning: Schema.optionalWith(
    Usd.annotations({ description: "USD per million reasoning tokens (default: `output`)" }),
    { exact: true },
  ),
}

/** The largest model id a price table names (provider model ids are far shorter). */
const MAX_MODEL_ID = 200
/** The most models one price table names: bounds what a providers file or an API call can store. */
export const MAX_PRICED_MODELS = 2_000

/** One model's price. */
export const ModelPrice = Schema.Struct({
  ...TokenPriceFields,
  request: Schema.optionalWith(Usd.annotations({ description: "USD per answered request, on top of its tokens" }), {
    exact: true,
  }),
  long_context: Schema.optionalWith(
    Schema.Struct({
      above_input_tokens: expecting(
        Schema.Number.pipe(Schema.int(), Schema.between(1, 100_000_000)),
        "expected a whole number of tokens ≥ 1",
      ),
      ...TokenPriceFields,
    }).annotations({
      description:
        "Prices of the whole request when its input (cached and cache writes included) is over `above_input_tokens` (Gemini Pro, Claude Sonnet long context)",
    }),
    { exact: true },
  ),
}).annotations({
  identifier: "ModelPrice",
  description: "A model's price in USD: tokens per million, `request` per request",
})
export type ModelPrice = typeof ModelPrice.Type

/** Prices by model id (`*`: every model the table's owner serves that it does not name). */
export const PriceTable = Schema.Record({ key: Schema.String, value: ModelPrice })
  .pipe(
    Schema.filter((table) => {
      const ids = Object.keys(table)
      if (ids.length > MAX_PRICED_MODELS) return `expected at most ${MAX_PRICED_MODELS} models`
      // Checked here, not as the key's schema: a Record drops keys its key schema refuses, silently.
      const bad = ids.find((id) => id.length === 0 || id.length > MAX_MODEL_ID)
      return bad === undefined || `expected model ids of 1 to ${MAX_MODEL_ID} characters (or "*")`
    }),
  )
  .annotations({
    identifier: "PriceTable",
    description:
      'Prices by model id (the dated snapshots of a model id match it; "*" matches every model not named). Wins over the shipped defaults.',
  })
export type PriceTable = typeof PriceTable.Type
