import { Effect } from "effect"
import type { UsageDelta } from "../protocol/Canonical.js"
import { ProviderRegistry } from "../registry/ProviderRegistry.js"
import { costOf, type NanoUsd, type Prices } from "../usage/Cost.js"
import { shippedPrices } from "../usage/ShippedPrices.js"

/**
 * The prices in force: each provider's own (`prices` setting, from the registry's current
 * snapshot) over the shipped defaults. `costOf` is the pure `usage/Cost.costOf` over them.
 */
export class Pricing extends Effect.Service<Pricing>()("gateway/gateway/Pricing", {
  effect: Effect.gen(function* () {
    const registry = yield* ProviderRegistry
    const prices: Prices = {
      shipped: shippedPrices,
      ofProvider: (provider) => registry.unsafeCurrent().providers.get(provider)?.prices,
    }
    /** An answer's cost in nano-dollars, or null when its model has no price. Synchronous: the request path calls it. */
    const cost = (provider: string, model: string, usage: UsageDelta): NanoUsd | null =>
      costOf(prices, provider, model, usage)
    return { prices, costOf: cost } as const
  }),
}) {}
