/**
 * Label values for the Prometheus metrics, bounded (docs/ARCHITECTURE.md, "Metrics"): every
 * series a label value opens lives as long as the process, so a value taken from client input
 * (a model name) goes in as itself only when the gateway knows it, and every value is cut to a
 * bounded length. Request ids, user ids, key ids and raw paths are never labels. Pure functions;
 * the `Metrics` service holds the state.
 */
import type { RegistrySnapshot } from "../registry/Provider.js"
import type { UpstreamProtocol } from "../shared/ProviderVocabulary.js"
import type { UpstreamFailure } from "../shared/UpstreamFailure.js"

/** Longest label value; longer ones are cut (prom-client escapes them, this bounds their size). */
export const MAX_LABEL_LENGTH = 128

/** A model or provider the gateway does not know. */
export const OTHER = "other"
/** No model or provider at all: the request was refused before it named one or before an upstream answered. */
export const NONE = "none"

export const capLength = (value: string): string =>
  value.length <= MAX_LABEL_LENGTH ? value : value.slice(0, MAX_LABEL_LENGTH)

/**
 * Every model name the registry knows, as a client may spell it: logical model ids, the models a
 * provider lists statically and its aliases, each also as `provider/model`. Providers that
 * discover their models (no static list) add none here: see `makeModelLabels`.
 */
export const knownModelsOf = (snapshot: RegistrySnapshot): ReadonlySet<string> => {
  const known = new Set<string>(snapshot.logicalModels.keys())
  for (const logical of snapshot.logicalModels.values()) {
    for (const upstream of logical.upstreams) known.add(upstream.model)
  }
  for (const provider of snapshot.providers.values()) {
    const names = [...(provider.models ?? []), ...Object.keys(provider.aliases)]
    for (const name of names) {
      known.add(name)
      known.add(`${provider.id}/${name}`)
    }
  }
  return known
}

export interface ModelLabels {
  /** The label of `model`: itself when known or learned (cut to length), `other` otherwise, `none` without one. */
  readonly label: (model: string | undefined) => string
  /** A model the gateway served (a 2xx answer): from now on labelled as itself, while there is room. */
  readonly learn: (model: string) => void
}

/**
 * Model labels over the registry's current snapshot (`knownModelsOf`, computed once per
 * snapshot) and up to `maxLearned` names learned from answered requests — the models of
 * providers that discover their lists, which the registry does not hold. A name that never got a
 * 2xx answer stays `other`, so a client cannot open series by inventing names; the learned set
 * is capped, so one that invents names a permissive upstream answers cannot either.
 */
export const makeModelLabels = (snapshotOf: () => RegistrySnapshot, maxLearned: number): ModelLabels => {
  let seen: RegistrySnapshot | undefined
  let known: ReadonlySet<string> = new Set()
  const learned = new Set<string>()
  const isKnown = (model: string) => {
    const snapshot = snapshotOf()
    if (snapshot !== seen) {
      known = knownModelsOf(snapshot)
      seen = snapshot
    }
    return known.has(model) || learned.has(model)
  }
  return {
    label: (model) => (model === undefined ? NONE : isKnown(model) ? capLength(model) : OTHER),
    learn: (model) => {
      if (learned.size < maxLearned && !isKnown(model)) learned.add(model)
    },
  }
}

/** A provider id as a label: one of the registry's (operators name them), else `other`; `none` without one. */
export const providerLabel = (snapshot: RegistrySnapshot, provider: string | undefined): string =>
  provider === undefined ? NONE : snapshot.providers.has(provider) ? capLength(provider) : OTHER

/**
 * `gen_ai.system` (OpenTelemetry GenAI semantic conventions) of an upstream: the API family it
 * speaks; `_OTHER` (the conventions' value for an unknown system) when no upstream answered.
 */
export const genAiSystemOf = (protocol: UpstreamProtocol | undefined): string => {
  switch (protocol) {
    case "openai":
      return "openai"
    case "anthropic":
      return "anthropic"
    case "gemini":
      return "gcp.gemini"
    default:
      return "_OTHER"
  }
}

/** How an upstream attempt ended, as the `outcome` label of `apiproxy_upstream_attempts_total`. */
export type AttemptOutcome =
  | "success"
  | "rate_limited"
  | "auth_error"
  | "client_error"
  | "server_error"
  | "http_error"
  | "connect_error"
  | "timeout"
  | "reset"
  | "malformed"

export const attemptOutcomeLabel = (failure: UpstreamFailure | undefined): AttemptOutcome => {
  if (failure === undefined) return "success"
  if (failure._tag === "UpstreamStatusError") {
    const status = failure.status
    if (status === 429) return "rate_limited"
    if (status === 401 || status === 403) return "auth_error"
    if (status >= 400 && status < 500) return "client_error"
    if (status >= 500 && status < 600) return "server_error"
    return "http_error"
  }
  switch (failure.reason) {
    case "connect":
      return "connect_error"
    case "headers_timeout":
    case "first_token_timeout":
    case "idle_timeout":
      return "timeout"
    case "reset":
    case "truncated":
      return "reset"
    case "malformed":
      return "malformed"
  }
}

/** The `error_type` of a GenAI duration: the HTTP status of a failed request, empty for a success. */
export const errorTypeOf = (status: number): string => (status < 400 ? "" : String(status))
