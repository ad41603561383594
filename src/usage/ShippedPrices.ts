import { Schema } from "effect"
import { PriceTable } from "../shared/Prices.js"
import shippedFile from "./default-prices.json" with { type: "json" }

/** The shipped price file: what it is, when its prices were true, where they come from, and the table. */
export const ShippedPriceFile = Schema.Struct({
  about: Schema.String,
  as_of: Schema.String.pipe(Schema.pattern(/^\d{4}-\d{2}-\d{2}$/)),
  source: Schema.String,
  models: PriceTable,
})
export type ShippedPriceFile = typeof ShippedPriceFile.Type

/**
 * The default prices (`default-prices.json`, shipped with the code and checked by a unit test):
 * decoded once, when first imported. A provider's own `prices` win over them (usage/Cost).
 */
export const shippedPriceFile: ShippedPriceFile = Schema.decodeUnknownSync(ShippedPriceFile)(shippedFile)

export const shippedPrices: PriceTable = shippedPriceFile.models
