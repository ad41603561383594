/**
 * Model-name resolution: which (provider, model) pairs may serve a requested model name.
 * Pure: no I/O. The caller supplies the registry snapshot and each provider's model list.
 *
 * Order of resolution (docs/ARCHITECTURE.md, "Request pipeline", step 3):
 * 1. the whole name is a logical model id (so logical ids that contain `/` work);
 * 2. `provider/model` where `provider` is a known provider id → that provider only,
 *    forwarding the rest of the name (or the provider's alias / own spelling of it);
 * 3. zero-config discovery: every enabled provider whose model list matches the name
 *    (exact, then `stripped(requested) == id`, then `stripped(requested) == stripped(id)`),
 *    plus per-provider aliases. The provider's own spelling of the id is what is sent.
 *    A name `p/m` whose `p` is no provider matches only an id (or alias) spelled exactly so
 *    (`qwen/qwen-2.5:free` at an aggregator): otherwise it is `UnknownProvider`, never served by
 *    whichever provider happens to have `m` (a typo `opneai/gpt-4o-mini` is refused).
 */
import { Either, Schema } from "effect"
import type { LogicalModel, Provider, RegistrySnapshot } from "../registry/Provider.js"
import type { LogicalModelPolicy } from "../shared/LogicalModelPolicy.js"
import type { RoutingStrategyName } from "../shared/ProviderVocabulary.js"

export interface Candidate {
  readonly provider: Provider
  /** The provider's own model id: what is sent upstream. */
  readonly model: string
  readonly weight: number
  /** Lower is preferred. */
  readonly priority: number
}

export type ResolutionSource = "logical" | "provider_prefix" | "discovery"

const NO_POLICY: LogicalModelPolicy = {}

export interface Resolution {
  /** The logical model id, or the requested name (prefix stripped) for dynamic groups. */
  readonly logicalModel: string
  readonly requestedModel: string
  readonly source: ResolutionSource
  readonly strategy: RoutingStrategyName
  readonly candidates: ReadonlyArray<Candidate>
  /** The logical model's own timeouts, retries and rescue setting; `{}` for dynamic groups. */
  readonly policy: LogicalModelPolicy
}

/** No provider serves this name. HTTP: 404 `model_not_found`. */
export class ModelNotFound extends Schema.TaggedError<ModelNotFound>()("ModelNotFound", {
  model: Schema.String,
  message: Schema.String,
}) {}

/** The logical model exists but is disabled. HTTP: 404 `model_not_found` (do not leak config) or 403. */
export class LogicalModelDisabled extends Schema.TaggedError<LogicalModelDisabled>()("LogicalModelDisabled", {
  logicalModel: Schema.String,
}) {}

/** The logical model exists but none of its upstreams belongs to an enabled provider. HTTP: 503. */
export class NoUpstreams extends Schema.TaggedError<NoUpstreams>()("NoUpstreams", {
  logicalModel: Schema.String,
}) {}

/** Candidates exist, but none of them is on the caller's allow-list. HTTP: 403. */
export class ProviderNotAllowed extends Schema.TaggedError<ProviderNotAllowed>()("ProviderNotAllowed", {
  model: Schema.String,
  allowedProviderIds: Schema.Array(Schema.String),
  candidateProviderIds: Schema.Array(Schema.String),
}) {}

/**
 * `p/m` where `p` is no provider's id and no provider serves a model spelled `p/m`. HTTP: 404
 * naming the provider.
 */
export class UnknownProvider extends Schema.TaggedError<UnknownProvider>()("UnknownProvider", {
  provider: Schema.String,
  model: Schema.String,
}) {
  override get message(): string {
    return `Unknown provider '${this.provider}' in model '${this.model}': no provider has this id, and none serves a model by this name`
  }
}

/**
 * The model resolves, but none of its upstreams can serve the endpoint asked for (embeddings from
 * an Anthropic-protocol provider, `/v1/audio/speech` from a Gemini one …). HTTP: 404, as OpenAI
 * and Gemini answer a model that lacks the method.
 */
export class ModelNotSupported extends Schema.TaggedError<ModelNotSupported>()("ModelNotSupported", {
  model: Schema.String,
  endpoint: Schema.String,
}) {}

export type ResolveError = ModelNotFound | UnknownProvider | LogicalModelDisabled | NoUpstreams

/** Identity of an upstream: a (provider, model) pair. */
export const upstreamKey = (providerId: string, model: string): string => `${providerId}/${model}`

export const candidateKey = (c: Pick<Candidate, "provider" | "model">): string => upstreamKey(c.provider.id, c.model)

