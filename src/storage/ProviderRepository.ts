import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import { Effect, Redacted } from "effect"
import { Secrets } from "../crypto/Secrets.js"
import type { LogicalModelPolicy } from "../shared/LogicalModelPolicy.js"
import { type ProviderSettings, settingsFromStored } from "../shared/ProviderSettings.js"

/**
 * SQL for providers, their keys and models, and logical models (tables of migrations/0001_init.ts).
 *
 * Writes are idempotent: a row is only written when a value differs (`IS DISTINCT FROM`), so
 * applying the same desired state twice leaves every `updated_at` where it was. Result columns
 * are aliased to camelCase explicitly, so the code does not depend on the client's name transforms.
 */

export type WriteOutcome = "created" | "updated" | "unchanged"

// ---------------------------------------------------------------------------------------------
// Rows as stored (what the registry reads)

/** A provider as stored: what a writer stores (`ProviderWrite`), plus what the database keeps of it. */
export interface ProviderRow extends Omit<ProviderWrite, "customHeaders" | "metadata"> {
  readonly uuid: string
  /** Decrypted from `custom_headers_encrypted` (`null`: none stored). */
  readonly customHeaders: Readonly<Record<string, string>> | null
  readonly status: string
  readonly metadata: unknown
  readonly updatedAt: Date
}

export interface ProviderKeyRow {
  readonly id: string
  readonly providerUuid: string
  readonly encryptedKey: Uint8Array
  readonly keyVersion: number
  readonly keySuffix: string
  readonly label: string
  readonly weight: number
  readonly maxQps: number | null
  readonly status: string
  readonly updatedAt: Date
}

export interface ProviderModelRow {
  readonly id: string
  readonly providerUuid: string
  readonly modelId: string
  readonly alias: string | null
  readonly metadata: unknown
  readonly updatedAt: Date
}

export interface LogicalModelRow {
  readonly uuid: string
  readonly logicalId: string
  readonly displayName: string | null
  readonly description: string | null
  readonly enabled: boolean
  readonly strategy: string
  /** `shared/LogicalModelPolicy.ts` as stored (JSON; read with `policyFromStored`). */
  readonly policy: unknown
  readonly updatedAt: Date
}

export interface LogicalUpstreamRow {
  readonly id: string
  readonly logicalModelUuid: string
  readonly providerId: string
  readonly modelId: string
  readonly weight: number
  readonly priority: number
  readonly updatedAt: Date
}

/** Everything the registry needs, read in one transaction so it is consistent. */
export interface RegistryRows {
  readonly providers: ReadonlyArray<ProviderRow>
  readonly keys: ReadonlyArray<ProviderKeyRow>
  readonly models: ReadonlyArray<ProviderModelRow>
  readonly logicalModels: ReadonlyArray<LogicalModelRow>
  readonly upstreams: ReadonlyArray<LogicalUpstreamRow>
}

// ---------------------------------------------------------------------------------------------
// Desired state (what a writer wants stored)

export interface ProviderWrite {
  readonly providerId: string
  readonly name: string
  readonly protocol: string
  readonly baseUrl: string
  readonly providerType: string
  readonly weight: number
  readonly enabled: boolean
  /** Stored whole as the `settings` JSON column. */
  readonly settings: ProviderSettings
  readonly retryableStatusCodes: ReadonlyArray<number> | null
  readonly customHeaders: Readonly<Record<string, string>>
  readonly modelsPath: string | null
  readonly chatPath: string | null
  /** Ignored when `responsesDisabled`. */
  readonly responsesPath: string | null
  readonly responsesDisabled: boolean
  readonly messagesPath: string | null
  readonly staticModels: ReadonlyArray<string> | null
  readonly metadata: Readonly<Record<string, unknown>> | null
}

export interface KeyWrite {
  readonly label: string
  readonly secret: Redacted.Redacted<string>
  readonly weight: number
  readonly maxQps: number | null
}

export interface KeySyncResult {
  readonly created: number
  readonly updated: number
  readonly removed: number
}

export interface ModelSyncResult {
  readonly changed: number
  readonly removed: number
}

export interface LogicalModelWrite {
  readonly logicalId: string
  readonly displayName: string | null
  readonly description: string | null
  readonly enabled: boolean
  readonly strategy: string
  readonly policy: LogicalModelPolicy
}

