import { Duration, Effect, Either, Option } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import type { LogicalModel, Provider, RegistrySnapshot } from "../registry/Provider.js"
import { filterAllowed, resolveCandidates } from "../routing/Candidates.js"
import { embeds } from "../routing/Capabilities.js"
import { Kv } from "../storage/Kv.js"
import {
  DISCOVERY_OUTCOME_TTL,
  type DiscoveryOutcome,
  decodeDiscoveryOutcome,
  discoveryFailure,
  discoveryOutcomeKey,
  encodeDiscoveryOutcome,
} from "./DiscoveryOutcome.js"
import { UpstreamClient } from "./UpstreamClient.js"
import { joinUrl } from "./UpstreamHeaders.js"

/** How long a provider whose discovery failed is left alone before it is asked again. */
const NEGATIVE_TTL = Duration.seconds(30)

/** A provider's discovered list: its ids and, where the list says it, which of them embed. */
interface Listing {
  readonly models: ReadonlyArray<string>
  /** Id → embeds, for the ids whose listing names their methods (Gemini); undefined when none does. */
  readonly embeds: ReadonlyMap<string, boolean> | undefined
}

interface Entry {
  readonly models: ReadonlyArray<string> | undefined
  readonly embeds: ReadonlyMap<string, boolean> | undefined
  readonly expiresAt: number
}

export interface ModelEntry {
  readonly id: string
  readonly object: "model"
  readonly created: number
  readonly owned_by: string
  /** `"embedding"` for a model that embeds (routing/Capabilities); absent otherwise. */
  readonly type?: "embedding"
}

const modelEntry = (id: string, created: number, owner: string, embedding: boolean): ModelEntry =>
  embedding
    ? { id, object: "model", created, owned_by: owner, type: "embedding" }
    : { id, object: "model", created, owned_by: owner }