/** The part after the first `/`, or the whole name when it has none. */
export const stripPrefix = (name: string): string => {
  const i = name.indexOf("/")
  return i < 0 ? name : name.slice(i + 1)
}

/**
 * The first advertised id that matches `requested`, most precise rule first:
 * exact; then `stripped(requested) == id`; then `stripped(requested) == stripped(id)`.
 */
export const matchAdvertised = (requested: string, advertised: ReadonlyArray<string>): string | undefined => {
  if (advertised.includes(requested)) return requested
  const stripped = stripPrefix(requested)
  if (advertised.includes(stripped)) return stripped
  return advertised.find((id) => stripPrefix(id) === stripped)
}

/**
 * The provider's target for the alias `name`, if it has one. Own properties only: a client's
 * `constructor` or `valueOf` must not find Object.prototype's functions in a plain alias map.
 */
const aliasOf = (provider: Provider, name: string): string | undefined =>
  Object.hasOwn(provider.aliases, name) ? provider.aliases[name] : undefined

/**
 * The provider's own id for `requested`, or undefined when the provider does not serve it.
 * An alias is honoured when its target is advertised, or when the provider's list is unknown
 * (an alias is explicit configuration). With an unknown list and no alias nothing matches:
 * discovery cannot claim a provider it knows nothing about.
 */
const matchProvider = (
  provider: Provider,
  requested: string,
  list: ReadonlyArray<string> | undefined,
): string | undefined => {
  const aliasTarget = aliasOf(provider, requested) ?? aliasOf(provider, stripPrefix(requested))
  if (aliasTarget !== undefined && (list === undefined || list.includes(aliasTarget))) return aliasTarget
  return list === undefined ? undefined : matchAdvertised(requested, list)
}

/** `requested` as the provider spells it exactly (or as an alias of that spelling), else undefined. */
const matchExactly = (
  provider: Provider,
  requested: string,
  list: ReadonlyArray<string> | undefined,
): string | undefined => {
  const aliasTarget = aliasOf(provider, requested)
  if (aliasTarget !== undefined && (list === undefined || list.includes(aliasTarget))) return aliasTarget
  return list?.includes(requested) === true ? requested : undefined
}

const listOf =
  (modelLists: (providerId: string) => ReadonlyArray<string> | undefined) =>
  (provider: Provider): ReadonlyArray<string> | undefined =>
    modelLists(provider.id) ?? provider.models ?? undefined

/** Each snapshot's providers in id order, sorted once: a snapshot's provider map never changes. */
const sortedByMap = new WeakMap<ReadonlyMap<string, Provider>, ReadonlyArray<Provider>>()