export interface UpstreamWrite {
  readonly providerId: string
  readonly modelId: string
  readonly weight: number
  readonly priority: number
}

/** Marks provider_models rows written from the providers file (discovery writes others). */
const FILE_SOURCE = "file"

const json = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value))

/** A provider row as selected: its custom headers still encrypted, its settings still JSON. */
export interface StoredProviderRow extends Omit<ProviderRow, "customHeaders" | "settings"> {
  readonly headersCiphertext: Uint8Array | null
  readonly headersVersion: number | null
  readonly settings: unknown
}

/** The columns of a `StoredProviderRow`, for the SELECTs of this repository and the admin one. */
export const storedProviderColumns = (sql: SqlClient.SqlClient) => sql`
  id AS "uuid", provider_id AS "providerId", name, protocol, base_url AS "baseUrl",
  provider_type AS "providerType", weight, enabled, settings, retryable_status_codes AS "retryableStatusCodes",
  custom_headers_encrypted AS "headersCiphertext", custom_headers_version AS "headersVersion",
  models_path AS "modelsPath", chat_path AS "chatPath",
  responses_path AS "responsesPath", responses_disabled AS "responsesDisabled",
  messages_path AS "messagesPath", static_models AS "staticModels", status, metadata,
  updated_at AS "updatedAt"`

/** A selected row made whole: custom headers decrypted, settings decoded. */
export const withHeaders = <R extends StoredProviderRow>(
  secrets: Pick<Secrets, "decrypt">,
  row: R,
): Effect.Effect<
  Omit<R, "headersCiphertext" | "headersVersion" | "settings"> & {
    readonly customHeaders: Record<string, string>
    readonly settings: ProviderSettings
  }
> => {
  const { headersCiphertext, headersVersion, settings, ...rest } = row
  return Effect.map(
    decryptHeaders(secrets, { ciphertext: headersCiphertext, version: headersVersion }, row.providerId),
    (customHeaders) => ({ ...rest, customHeaders, settings: settingsFromStored(settings) }),
  )
}

/** A header map as stored: names and values encrypted together (AES-GCM), or nothing when empty. */
export interface EncryptedHeaders {
  readonly ciphertext: Uint8Array | null
  readonly version: number | null
}

/** The same map whatever the order its names were given in. */
const canonicalHeaders = (headers: Readonly<Record<string, string>>): string =>
  JSON.stringify(Object.entries(headers).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))

/** Encrypts a provider's custom headers (their values may be credentials), like its keys. */
export const encryptHeaders = (
  secrets: Pick<Secrets, "encrypt">,
  headers: Readonly<Record<string, string>>,
): EncryptedHeaders => {
  if (Object.keys(headers).length === 0) return { ciphertext: null, version: null }
  const { ciphertext, version } = secrets.encrypt(Redacted.make(JSON.stringify(headers)))
  return { ciphertext, version }
}

/**
 * Stored custom headers → the map; `{}` when there are none. A value that cannot be decrypted
 * (SECRET_KEY changed without SECRET_KEY_PREVIOUS) is logged and read as no headers.
 */
export const decryptHeaders = (
  secrets: Pick<Secrets, "decrypt">,
  stored: { readonly ciphertext: Uint8Array | null; readonly version: number | null },
  providerId: string,
): Effect.Effect<Record<string, string>> => {
  if (stored.ciphertext === null || stored.version === null) return Effect.succeed({})
  return secrets.decrypt(new Uint8Array(stored.ciphertext), stored.version).pipe(
    Effect.map((plaintext) => {
      const parsed: unknown = JSON.parse(Redacted.value(plaintext))
      const out: Record<string, string> = {}
      if (typeof parsed === "object" && parsed !== null) {
        for (const [name, value] of Object.entries(parsed)) if (typeof value === "string") out[name] = value
      }
      return out
    }),
    Effect.catchAll((error) =>
      Effect.logError("a provider's custom headers could not be decrypted; it is used without them").pipe(
        Effect.annotateLogs({ provider: providerId, reason: "message" in error ? error.message : String(error) }),
        Effect.as({} as Record<string, string>),
      ),
    ),
    Effect.catchAllDefect(() => Effect.succeed({} as Record<string, string>)),
  )
}

