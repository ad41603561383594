import { Effect } from "effect"
import type { Principal } from "../identity/Principal.js"
import type { RateLimit } from "../identity/RateLimit.js"
import type { MetricsService } from "../metrics/Metrics.js"
import type { UsageDelta } from "../protocol/Canonical.js"
import type { Budgets } from "../usage/Budgets.js"
import type { NanoUsd } from "../usage/Cost.js"
import type { UsageLedger } from "../usage/UsageLedger.js"
import type { ClientRequest } from "./Exchange.js"
import { operationNameOf, type Served } from "./GatewayRequest.js"
import type { Pricing } from "./Pricing.js"

/** Nano-dollars (usage/Cost) per US dollar. */
const NANO_PER_USD = 1e9

/**
 * Where an answered request's usage goes: the usage ledger (with its cost), the caller's budgets
 * and tokens-per-minute limit, the token and cost metrics.
 */
export const makeUsageRecording = (
  ledger: UsageLedger,
  rateLimit: RateLimit,
  pricing: Pricing,
  budgets: Budgets,
  metrics: MetricsService,
) => ({
  /**
   * An answered attempt's usage and cost, for `GET /usage` (a memory addition; written in
   * batches), the caller's budgets and the metrics. Returns the cost (null: its model has no price).
   */
  recordAnswered: (
    principal: Principal,
    served: Served,
    usage: UsageDelta,
    complete: boolean,
    client: ClientRequest,
  ): NanoUsd | null => {
    const cost = pricing.costOf(served.provider, served.model, usage)
    ledger.record({
      apiKeyId: principal.apiKeyId,
      userId: principal.userId,
      provider: served.provider,
      model: served.model,
      usage,
      cost,
      complete,
    })
    budgets.recordSpend(principal, cost)
    metrics.observeUsage({
      operation: operationNameOf(client),
      requestedModel: client.requestedModel,
      provider: served.provider,
      model: served.model,
      usage,
    })
    if (cost !== null) metrics.addCost({ provider: served.provider, model: served.model, usd: cost / NANO_PER_USD })
    return cost
  },

  /** Tokens count against the caller's tokens-per-minute limit once the answer is known. */
  recordUsage: (principal: Principal, usage: UsageDelta) =>
    rateLimit
      .recordTokens(principal, (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0))
      .pipe(Effect.catchAll((error) => Effect.logWarning("token usage not recorded", error))),
})

export type UsageRecording = ReturnType<typeof makeUsageRecording>
