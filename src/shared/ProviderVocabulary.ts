/**
 * The small vocabulary that describes a provider, shared by the providers file parser
 * (`config/GatewayFile.ts`), the registry's provider model (`registry/Provider.ts`) and the
 * routing core. It sits in `shared/` because `config/` is below `registry/` in the layering
 * (docs/ARCHITECTURE.md, "Layering") and must not import it.
 */

/** The wire dialect an upstream speaks. */
export type UpstreamProtocol = "openai" | "anthropic" | "gemini"

/** A provider's API paths, relative to its `base_url` (`registry/Provider.ts` has the defaults). */
export interface ProviderPaths {
  readonly models: string
  readonly chat: string
  /** `null` when the provider has no Responses endpoint. */
  readonly responses: string | null
  readonly messages: string
}

/** How a logical model orders its upstreams (`routing/Scoring.ts`). */
export type RoutingStrategyName = "balanced" | "latency_first" | "cost_first" | "reliability_first"

/** What every view of a provider has (the providers file's, the registry's): who it is and how it is reached. */
export interface ProviderCore {
  readonly id: string
  readonly name: string
  readonly protocol: UpstreamProtocol
  /** Without trailing slashes. */
  readonly baseUrl: string
  readonly type: "native" | "aggregator"
  readonly weight: number
  readonly enabled: boolean
}