const sortedProviders = (snapshot: RegistrySnapshot): ReadonlyArray<Provider> => {
  let sorted = sortedByMap.get(snapshot.providers)
  if (sorted === undefined) {
    sorted = [...snapshot.providers.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    sortedByMap.set(snapshot.providers, sorted)
  }
  return sorted
}

/** Keeps the first occurrence of each (provider, model) pair, preferring the lowest priority. */
export const dedupeCandidates = (candidates: ReadonlyArray<Candidate>): ReadonlyArray<Candidate> => {
  const best = new Map<string, Candidate>()
  for (const c of candidates) {
    const k = candidateKey(c)
    const prev = best.get(k)
    if (prev === undefined || c.priority < prev.priority) best.set(k, c)
  }
  return candidates.filter((c) => best.get(candidateKey(c)) === c)
}

const resolveLogical = (
  snapshot: RegistrySnapshot,
  requested: string,
  logical: LogicalModel,
): Either.Either<Resolution, ResolveError> => {
  if (!logical.enabled) return Either.left(new LogicalModelDisabled({ logicalModel: logical.id }))
  const candidates: Array<Candidate> = []
  for (const u of logical.upstreams) {
    const provider = snapshot.providers.get(u.provider)
    if (provider === undefined || !provider.enabled) continue
    candidates.push({
      provider,
      model: aliasOf(provider, u.model) ?? u.model,
      weight: u.weight,
      priority: u.priority,
    })
  }
  const deduped = dedupeCandidates(candidates)
  if (deduped.length === 0) return Either.left(new NoUpstreams({ logicalModel: logical.id }))
  return Either.right({
    logicalModel: logical.id,
    requestedModel: requested,
    source: "logical",
    strategy: logical.strategy,
    candidates: deduped,
    policy: logical.policy,
  })
}

/**
 * Resolves a requested model name to its candidate upstreams.
 * `modelLists(providerId)` gives a provider's advertised model ids (discovery cache or static
 * list); `undefined` falls back to the provider's static `models`, and when that is `null`
 * the provider is not considered by discovery: a provider whose list could not be read is
 * skipped, never taken to serve every name.
 */
export const resolveCandidates = (
  snapshot: RegistrySnapshot,
  requestedModel: string,
  modelLists: (providerId: string) => ReadonlyArray<string> | undefined,
): Either.Either<Resolution, ResolveError> => {
  const requested = requestedModel.trim()
  if (requested.length === 0) {
    return Either.left(new ModelNotFound({ model: requestedModel, message: "The request names no model" }))
  }
  const lists = listOf(modelLists)

  // 1. Logical model, by its whole id.
  const logical = snapshot.logicalModels.get(requested)
  if (logical !== undefined) return resolveLogical(snapshot, requested, logical)

  // 2. Explicit `provider/model`.
  const slash = requested.indexOf("/")
  if (slash > 0) {
    const provider = snapshot.providers.get(requested.slice(0, slash))
    if (provider !== undefined) {
      const rest = requested.slice(slash + 1)
      if (!provider.enabled || rest.length === 0) {
        return Either.left(
          new ModelNotFound({ model: requested, message: `The model '${requested}' is not available` }),
        )
      }
      const list = lists(provider)
      // An unknown list still routes: the caller named the provider explicitly.
      const model = list === undefined ? (aliasOf(provider, rest) ?? rest) : matchProvider(provider, rest, list)
      if (model === undefined) {
        return Either.left(
          new ModelNotFound({
            model: requested,
            message: `The model '${rest}' is not available from provider '${provider.id}'`,
          }),
        )
      }
      return Either.right({
        logicalModel: rest,
        requestedModel: requested,
        source: "provider_prefix",
        strategy: "balanced",
        candidates: [{ provider, model, weight: provider.weight, priority: 0 }],
        policy: NO_POLICY,
      })
    }
  }

  // 3. Zero-config discovery over every enabled provider, in provider id order. A prefix that
  // names no provider is part of the id: only an exact spelling matches.
  const match = slash > 0 ? matchExactly : matchProvider
  const candidates: Array<Candidate> = []
  for (const provider of sortedProviders(snapshot)) {
    if (!provider.enabled) continue
    const model = match(provider, requested, lists(provider))
    if (model !== undefined) candidates.push({ provider, model, weight: provider.weight, priority: 0 })
  }
  if (candidates.length === 0) {
    if (slash > 0) return Either.left(new UnknownProvider({ provider: requested.slice(0, slash), model: requested }))
    return Either.left(
      new ModelNotFound({
        model: requested,
        message: `The model '${requested}' is not available in any configured provider`,
      }),
    )
  }
  return Either.right({
    logicalModel: stripPrefix(requested),
    requestedModel: requested,
    source: "discovery",
    strategy: "balanced",
    candidates,
    policy: NO_POLICY,
  })
}

/** What a request needs of an upstream beyond serving its model: an endpoint only some have. */
export interface EndpointNeed {
  /** Names the endpoint in the 404 (`/v1/embeddings`). */
  readonly endpoint: string
  readonly serves: (candidate: Candidate) => boolean
}

/** Keeps the candidates that can serve `need`; none left is `ModelNotSupported`. */
export const filterServing = (
  resolution: Resolution,
  need: EndpointNeed,
): Either.Either<Resolution, ModelNotSupported> => {
  const kept = resolution.candidates.filter(need.serves)
  if (kept.length === 0)
    return Either.left(new ModelNotSupported({ model: resolution.requestedModel, endpoint: need.endpoint }))
  return Either.right(kept.length === resolution.candidates.length ? resolution : { ...resolution, candidates: kept })
}

/**
 * Applies a caller's provider allow-list. `null` allows every provider; an empty list allows
 * none: "restricted to nothing" must never be read as "unrestricted", or an emptied list would
 * lift the restriction.
 */
export const filterAllowed = (
  resolution: Resolution,
  allowedProviderIds: ReadonlyArray<string> | null,
): Either.Either<Resolution, ProviderNotAllowed> => {
  if (allowedProviderIds === null) return Either.right(resolution)
  const allowed = new Set(allowedProviderIds)
  const kept = resolution.candidates.filter((c) => allowed.has(c.provider.id))
  if (kept.length === 0) {
    return Either.left(
      new ProviderNotAllowed({
        model: resolution.requestedModel,
        allowedProviderIds: [...allowedProviderIds],
        candidateProviderIds: [...new Set(resolution.candidates.map((c) => c.provider.id))],
      }),
    )
  }
  return Either.right({ ...resolution, candidates: kept })
}
