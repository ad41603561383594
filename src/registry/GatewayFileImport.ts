import type * as SqlError from "@effect/sql/SqlError"
import { Effect, Option } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import {
  checkUpstreamProviders,
  type FileProvider,
  type GatewayFile,
  type GatewayFileError,
  gatewayFileError,
  loadGatewayFile,
  parseGatewayFile,
  readGatewayFileText,
} from "../config/GatewayFile.js"
import type { KvError } from "../storage/Kv.js"
import { ProviderRepository } from "../storage/ProviderRepository.js"
import { ProviderRegistry, type RegistryLoadError } from "./ProviderRegistry.js"

/**
 * Applies a GATEWAY_CONFIG file to the database, in one transaction.
 *
 * - Providers and logical models in the file are upserted by id; applying the same file again
 *   writes nothing (no `updated_at` moves).
 * - A provider's keys become exactly the file's keys (matched by label); its file-declared
 *   models likewise. Keys added through the management API to a provider the file declares are
 *   therefore removed: for the providers it lists, the file is the source of truth.
 * - Providers and logical models absent from the file are left alone, unless `prune: true`.
 * - A logical model may name a provider that is not in the file but already exists in the
 *   database (e.g. created through the management API), except with `prune: true`.
 */

export interface ImportSummary {
  readonly providersCreated: ReadonlyArray<string>
  readonly providersUpdated: ReadonlyArray<string>
  /** Providers whose row, keys and models were all already as the file says. */
  readonly providersUnchanged: ReadonlyArray<string>
  readonly providersPruned: ReadonlyArray<string>
  readonly keysCreated: number
  readonly keysUpdated: number
  readonly keysRemoved: number
  readonly logicalModelsCreated: ReadonlyArray<string>
  readonly logicalModelsUpdated: ReadonlyArray<string>
  readonly logicalModelsUnchanged: ReadonlyArray<string>
  readonly logicalModelsPruned: ReadonlyArray<string>
  /** Providers and logical models that needed no write. */
  readonly unchanged: number
  /** Providers and logical models deleted by `prune: true`. */
  readonly pruned: number
  /** True when anything was written: the registry must reload. */
  readonly changed: boolean
}

const providerWrite = (p: FileProvider) => ({
  providerId: p.id,
  name: p.name,
  protocol: p.protocol,
  baseUrl: p.baseUrl,
  providerType: p.type,
  weight: p.weight,
  enabled: p.enabled,
  settings: p.settings,
  retryableStatusCodes: p.retryableStatus,
  customHeaders: p.headers,
  modelsPath: p.paths.models ?? null,
  chatPath: p.paths.chat ?? null,
  responsesPath: p.paths.responses ?? null,
  responsesDisabled: p.paths.responses === null,
  messagesPath: p.paths.messages ?? null,
  staticModels: p.models,
  metadata: { source: "file" },
})