/** The model ids in a discovery answer of any of the three dialects. */
export const parseModelList = (json: unknown): ReadonlyArray<string> => {
  const root = json as { data?: unknown; models?: unknown } | unknown[] | null
  const items = Array.isArray(root)
    ? root
    : Array.isArray(root?.data)
      ? root.data
      : Array.isArray(root?.models)
        ? root.models
        : []
  const ids: Array<string> = []
  for (const item of items as ReadonlyArray<unknown>) {
    if (typeof item === "string") ids.push(item)
    else if (item && typeof item === "object") {
      const entry = item as { id?: unknown; name?: unknown; model_id?: unknown }
      const id =
        entry.id ?? entry.model_id ?? (typeof entry.name === "string" ? entry.name.replace(/^models\//, "") : undefined)
      if (typeof id === "string" && id.length > 0) ids.push(id)
    }
  }
  return [...new Set(ids)]
}

const EMBED_METHODS = new Set(["embedContent", "batchEmbedContents"])

/**
 * What a discovery answer says of its models' embedding, where it says it: a Gemini model's
 * `supportedGenerationMethods` (routing/Capabilities, rule 2). `undefined` when no entry lists
 * its methods (an OpenAI-style list).
 */
export const parseEmbeddingListing = (json: unknown): ReadonlyMap<string, boolean> | undefined => {
  const models = (json as { models?: unknown } | null)?.models
  if (!Array.isArray(models)) return undefined
  const embeds = new Map<string, boolean>()
  for (const item of models as ReadonlyArray<unknown>) {
    const entry = item as { name?: unknown; supportedGenerationMethods?: unknown } | null
    if (typeof entry?.name !== "string" || !Array.isArray(entry.supportedGenerationMethods)) continue
    embeds.set(
      entry.name.replace(/^models\//, ""),
      entry.supportedGenerationMethods.some((m) => EMBED_METHODS.has(m as string)),
    )
  }
  return embeds.size === 0 ? undefined : embeds
}

/** A listing as the Kv cache keeps it: the plain id array, or ids and embedding when the list said it. */
const encodeListing = (listing: Listing): string =>
  JSON.stringify(
    listing.embeds === undefined
      ? listing.models
      : { models: listing.models, embeds: Object.fromEntries(listing.embeds) },
  )

const decodeListing = (text: string): Listing => {
  const json = JSON.parse(text) as
    | ReadonlyArray<string>
    | { models: ReadonlyArray<string>; embeds: Record<string, boolean> }
  return Array.isArray(json)
    ? { models: json, embeds: undefined }
    : {
        models: (json as { models: ReadonlyArray<string> }).models,
        embeds: new Map(Object.entries((json as { embeds: Record<string, boolean> }).embeds)),
      }
}

/**
 * Which models each provider serves: its static list, or what its models endpoint advertises.
 * Discovered lists are cached in Kv (shared by every instance) for MODELS_CACHE_TTL and in
 * memory in front of it; a failed discovery is cached briefly as "unknown" so a broken provider
 * is skipped by discovery (a request for a model only it might serve is never a 500 because of
 * it), and is not asked again on every request while it stays broken.
 */
export class ModelCatalog extends Effect.Service<ModelCatalog>()("gateway/upstream/ModelCatalog", {
  effect: Effect.gen(function* () {
    const config = yield* AppConfig
    const kv = yield* Kv
    const upstream = yield* UpstreamClient
    const memory = new Map<string, Entry>()
    const ttlMs = Duration.toMillis(config.modelsCacheTtl)

    const cacheKey = (provider: Provider) => `models:provider:${provider.id}`

    /** Keeps the discovery's outcome for `lastDiscovery` (best effort: a store failure loses only this). */
    const remember = (provider: Provider, outcome: Omit<DiscoveryOutcome, "at">) =>
      Effect.gen(function* () {
        const at = Date.now()
        yield* kv.set(
          discoveryOutcomeKey(provider.id),
          encodeDiscoveryOutcome({ at, ...outcome }),
          DISCOVERY_OUTCOME_TTL,
        )
      }).pipe(Effect.ignore)

    const discover = (provider: Provider) =>
      Effect.gen(function* () {
        const key = provider.keys[0]
        if (key === undefined) {
          yield* remember(provider, { models: null, error: "the provider has no key to ask with" })
          return undefined
        }
        const response = yield* upstream.send({
          provider,
          key,
          model: "(models)",
          url: joinUrl(provider.baseUrl, provider.paths.models),
          method: "GET",
          stream: false,
          masked: false,
        })
        const json: unknown = JSON.parse(response.text)
        return { models: parseModelList(json), embeds: parseEmbeddingListing(json) } satisfies Listing as Listing
      }).pipe(
        Effect.timeout(config.upstream.discoveryTimeout),
        Effect.tap((listing) =>
          listing === undefined ? Effect.void : remember(provider, { models: listing.models.length, error: null }),
        ),
        Effect.catchAllCause((cause) =>
          Effect.logWarning(`model discovery failed for provider '${provider.id}'`).pipe(
            Effect.annotateLogs("reason", String(cause).split("\n")[0]),
            Effect.zipRight(
              remember(provider, { models: null, error: discoveryFailure(cause, config.upstream.discoveryTimeout) }),
            ),
            Effect.as(undefined),
          ),
        ),
      )

    /** The provider's last discovery (any instance's), if one ran within DISCOVERY_OUTCOME_TTL. */
    const lastDiscovery = (providerId: string) =>
      kv.get(discoveryOutcomeKey(providerId)).pipe(
        Effect.map((raw) => (raw === undefined ? Option.none() : decodeDiscoveryOutcome(raw))),
        Effect.orElseSucceed(() => Option.none<DiscoveryOutcome>()),
      )

    const load = (provider: Provider, now: number) =>
      Effect.gen(function* () {
        const cached = yield* kv.get(cacheKey(provider)).pipe(Effect.orElseSucceed(() => undefined))
        if (cached !== undefined) {
          const listing = cached === "" ? undefined : decodeListing(cached)
          const remaining = yield* kv.ttl(cacheKey(provider)).pipe(Effect.orElseSucceed(() => undefined))
          memory.set(provider.id, {
            models: listing?.models,
            embeds: listing?.embeds,
            expiresAt: now + (remaining ?? ttlMs),
          })
          return
        }
        const listing = yield* discover(provider)
        const ttl = listing === undefined ? NEGATIVE_TTL : config.modelsCacheTtl
        yield* kv.set(cacheKey(provider), listing === undefined ? "" : encodeListing(listing), ttl).pipe(Effect.ignore)
        memory.set(provider.id, {
          models: listing?.models,
          embeds: listing?.embeds,
          expiresAt: now + Duration.toMillis(ttl),
        })
      })

    /** The model list of every provider in the snapshot, discovering the unknown ones in parallel. */
    const listsFor = Effect.fnUntraced(function* (snapshot: RegistrySnapshot) {
      const now = Date.now()
      const missing: Array<Provider> = []
      for (const provider of snapshot.providers.values()) {
        if (provider.models !== null || !provider.enabled) continue
        const entry = memory.get(provider.id)
        if (entry === undefined) missing.push(provider)
        else if (entry.expiresAt <= now) {
          // Stale-while-revalidate: serve the old list, refresh in the background.
          memory.set(provider.id, { ...entry, expiresAt: now + Duration.toMillis(NEGATIVE_TTL) })
          yield* Effect.forkDaemon(load(provider, now))
        }
      }
      if (missing.length > 0)
        yield* Effect.forEach(missing, (p) => load(p, now), { concurrency: "unbounded", discard: true })
      return listsIn(snapshot)
    })

    /** Each provider's list: the static one, else the discovered one held in memory. */
    const listsIn =
      (snapshot: RegistrySnapshot) =>
      (providerId: string): ReadonlyArray<string> | undefined => {
        const provider = snapshot.providers.get(providerId)
        if (provider?.models != null) return provider.models
        return memory.get(providerId)?.models
      }

    /**
     * What `listsFor` answers, synchronously, when it has nothing to do (every list static, or
     * discovered and fresh); `undefined` when a list must be loaded or refreshed first. The
     * request path reads this and runs `listsFor` only when it is undefined.
     */
    const loadedLists = (
      snapshot: RegistrySnapshot,
    ): ((providerId: string) => ReadonlyArray<string> | undefined) | undefined => {
      const now = Date.now()
      for (const provider of snapshot.providers.values()) {
        if (provider.models !== null || !provider.enabled) continue
        const entry = memory.get(provider.id)
        if (entry === undefined || entry.expiresAt <= now) return undefined
      }
      return listsIn(snapshot)
    }

    /**
     * What the provider's discovered list says of a model's embedding (routing/Capabilities):
     * `undefined` when the list does not say (or is not loaded: call `listsFor` first).
     */
    const listedEmbedding = (providerId: string, model: string): boolean | undefined =>
      memory.get(providerId)?.embeds?.get(model)

    /** A logical model embeds when every upstream of it does. */
    const logicalEmbeds = (snapshot: RegistrySnapshot, logical: LogicalModel): boolean =>
      logical.upstreams.every((u) => {
        const provider = snapshot.providers.get(u.provider)
        return provider !== undefined && embeds(provider, u.model, listedEmbedding(u.provider, u.model))
      })

    /** `/models`: the union of every (allowed) provider's models plus logical model ids. */
    const aggregate = Effect.fnUntraced(function* (
      snapshot: RegistrySnapshot,
      allowedProviderIds: ReadonlyArray<string> | null,
    ) {
      const lists = yield* listsFor(snapshot)
      const allowed = allowedProviderIds === null ? undefined : new Set(allowedProviderIds)
      const seen = new Set<string>()
      const data: Array<ModelEntry> = []
      const created = Math.floor(snapshot.loadedAt / 1000)
      const providers = [...snapshot.providers.values()]
        .filter((p) => p.enabled)
        .sort((a, b) => a.id.localeCompare(b.id))
      for (const provider of providers) {
        if (allowed !== undefined && !allowed.has(provider.id)) continue
        for (const id of lists(provider.id) ?? []) {
          if (seen.has(id)) continue
          seen.add(id)
          data.push(modelEntry(id, created, provider.id, embeds(provider, id, listedEmbedding(provider.id, id))))
        }
      }
      for (const logical of snapshot.logicalModels.values()) {
        if (!logical.enabled || seen.has(logical.id)) continue
        const reachable = logical.upstreams.some((u) => allowed === undefined || allowed.has(u.provider))
        if (!reachable) continue
        seen.add(logical.id)
        data.push(modelEntry(logical.id, created, "apiproxy", logicalEmbeds(snapshot, logical)))
      }
      return { object: "list" as const, data }
    })

    /** One provider's list, or `None` when the provider is unknown. */
    const providerModels = Effect.fnUntraced(function* (snapshot: RegistrySnapshot, providerId: string) {
      const provider = snapshot.providers.get(providerId)
      if (provider === undefined) return Option.none<ReadonlyArray<ModelEntry>>()
      const lists = yield* listsFor(snapshot)
      const created = Math.floor(snapshot.loadedAt / 1000)
      return Option.some(
        (lists(providerId) ?? []).map((id) =>
          modelEntry(id, created, providerId, embeds(provider, id, listedEmbedding(providerId, id))),
        ),
      )
    })

    /**
     * One model as `/models/{id}` answers it: an id of the caller's list (`aggregate`), or a name
     * that routes for the caller (`provider/model`, an alias); `None` otherwise — a model one can
     * call is a model one can read.
     */
    const find = Effect.fnUntraced(function* (
      snapshot: RegistrySnapshot,
      id: string,
      allowedProviderIds: ReadonlyArray<string> | null,
    ) {
      const listed = (yield* aggregate(snapshot, allowedProviderIds)).data.find((entry) => entry.id === id)
      if (listed !== undefined) return Option.some(listed)
      const lists = yield* listsFor(snapshot)
      const routed = Either.flatMap(resolveCandidates(snapshot, id, lists), (resolution) =>
        filterAllowed(resolution, allowedProviderIds),
      )
      if (Either.isLeft(routed)) return Option.none<ModelEntry>()
      // A logical model that routes is listed: this is a `provider/model` name or an alias.
      const { provider, model } = routed.right.candidates[0]!
      const created = Math.floor(snapshot.loadedAt / 1000)
      return Option.some(
        modelEntry(id, created, provider.id, embeds(provider, model, listedEmbedding(provider.id, model))),
      )
    })

    return { listsFor, loadedLists, aggregate, providerModels, listedEmbedding, find, lastDiscovery } as const
  }),
}) {}