export class ProviderRepository extends Effect.Service<ProviderRepository>()("gateway/storage/ProviderRepository", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const secrets = yield* Secrets

    /**
     * Serializes writers across instances for the rest of the transaction (two gateways
     * importing the same file at start-up). Call inside `sql.withTransaction`.
     */
    const lockForImport = sql`SELECT pg_advisory_xact_lock(hashtext('apiproxy:provider-import'))`.pipe(Effect.asVoid)

    const providerIds = sql<{ providerId: string }>`SELECT provider_id AS "providerId" FROM providers`.pipe(
      Effect.map((rows) => new Set(rows.map((r) => r.providerId)) as ReadonlySet<string>),
    )

    const logicalModelIds = sql<{ logicalId: string }>`SELECT logical_id AS "logicalId" FROM logical_models`.pipe(
      Effect.map((rows) => new Set(rows.map((r) => r.logicalId)) as ReadonlySet<string>),
    )

    /**
     * The ciphertext to store for `headers`: the stored one when it already holds the same map
     * (so an unchanged provider stays unchanged: a fresh encryption would differ every time).
     */
    const headersToStore = Effect.fnUntraced(function* (providerId: string, headers: Readonly<Record<string, string>>) {
      const [current] = yield* sql<{ ciphertext: Uint8Array | null; version: number | null }>`
        SELECT custom_headers_encrypted AS "ciphertext", custom_headers_version AS "version"
        FROM providers WHERE provider_id = ${providerId}`
      if (
        current !== undefined &&
        current.ciphertext !== null &&
        current.version !== null &&
        !secrets.needsRotation(current.version)
      ) {
        const stored = yield* decryptHeaders(secrets, current, providerId)
        if (canonicalHeaders(stored) === canonicalHeaders(headers))
          return { ciphertext: current.ciphertext, version: current.version }
      }
      return encryptHeaders(secrets, headers)
    })

    /** Insert, or update only when a column differs. */
    const upsertProvider = Effect.fn("ProviderRepository.upsertProvider")(function* (p: ProviderWrite) {
      const responsesPath = p.responsesDisabled ? null : p.responsesPath
      const headers = yield* headersToStore(p.providerId, p.customHeaders)
      const headersCiphertext = headers.ciphertext === null ? null : Buffer.from(headers.ciphertext)
      const written = yield* sql<{ uuid: string; inserted: boolean }>`
        INSERT INTO providers (
          provider_id, name, protocol, base_url, provider_type, weight, enabled,
          settings, retryable_status_codes, custom_headers_encrypted, custom_headers_version,
          models_path, chat_path, responses_path, responses_disabled, messages_path, static_models, metadata
        ) VALUES (
          ${p.providerId}, ${p.name}, ${p.protocol}, ${p.baseUrl}, ${p.providerType}, ${p.weight}, ${p.enabled},
          ${JSON.stringify(p.settings)}::jsonb, ${json(p.retryableStatusCodes)}::jsonb, ${headersCiphertext}, ${headers.version},
          ${p.modelsPath}, ${p.chatPath}, ${responsesPath}, ${p.responsesDisabled}, ${p.messagesPath},
          ${json(p.staticModels)}::jsonb, ${json(p.metadata)}::jsonb
        )
        ON CONFLICT (provider_id) DO UPDATE SET
          name = EXCLUDED.name, protocol = EXCLUDED.protocol, base_url = EXCLUDED.base_url,
          provider_type = EXCLUDED.provider_type, weight = EXCLUDED.weight, enabled = EXCLUDED.enabled,
          settings = EXCLUDED.settings, retryable_status_codes = EXCLUDED.retryable_status_codes,
          custom_headers_encrypted = EXCLUDED.custom_headers_encrypted,
          custom_headers_version = EXCLUDED.custom_headers_version, models_path = EXCLUDED.models_path,
          chat_path = EXCLUDED.chat_path, responses_path = EXCLUDED.responses_path,
          responses_disabled = EXCLUDED.responses_disabled, messages_path = EXCLUDED.messages_path,
          static_models = EXCLUDED.static_models, metadata = EXCLUDED.metadata, updated_at = now()
        WHERE (
          providers.name, providers.protocol, providers.base_url, providers.provider_type, providers.weight,
          providers.enabled, providers.settings, providers.retryable_status_codes, providers.custom_headers_encrypted, providers.custom_headers_version,
          providers.models_path, providers.chat_path,
          providers.responses_path, providers.responses_disabled, providers.messages_path, providers.static_models,
          providers.metadata
        ) IS DISTINCT FROM (
          EXCLUDED.name, EXCLUDED.protocol, EXCLUDED.base_url, EXCLUDED.provider_type, EXCLUDED.weight,
          EXCLUDED.enabled, EXCLUDED.settings, EXCLUDED.retryable_status_codes, EXCLUDED.custom_headers_encrypted, EXCLUDED.custom_headers_version,
          EXCLUDED.models_path, EXCLUDED.chat_path,
          EXCLUDED.responses_path, EXCLUDED.responses_disabled, EXCLUDED.messages_path, EXCLUDED.static_models,
          EXCLUDED.metadata
        )
        RETURNING id AS "uuid", (xmax = 0) AS "inserted"`
      const row = written[0]
      if (row !== undefined) return { uuid: row.uuid, outcome: (row.inserted ? "created" : "updated") as WriteOutcome }
      const [existing] = yield* sql<{
        uuid: string
      }>`SELECT id AS "uuid" FROM providers WHERE provider_id = ${p.providerId}`
      return { uuid: existing!.uuid, outcome: "unchanged" as WriteOutcome }
    })

    const keysOf = (providerUuid: string) =>
      sql<ProviderKeyRow>`
        SELECT id, provider_uuid AS "providerUuid", encrypted_key AS "encryptedKey", key_version AS "keyVersion",
               key_suffix AS "keySuffix", label, weight, max_qps AS "maxQps", status, updated_at AS "updatedAt"
        FROM provider_api_keys WHERE provider_uuid = ${providerUuid}`

    /**
     * Makes the provider's keys exactly `keys`, matched by label. A key is re-encrypted only
     * when its plaintext changed (decrypt and compare) or it was written under an older secret;
     * keys whose label is gone are deleted. A key's `status` (set by operators) is kept.
     */
    const syncKeys = Effect.fn("ProviderRepository.syncKeys")(function* (
      providerUuid: string,
      keys: ReadonlyArray<KeyWrite>,
    ) {
      const existing = new Map((yield* keysOf(providerUuid)).map((row) => [row.label, row]))
      let created = 0
      let updated = 0
      for (const key of keys) {
        const row = existing.get(key.label)
        existing.delete(key.label)
        if (row === undefined) {
          const { ciphertext, version } = secrets.encrypt(key.secret)
          yield* sql`
            INSERT INTO provider_api_keys (provider_uuid, encrypted_key, key_version, key_suffix, label, weight, max_qps)
            VALUES (${providerUuid}, ${Buffer.from(ciphertext)}, ${version}, ${secrets.maskedSuffix(key.secret)},
                    ${key.label}, ${key.weight}, ${key.maxQps})`
          created++
          continue
        }
        const stored = yield* secrets.decrypt(row.encryptedKey, row.keyVersion).pipe(Effect.option)
        const sameSecret =
          stored._tag === "Some" &&
          Redacted.value(stored.value) === Redacted.value(key.secret) &&
          !secrets.needsRotation(row.keyVersion)
        const sameSettings = row.weight === key.weight && row.maxQps === key.maxQps
        if (sameSecret && sameSettings) continue
        if (sameSecret) {
          yield* sql`
            UPDATE provider_api_keys SET weight = ${key.weight}, max_qps = ${key.maxQps}, updated_at = now()
            WHERE id = ${row.id}`
        } else {
          const { ciphertext, version } = secrets.encrypt(key.secret)
          yield* sql`
            UPDATE provider_api_keys SET encrypted_key = ${Buffer.from(ciphertext)}, key_version = ${version},
              key_suffix = ${secrets.maskedSuffix(key.secret)}, weight = ${key.weight}, max_qps = ${key.maxQps},
              updated_at = now()
            WHERE id = ${row.id}`
        }
        updated++
      }
      const stale = [...existing.values()].map((row) => row.id)
      if (stale.length > 0) yield* sql`DELETE FROM provider_api_keys WHERE ${sql.in("id", stale)}`
      return { created, updated, removed: stale.length } satisfies KeySyncResult
    })

    /**
     * The provider's file-declared models (static list plus alias targets) as provider_models
     * rows marked `metadata.source = "file"`. Rows written by discovery are left alone, except
     * that a model the file declares takes the file's alias.
     */
    const syncFileModels = Effect.fn("ProviderRepository.syncFileModels")(function* (
      providerUuid: string,
      models: ReadonlyArray<string>,
      aliases: Readonly<Record<string, string>>,
    ) {
      const desired = new Map<string, string | null>(models.map((m) => [m, null]))
      for (const [alias, model] of Object.entries(aliases)) desired.set(model, alias)
      const rows = yield* sql<ProviderModelRow>`
        SELECT id, provider_id AS "providerUuid", model_id AS "modelId", alias, metadata, updated_at AS "updatedAt"
        FROM provider_models WHERE provider_id = ${providerUuid}`
      const byModel = new Map(rows.map((r) => [r.modelId, r]))
      const isFileRow = (r: ProviderModelRow) =>
        typeof r.metadata === "object" &&
        r.metadata !== null &&
        (r.metadata as { source?: unknown }).source === FILE_SOURCE
      let changed = 0
      for (const [modelId, alias] of desired) {
        const row = byModel.get(modelId)
        if (row === undefined) {
          yield* sql`
            INSERT INTO provider_models (provider_id, model_id, alias, metadata)
            VALUES (${providerUuid}, ${modelId}, ${alias}, ${json({ source: FILE_SOURCE })}::jsonb)`
          changed++
        } else if (row.alias !== alias || !isFileRow(row)) {
          yield* sql`
            UPDATE provider_models SET alias = ${alias},
              metadata = COALESCE(metadata, '{}'::jsonb) || ${json({ source: FILE_SOURCE })}::jsonb, updated_at = now()
            WHERE id = ${row.id}`
          changed++
        }
      }
      const stale = rows.filter((r) => isFileRow(r) && !desired.has(r.modelId)).map((r) => r.id)
      if (stale.length > 0) yield* sql`DELETE FROM provider_models WHERE ${sql.in("id", stale)}`
      return { changed, removed: stale.length } satisfies ModelSyncResult
    })

    const upsertLogicalModel = Effect.fn("ProviderRepository.upsertLogicalModel")(function* (m: LogicalModelWrite) {
      const written = yield* sql<{ uuid: string; inserted: boolean }>`
        INSERT INTO logical_models (logical_id, display_name, description, enabled, strategy, policy)
        VALUES (${m.logicalId}, ${m.displayName}, ${m.description}, ${m.enabled}, ${m.strategy}, ${json(m.policy)}::jsonb)
        ON CONFLICT (logical_id) DO UPDATE SET
          display_name = EXCLUDED.display_name, description = EXCLUDED.description,
          enabled = EXCLUDED.enabled, strategy = EXCLUDED.strategy, policy = EXCLUDED.policy, updated_at = now()
        WHERE (logical_models.display_name, logical_models.description, logical_models.enabled, logical_models.strategy, logical_models.policy)
          IS DISTINCT FROM (EXCLUDED.display_name, EXCLUDED.description, EXCLUDED.enabled, EXCLUDED.strategy, EXCLUDED.policy)
        RETURNING id AS "uuid", (xmax = 0) AS "inserted"`
      const row = written[0]
      if (row !== undefined) return { uuid: row.uuid, outcome: (row.inserted ? "created" : "updated") as WriteOutcome }
      const [existing] = yield* sql<{
        uuid: string
      }>`SELECT id AS "uuid" FROM logical_models WHERE logical_id = ${m.logicalId}`
      return { uuid: existing!.uuid, outcome: "unchanged" as WriteOutcome }
    })

    /** Makes the logical model's upstreams exactly `upstreams` (matched by provider and model). */
    const syncUpstreams = Effect.fn("ProviderRepository.syncUpstreams")(function* (
      logicalModelUuid: string,
      upstreams: ReadonlyArray<UpstreamWrite>,
    ) {
      const rows = yield* sql<LogicalUpstreamRow>`
        SELECT id, logical_model_id AS "logicalModelUuid", provider_id AS "providerId", model_id AS "modelId",
               weight, priority, updated_at AS "updatedAt"
        FROM logical_model_upstreams WHERE logical_model_id = ${logicalModelUuid}`
      const pairKey = (providerId: string, modelId: string) => JSON.stringify([providerId, modelId])
      const existing = new Map(rows.map((r) => [pairKey(r.providerId, r.modelId), r]))
      let changed = 0
      for (const u of upstreams) {
        const key = pairKey(u.providerId, u.modelId)
        const row = existing.get(key)
        existing.delete(key)
        if (row === undefined) {
          yield* sql`
            INSERT INTO logical_model_upstreams (logical_model_id, provider_id, model_id, weight, priority)
            VALUES (${logicalModelUuid}, ${u.providerId}, ${u.modelId}, ${u.weight}, ${u.priority})`
          changed++
        } else if (row.weight !== u.weight || row.priority !== u.priority) {
          yield* sql`
            UPDATE logical_model_upstreams SET weight = ${u.weight}, priority = ${u.priority}, updated_at = now()
            WHERE id = ${row.id}`
          changed++
        }
      }
      const stale = [...existing.values()].map((r) => r.id)
      if (stale.length > 0) yield* sql`DELETE FROM logical_model_upstreams WHERE ${sql.in("id", stale)}`
      return { changed, removed: stale.length } satisfies ModelSyncResult
    })

    /** Deletes the rows of `table` whose `idColumn` is not in `keep`; returns their ids, sorted. */
    const pruneExcept = (
      table: "providers" | "logical_models",
      idColumn: "provider_id" | "logical_id",
      keep: ReadonlyArray<string>,
    ) =>
      Effect.map(
        keep.length === 0
          ? sql<{ id: string }>`DELETE FROM ${sql(table)} RETURNING ${sql(idColumn)} AS id`
          : sql<{
              id: string
            }>`DELETE FROM ${sql(table)} WHERE NOT ${sql.in(idColumn, keep)} RETURNING ${sql(idColumn)} AS id`,
        (rows) => rows.map((r) => r.id).sort(),
      )

    /** Deletes providers not in `keep` (their keys, models and logical upstreams cascade); returns their ids. */
    const pruneProviders = Effect.fn("ProviderRepository.pruneProviders")((keep: ReadonlyArray<string>) =>
      pruneExcept("providers", "provider_id", keep),
    )

    /** Deletes logical models not in `keep`; returns their ids. */
    const pruneLogicalModels = Effect.fn("ProviderRepository.pruneLogicalModels")((keep: ReadonlyArray<string>) =>
      pruneExcept("logical_models", "logical_id", keep),
    )

    /** Every row the registry needs, in one read-only transaction (a consistent snapshot). */
    const loadAll: Effect.Effect<RegistryRows, SqlError.SqlError> = Effect.gen(function* () {
      const stored = yield* sql<StoredProviderRow>`
        SELECT ${storedProviderColumns(sql)} FROM providers ORDER BY provider_id`
      const providers = yield* Effect.forEach(stored, (row) => withHeaders(secrets, row))
      const keys = yield* sql<ProviderKeyRow>`
        SELECT id, provider_uuid AS "providerUuid", encrypted_key AS "encryptedKey", key_version AS "keyVersion",
               key_suffix AS "keySuffix", label, weight, max_qps AS "maxQps", status, updated_at AS "updatedAt"
        FROM provider_api_keys ORDER BY provider_uuid, label`
      const models = yield* sql<ProviderModelRow>`
        SELECT id, provider_id AS "providerUuid", model_id AS "modelId", alias, metadata, updated_at AS "updatedAt"
        FROM provider_models ORDER BY provider_id, model_id`
      const logicalModels = yield* sql<LogicalModelRow>`
        SELECT id AS "uuid", logical_id AS "logicalId", display_name AS "displayName", description, enabled,
               strategy, policy, updated_at AS "updatedAt"
        FROM logical_models ORDER BY logical_id`
      const upstreams = yield* sql<LogicalUpstreamRow>`
        SELECT id, logical_model_id AS "logicalModelUuid", provider_id AS "providerId", model_id AS "modelId",
               weight, priority, updated_at AS "updatedAt"
        FROM logical_model_upstreams ORDER BY logical_model_id, priority, provider_id, model_id`
      return { providers, keys, models, logicalModels, upstreams } satisfies RegistryRows
    }).pipe(sql.withTransaction, Effect.withSpan("ProviderRepository.loadAll"))

    return {
      lockForImport,
      providerIds,
      logicalModelIds,
      upsertProvider,
      syncKeys,
      syncFileModels,
      upsertLogicalModel,
      syncUpstreams,
      pruneProviders,
      pruneLogicalModels,
      loadAll,
      /** Runs `effect` in one transaction (nested calls join it). */
      withTransaction: sql.withTransaction,
    } as const
  }),
  // SqlClient comes from the Database layer; Secrets from AppConfig.
  dependencies: [Secrets.Default],
}) {}
