import { randomUUID } from "node:crypto"
import type * as SqlError from "@effect/sql/SqlError"
import { Effect, type Redacted, Schedule, Schema, Stream, SubscriptionRef } from "effect"
import { Secrets } from "../crypto/Secrets.js"
import { policyFromStored } from "../shared/LogicalModelPolicy.js"
import type { RoutingStrategyName, UpstreamProtocol } from "../shared/ProviderVocabulary.js"
import { Kv, type KvError } from "../storage/Kv.js"
import { ProviderRepository, type RegistryRows } from "../storage/ProviderRepository.js"
import {
  defaultPaths,
  defaultResponsesStore,
  effectiveBaseUrl,
  isOfficialHost,
  type LogicalModel,
  type LogicalUpstream,
  type Provider,
  type ProviderKey,
  type RegistrySnapshot,
} from "./Provider.js"

/**
 * The in-memory snapshot of providers (keys decrypted into `Redacted`), models and logical
 * models that the request path reads: no SQL per request.
 *
 * It is reloaded from the database by `reload` (this instance) or `invalidate` (every instance:
 * this one reloads, then a message on the Kv channel `registry:invalidate` makes the others
 * reload). A reload builds a whole new snapshot and swaps it atomically; a failed reload keeps
 * the previous snapshot.
 */

export const INVALIDATE_CHANNEL = "registry:invalidate"

/** Background retries of a refresh after a saved change: 0.2 s doubling, at most 30 s apart, 35 tries. */
const AFTER_CHANGE_RETRY = Schedule.exponential("200 millis").pipe(
  Schedule.either(Schedule.spaced("30 seconds")),
  Schedule.intersect(Schedule.recurs(35)),
)

export class RegistryLoadError extends Schema.TaggedError<RegistryLoadError>()("RegistryLoadError", {
  message: Schema.String,
}) {}

export const emptySnapshot: RegistrySnapshot = { providers: new Map(), logicalModels: new Map(), loadedAt: 0 }

const PROTOCOLS: ReadonlySet<string> = new Set<UpstreamProtocol>(["openai", "anthropic", "gemini"])
const STRATEGIES: ReadonlySet<string> = new Set<RoutingStrategyName>([
  "balanced",
  "latency_first",
  "cost_first",
  "reliability_first",
])

/** A key that could not be decrypted: named by provider and label, never by value. */
export interface SkippedKey {
  readonly provider: string
  readonly label: string
  readonly reason: string
}

/**
 * Builds a snapshot from stored rows and the keys already decrypted (by key row id). Pure:
 * keys missing from `secrets` are left out; only `active` keys are used.
 */
export const buildSnapshot = (
  rows: RegistryRows,
  secrets: ReadonlyMap<string, Redacted.Redacted<string>>,
  loadedAt: number,
): RegistrySnapshot => {
  const providers = new Map<string, Provider>()
  for (const row of rows.providers) {
    // The column is free text; a value this version does not know cannot be routed to.
    if (!PROTOCOLS.has(row.protocol)) continue
    const protocol = row.protocol as UpstreamProtocol
    const defaults = defaultPaths(protocol)
    const keys: Array<ProviderKey> = []
    for (const key of rows.keys) {
      if (key.providerUuid !== row.uuid || key.status !== "active") continue
      const secret = secrets.get(key.id)
      if (secret === undefined) continue
      keys.push({ id: key.id, label: key.label, secret, weight: key.weight, maxQps: key.maxQps })
    }
    const aliases: Record<string, string> = {}
    for (const model of rows.models) {
      if (model.providerUuid === row.uuid && model.alias !== null) aliases[model.alias] = model.modelId
    }
    providers.set(row.providerId, {
      id: row.providerId,
      name: row.name,
      protocol,
      baseUrl: effectiveBaseUrl(
        protocol,
        row.baseUrl,
        [row.modelsPath, row.chatPath, row.responsesPath, row.messagesPath].some((own) => own !== null),
      ),
      type: row.providerType === "aggregator" ? "aggregator" : "native",
      weight: row.weight,
      enabled: row.enabled,
      keys,
      models: row.staticModels === null ? null : [...row.staticModels],
      aliases,
      paths: {
        models: row.modelsPath ?? defaults.models,
        chat: row.chatPath ?? defaults.chat,
        responses: row.responsesDisabled ? null : (row.responsesPath ?? defaults.responses),
        messages: row.messagesPath ?? defaults.messages,
      },
      retryableStatus: row.retryableStatusCodes === null ? null : [...row.retryableStatusCodes],
      headers: { ...(row.customHeaders ?? {}) },
      costInput: row.settings.cost_input ?? null,
      costOutput: row.settings.cost_output ?? null,
      prices: row.settings.prices,
      prefill: row.settings.prefill,
      responsesStore: row.settings.responses_store ?? defaultResponsesStore(protocol, row.baseUrl),
      officialHost: isOfficialHost(row.baseUrl),
    })
  }

  const logicalModels = new Map<string, LogicalModel>()
  for (const row of rows.logicalModels) {
    const upstreams: Array<LogicalUpstream> = rows.upstreams
      .filter((u) => u.logicalModelUuid === row.uuid)
      .map((u) => ({ provider: u.providerId, model: u.modelId, weight: u.weight, priority: u.priority }))
      .sort((a, b) => a.priority - b.priority || a.provider.localeCompare(b.provider) || a.model.localeCompare(b.model))
    logicalModels.set(row.logicalId, {
      id: row.logicalId,
      description: row.description,
      enabled: row.enabled,
      strategy: STRATEGIES.has(row.strategy) ? (row.strategy as RoutingStrategyName) : "balanced",
      upstreams,
      policy: policyFromStored(row.policy),
    })
  }
  return { providers, logicalModels, loadedAt }
}