/** Writes an already-parsed `file` to the database; `source` names the file in errors. */
export const applyGatewayFile = Effect.fn("GatewayFileImport.apply")(function* (file: GatewayFile, source: string) {
  const repo = yield* ProviderRepository
  return yield* repo.withTransaction(
    Effect.gen(function* () {
      yield* repo.lockForImport
      const reference = checkUpstreamProviders(file, yield* repo.providerIds)
      if (reference !== undefined) return yield* gatewayFileError(source, reference)

      const providersCreated: Array<string> = []
      const providersUpdated: Array<string> = []
      const providersUnchanged: Array<string> = []
      let keysCreated = 0
      let keysUpdated = 0
      let keysRemoved = 0
      for (const provider of file.providers) {
        const { uuid, outcome } = yield* repo.upsertProvider(providerWrite(provider))
        const keys = yield* repo.syncKeys(uuid, provider.keys)
        const models = yield* repo.syncFileModels(uuid, provider.models ?? [], provider.aliases)
        keysCreated += keys.created
        keysUpdated += keys.updated
        keysRemoved += keys.removed
        const dependentsChanged = keys.created + keys.updated + keys.removed + models.changed + models.removed > 0
        if (outcome === "created") providersCreated.push(provider.id)
        else if (outcome === "updated" || dependentsChanged) providersUpdated.push(provider.id)
        else providersUnchanged.push(provider.id)
      }

      const logicalModelsCreated: Array<string> = []
      const logicalModelsUpdated: Array<string> = []
      const logicalModelsUnchanged: Array<string> = []
      for (const logical of file.logicalModels) {
        const { uuid, outcome } = yield* repo.upsertLogicalModel({
          logicalId: logical.id,
          displayName: logical.name,
          description: logical.description,
          enabled: logical.enabled,
          strategy: logical.strategy,
          policy: logical.policy,
        })
        const upstreams = yield* repo.syncUpstreams(
          uuid,
          logical.upstreams.map((u) => ({
            providerId: u.provider,
            modelId: u.model,
            weight: u.weight,
            priority: u.priority,
          })),
        )
        if (outcome === "created") logicalModelsCreated.push(logical.id)
        else if (outcome === "updated" || upstreams.changed + upstreams.removed > 0)
          logicalModelsUpdated.push(logical.id)
        else logicalModelsUnchanged.push(logical.id)
      }

      const providersPruned = file.prune ? yield* repo.pruneProviders(file.providers.map((p) => p.id)) : []
      const logicalModelsPruned = file.prune ? yield* repo.pruneLogicalModels(file.logicalModels.map((m) => m.id)) : []

      const unchanged = providersUnchanged.length + logicalModelsUnchanged.length
      const pruned = providersPruned.length + logicalModelsPruned.length
      const changed =
        providersCreated.length +
          providersUpdated.length +
          logicalModelsCreated.length +
          logicalModelsUpdated.length +
          pruned >
        0
      return {
        providersCreated,
        providersUpdated,
        providersUnchanged,
        providersPruned,
        keysCreated,
        keysUpdated,
        keysRemoved,
        logicalModelsCreated,
        logicalModelsUpdated,
        logicalModelsUnchanged,
        logicalModelsPruned,
        unchanged,
        pruned,
        changed,
      } satisfies ImportSummary
    }),
  )
})

/**
 * Loads the file at `path` (YAML, or JSON by extension), validates it and writes it to the
 * database in one transaction. Does not touch the registry: reload or invalidate it afterwards
 * when `summary.changed` (or use `importFromConfig`, which does).
 */
export const importGatewayFile = Effect.fn("GatewayFileImport.import")(function* (path: string) {
  const file = yield* loadGatewayFile(path)
  return yield* applyGatewayFile(file, path)
})

/** The start-up import of `path`: the summary, and the text it applied (the hot reload's starting point). */
export const importAtStart = Effect.fn("GatewayFileImport.importAtStart")(function* (path: string) {
  const text = yield* readGatewayFileText(path)
  const summary = yield* applyGatewayFile(yield* parseGatewayFile(text, { file: path }), path)
  yield* Effect.logInfo("imported providers file").pipe(
    Effect.annotateLogs({
      file: path,
      providersCreated: summary.providersCreated.length,
      providersUpdated: summary.providersUpdated.length,
      unchanged: summary.unchanged,
      pruned: summary.pruned,
    }),
  )
  if (summary.changed) {
    const registry = yield* ProviderRegistry
    yield* registry.invalidate
  }
  return { summary, text }
})

/**
 * Start-up step: when GATEWAY_CONFIG is set, import it and, if anything changed, reload the
 * registry here and on every other instance. Fails start-up with the file's error otherwise.
 */
export const importFromConfig: Effect.Effect<
  Option.Option<ImportSummary>,
  GatewayFileError | SqlError.SqlError | RegistryLoadError | KvError,
  AppConfig | ProviderRepository | ProviderRegistry
> = Effect.gen(function* () {
  const config = yield* AppConfig
  if (Option.isNone(config.gatewayConfig)) return Option.none()
  const { summary } = yield* importAtStart(config.gatewayConfig.value)
  return Option.some(summary)
}).pipe(Effect.withSpan("GatewayFileImport.importFromConfig"))
