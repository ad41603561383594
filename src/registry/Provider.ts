import type { Redacted } from "effect"
import type { LogicalModelPolicy } from "../shared/LogicalModelPolicy.js"
import type { PriceTable } from "../shared/Prices.js"
import type {
  ProviderCore,
  ProviderPaths,
  RoutingStrategyName,
  UpstreamProtocol,
} from "../shared/ProviderVocabulary.js"

export interface ProviderKey {
  readonly id: string
  readonly label: string
  readonly secret: Redacted.Redacted<string>
  readonly weight: number
  readonly maxQps: number | null
}

/** One provider as the request path sees it: decrypted keys, resolved defaults. */
export interface Provider extends ProviderCore {
  readonly keys: ReadonlyArray<ProviderKey>
  /** Static model list; `null` means discover at `paths.models`. */
  readonly models: ReadonlyArray<string> | null
  /** Client-facing alias → the provider's own model id. */
  readonly aliases: Readonly<Record<string, string>>
  readonly paths: ProviderPaths
  /** Overrides the default retry rule when non-null. */
  readonly retryableStatus: ReadonlyArray<number> | null
  readonly headers: Readonly<Record<string, string>>
  readonly costInput: number | null
  readonly costOutput: number | null
  /** Its own prices (`prices` setting), which win over the shipped ones for its answers. */
  readonly prices?: PriceTable | undefined
  /**
   * Whether the provider continues an assistant prefill (mid-stream rescue); unset: by protocol
   * (Anthropic does, OpenAI-style APIs answer anew).
   */
  readonly prefill?: boolean | undefined
  /**
   * Whether its Responses API keeps stored responses itself (docs/ARCHITECTURE.md, "Stored
   * Responses"); unset: false — the gateway keeps the conversation.
   */
  readonly responsesStore?: boolean | undefined
  /**
   * At a model vendor's own API host (`OFFICIAL_HOSTS`): the browser mask (MASK_AS_BROWSER) is
   * never sent there — it is for aggregators that want a browser, and only looks odd to a vendor.
   */
  readonly officialHost?: boolean | undefined
}

export interface LogicalUpstream {
  readonly provider: string
  readonly model: string
  readonly weight: number
  /** Lower is preferred; a higher tier is tried only when the tiers before it are exhausted. */
  readonly priority: number
}

export interface LogicalModel {
  readonly id: string
  readonly description: string | null
  readonly enabled: boolean
  readonly strategy: RoutingStrategyName
  readonly upstreams: ReadonlyArray<LogicalUpstream>
  /** Its own timeouts, retries and rescue setting (`{}`: the gateway's defaults). */
  readonly policy: LogicalModelPolicy
}

/** An immutable snapshot of everything routing needs, swapped atomically on reload. */
export interface RegistrySnapshot {
  readonly providers: ReadonlyMap<string, Provider>
  readonly logicalModels: ReadonlyMap<string, LogicalModel>
  readonly loadedAt: number
}

export const defaultPaths = (protocol: UpstreamProtocol): ProviderPaths => {
  switch (protocol) {
    case "openai":
      return {
        models: "/v1/models",
        chat: "/v1/chat/completions",
        responses: "/v1/responses",
        messages: "/v1/messages",
      }
    case "anthropic":
      return { models: "/v1/models", chat: "/v1/messages", responses: null, messages: "/v1/messages" }
    case "gemini":
      return { models: "/v1beta/models", chat: "/v1beta/models", responses: null, messages: "/v1beta/models" }
  }
}

/**
 * The base URL calls are joined to: without trailing slashes, and without a trailing version
 * segment that the protocol's default paths already start with (`/v1`; `/v1beta` for Gemini)
 * when none of the provider's paths is its own. Vendors document their base URLs with the
 * version (`https://api.openai.com/v1`); taken as given it would call `/v1/v1/chat/completions`.
 */
export const effectiveBaseUrl = (protocol: UpstreamProtocol, baseUrl: string, ownPaths: boolean): string => {
  const trimmed = baseUrl.replace(/\/+$/, "")
  if (ownPaths) return trimmed
  const version = defaultPaths(protocol).chat.split("/")[1]!
  return trimmed.endsWith(`/${version}`) ? trimmed.slice(0, -(version.length + 1)) : trimmed
}

/** The official OpenAI API, whose Responses API stores responses: a provider there keeps its own by default. */
export const OFFICIAL_OPENAI_HOST = "api.openai.com"

/** The official API hosts of OpenAI, Anthropic and Google's Gemini. */
export const OFFICIAL_HOSTS: ReadonlySet<string> = new Set([
  OFFICIAL_OPENAI_HOST,
  "api.anthropic.com",
  "generativelanguage.googleapis.com",
])

const hostnameOf = (baseUrl: string): string | undefined => {
  try {
    return new URL(baseUrl).hostname
  } catch {
    return undefined
  }
}

/** Whether `baseUrl` is at one of the `OFFICIAL_HOSTS`. */
export const isOfficialHost = (baseUrl: string): boolean => OFFICIAL_HOSTS.has(hostnameOf(baseUrl) ?? "")

/** Whether a provider keeps stored responses itself when its settings do not say (`responses_store`). */
export const defaultResponsesStore = (protocol: UpstreamProtocol, baseUrl: string): boolean => {
  return protocol === "openai" && hostnameOf(baseUrl) === OFFICIAL_OPENAI_HOST
}

/**
 * Whether a Responses request to `provider` leaves a stored conversation with it: an OpenAI-protocol
 * provider with a Responses endpoint whose API stores responses.
 */
export const keepsResponses = (provider: Provider): boolean =>
  provider.responsesStore === true && provider.protocol === "openai" && provider.paths.responses !== null