const describeSqlError = (error: SqlError.SqlError): string => {
  const cause = error.cause
  return cause instanceof Error && cause.message !== "" ? cause.message : error.message
}

/** The service, built in a scope (its subscription lives as long as the scope). */
export const makeProviderRegistry = Effect.gen(function* () {
  const repo = yield* ProviderRepository
  const secrets = yield* Secrets
  const kv = yield* Kv
  /** Tells this instance's own invalidation messages apart from other instances'. */
  const instanceId = randomUUID()

  const ref = yield* SubscriptionRef.make(emptySnapshot)
  // A plain mirror of `ref` for synchronous readers on the hot path.
  let latest = emptySnapshot
  const reloads = yield* Effect.makeSemaphore(1)

  const decryptKeys = Effect.fn("ProviderRegistry.decryptKeys")(function* (rows: RegistryRows) {
    const providerOf = new Map(rows.providers.map((p) => [p.uuid, p.providerId]))
    const decrypted = new Map<string, Redacted.Redacted<string>>()
    for (const key of rows.keys) {
      if (key.status !== "active") continue
      yield* secrets.decrypt(key.encryptedKey, key.keyVersion).pipe(
        Effect.tap((secret) => Effect.sync(() => decrypted.set(key.id, secret))),
        Effect.catchTag("DecryptError", (error) =>
          Effect.logWarning("skipping a provider key that cannot be decrypted").pipe(
            Effect.annotateLogs({
              provider: providerOf.get(key.providerUuid) ?? key.providerUuid,
              label: key.label,
              keyVersion: key.keyVersion,
              reason: error.reason,
            }),
          ),
        ),
      )
    }
    return decrypted
  })

  /** Reads the database and swaps in a new snapshot; keeps the old one on failure. */
  const reload: Effect.Effect<void, RegistryLoadError> = reloads
    .withPermits(1)(
      Effect.gen(function* () {
        const rows = yield* repo.loadAll.pipe(
          Effect.mapError(
            (error) => new RegistryLoadError({ message: `loading providers failed: ${describeSqlError(error)}` }),
          ),
        )
        const decrypted = yield* decryptKeys(rows)
        const snapshot = buildSnapshot(rows, decrypted, Date.now())
        latest = snapshot
        yield* SubscriptionRef.set(ref, snapshot)
      }),
    )
    .pipe(Effect.withSpan("ProviderRegistry.reload"))

  /** Reloads here, then tells every other instance to reload. */
  const invalidate: Effect.Effect<void, RegistryLoadError | KvError> = Effect.gen(function* () {
    yield* reload
    yield* kv.publish(INVALIDATE_CHANNEL, JSON.stringify({ origin: instanceId, at: Date.now() }))
  }).pipe(Effect.withSpan("ProviderRegistry.invalidate"))

  const scope = yield* Effect.scope
  /**
   * After an admin change was saved: `invalidate`. If that fails (the database read or the
   * broadcast, not the change) the request that made the change still succeeds, and the refresh
   * is retried in the background — backing off to every 30 s, about 15 minutes in all — until it
   * gets through. Never fails.
   */
  const afterChange: Effect.Effect<void> = invalidate.pipe(
    Effect.catchAll((error) =>
      Effect.logError("registry refresh after a saved change failed; retrying in the background").pipe(
        Effect.annotateLogs({ reason: error.message }),
        Effect.zipRight(
          invalidate.pipe(
            Effect.retry(AFTER_CHANGE_RETRY),
            Effect.tap(() => Effect.logInfo("registry refreshed after a saved change")),
            Effect.catchAll((last) =>
              Effect.logError("registry refresh after a saved change gave up").pipe(
                Effect.annotateLogs({ reason: last.message }),
              ),
            ),
            Effect.forkIn(scope),
          ),
        ),
      ),
    ),
    Effect.asVoid,
  )

  const originOf = (message: string): string | undefined => {
    try {
      const parsed: unknown = JSON.parse(message)
      return typeof parsed === "object" &&
        parsed !== null &&
        typeof (parsed as { origin?: unknown }).origin === "string"
        ? (parsed as { origin: string }).origin
        : undefined
    } catch {
      return undefined
    }
  }

  // Subscribe before the first load, so a change published meanwhile is not missed.
  const messages = yield* kv.subscribeScoped(INVALIDATE_CHANNEL)
  yield* reload
  yield* messages.pipe(
    Stream.filter((message) => originOf(message) !== instanceId),
    Stream.runForEach(() =>
      reload.pipe(
        Effect.catchTag("RegistryLoadError", (error) =>
          Effect.logError("registry reload after invalidation failed; keeping the previous snapshot").pipe(
            Effect.annotateLogs({ reason: error.message }),
          ),
        ),
      ),
    ),
    Effect.forkScoped,
  )

  return {
    /** The current snapshot: a memory read, safe on the hot path. */
    current: Effect.sync(() => latest),
    /** The same, synchronously. */
    unsafeCurrent: (): RegistrySnapshot => latest,
    /** Every snapshot swapped in from now on (starting with the current one). */
    changes: ref.changes,
    reload,
    invalidate,
    afterChange,
  } as const
})

export class ProviderRegistry extends Effect.Service<ProviderRegistry>()("gateway/registry/ProviderRegistry", {
  scoped: makeProviderRegistry,
  // SqlClient (for the repository) and Kv come from the storage layers.
  dependencies: [ProviderRepository.Default, Secrets.Default],
}) {}
