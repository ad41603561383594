import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Option, type Redacted } from "effect"
import { Secrets } from "../crypto/Secrets.js"
import {
  ProviderRepository,
  type ProviderRow,
  type ProviderWrite,
  type StoredProviderRow,
  storedProviderColumns,
  withHeaders,
} from "./ProviderRepository.js"
import { catchUnique } from "./UserRepository.js"

/**
 * Provider administration on the tables the providers-as-code import writes: the same rows, and
 * provider writes go through `ProviderRepository.upsertProvider`, so a provider edited over the
 * API and one declared in the file are indistinguishable. Key material is encrypted here and
 * never read back: listings select the label and masked suffix only.
 */

export interface AdminProviderRow extends ProviderRow {
  readonly createdAt: Date
}

interface StoredAdminRow extends StoredProviderRow {
  readonly createdAt: Date
}

/** A provider key as administration sees it: no ciphertext, no plaintext. */
export interface AdminKeyRow {
  readonly id: string
  readonly providerUuid: string
  readonly label: string
  readonly keySuffix: string
  readonly weight: number
  readonly maxQps: number | null
  readonly status: string
  readonly createdAt: Date
  readonly updatedAt: Date
}

export interface AdminModelRow {
  readonly providerUuid: string
  readonly modelId: string
  readonly alias: string | null
}

export interface KeyInsert {
  readonly label: string
  readonly secret: Redacted.Redacted<string>
  readonly weight: number
  readonly maxQps: number | null
  readonly status: string
}

export interface KeyPatch {
  readonly label?: string | undefined
  readonly secret?: Redacted.Redacted<string> | undefined
  readonly weight?: number | undefined
  readonly maxQps?: number | null | undefined
  readonly status?: string | undefined
}

/** The desired-state shape of a stored row (to apply a partial change through `upsertProvider`). */
export const toWrite = (row: ProviderRow): ProviderWrite => ({
  providerId: row.providerId,
  name: row.name,
  protocol: row.protocol,
  baseUrl: row.baseUrl,
  providerType: row.providerType,
  weight: row.weight,
  enabled: row.enabled,
  settings: row.settings,
  retryableStatusCodes: row.retryableStatusCodes,
  customHeaders: row.customHeaders ?? {},
  modelsPath: row.modelsPath,
  chatPath: row.chatPath,
  responsesPath: row.responsesPath,
  responsesDisabled: row.responsesDisabled,
  messagesPath: row.messagesPath,
  staticModels: row.staticModels,
  metadata:
    typeof row.metadata === "object" && row.metadata !== null ? (row.metadata as Record<string, unknown>) : null,
})

export class ProviderAdminRepository extends Effect.Service<ProviderAdminRepository>()(
  "gateway/storage/ProviderAdminRepository",
  {
    effect: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const secrets = yield* Secrets
      const providers = yield* ProviderRepository

      const providerColumns = sql`${storedProviderColumns(sql)}, created_at AS "createdAt"`
      const keyColumns = sql`
        id, provider_uuid AS "providerUuid", label, key_suffix AS "keySuffix", weight, max_qps AS "maxQps",
        status, created_at AS "createdAt", updated_at AS "updatedAt"`

      // Custom headers are stored encrypted and decrypted here: the handlers merge a patch into
      // them, and render every value masked.
      const decrypted = (rows: ReadonlyArray<StoredAdminRow>) =>
        Effect.forEach(rows, (row) => withHeaders(secrets, row) as Effect.Effect<AdminProviderRow>)

      const list = sql<StoredAdminRow>`SELECT ${providerColumns} FROM providers ORDER BY provider_id`.pipe(
        Effect.flatMap(decrypted),
      )

      const find = (providerId: string) =>
        sql<StoredAdminRow>`SELECT ${providerColumns} FROM providers WHERE provider_id = ${providerId}`.pipe(
          Effect.flatMap(decrypted),
          Effect.map((rows) => Option.fromNullable(rows[0])),
        )

      const keys = (providerUuids: ReadonlyArray<string>) =>
        providerUuids.length === 0
          ? Effect.succeed([] as ReadonlyArray<AdminKeyRow>)
          : sql<AdminKeyRow>`
              SELECT ${keyColumns} FROM provider_api_keys WHERE ${sql.in("provider_uuid", providerUuids)}
              ORDER BY created_at, label`

      const models = (providerUuids: ReadonlyArray<string>) =>
        providerUuids.length === 0
          ? Effect.succeed([] as ReadonlyArray<AdminModelRow>)
          : sql<AdminModelRow>`
              SELECT provider_id AS "providerUuid", model_id AS "modelId", alias FROM provider_models
              WHERE ${sql.in("provider_id", providerUuids)} ORDER BY model_id`

      /** Inserts a provider with its keys and models, in one transaction; `None` when the id is taken. */
      const create = Effect.fn("ProviderAdminRepository.create")(function* (
        write: ProviderWrite,
        newKeys: ReadonlyArray<KeyInsert>,
        aliases: Readonly<Record<string, string>>,
      ) {
        return yield* Effect.gen(function* () {
          // The import's lock: an import running meanwhile cannot interleave with this create.
          yield* providers.lockForImport
          if (Option.isSome(yield* find(write.providerId))) return Option.none<string>()
          const { uuid } = yield* providers.upsertProvider(write)
          for (const key of newKeys) yield* insertKey(uuid, key)
          yield* providers.syncFileModels(uuid, write.staticModels ?? [], aliases)
          return Option.some(uuid)
        }).pipe(sql.withTransaction)
      })

      /** Writes the whole desired state of an existing provider (a merge of its row and a patch). */
      const update = (write: ProviderWrite) => providers.upsertProvider(write).pipe(Effect.asVoid)

      const remove = (providerId: string) =>
        sql<{ id: string }>`DELETE FROM providers WHERE provider_id = ${providerId} RETURNING id`.pipe(
          Effect.map((rows) => rows.length > 0),
        )

      /** Replaces the model list (`null`: discover) and aliases. */
      const setModels = Effect.fn("ProviderAdminRepository.setModels")(function* (
        uuid: string,
        modelIds: ReadonlyArray<string> | null,
        aliases: Readonly<Record<string, string>>,
      ) {
        yield* Effect.gen(function* () {
          const value = modelIds === null ? null : JSON.stringify(modelIds)
          yield* sql`UPDATE providers SET static_models = ${value}::jsonb, updated_at = now() WHERE id = ${uuid}`
          yield* providers.syncFileModels(uuid, modelIds ?? [], aliases)
        }).pipe(sql.withTransaction)
      })

      const findKey = (providerUuid: string, keyId: string) =>
        sql<AdminKeyRow>`
          SELECT ${keyColumns} FROM provider_api_keys WHERE provider_uuid = ${providerUuid} AND id::text = ${keyId}`.pipe(
          Effect.map((rows) => Option.fromNullable(rows[0])),
        )

      /** Encrypts and stores a key; `UniqueViolation` when the label is taken for this provider. */
      const insertKey = (providerUuid: string, key: KeyInsert) => {
        const { ciphertext, version } = secrets.encrypt(key.secret)
        return catchUnique(sql<AdminKeyRow>`
          INSERT INTO provider_api_keys (provider_uuid, encrypted_key, key_version, key_suffix, label, weight, max_qps, status)
          VALUES (${providerUuid}, ${Buffer.from(ciphertext)}, ${version}, ${secrets.maskedSuffix(key.secret)},
                  ${key.label}, ${key.weight}, ${key.maxQps}, ${key.status})
          RETURNING ${keyColumns}`).pipe(Effect.map((rows) => rows[0]!))
      }

      const updateKey = Effect.fn("ProviderAdminRepository.updateKey")(function* (
        providerUuid: string,
        keyId: string,
        patch: KeyPatch,
      ) {
        const set: Record<string, unknown> = {}
        if (patch.label !== undefined) set.label = patch.label
        if (patch.weight !== undefined) set.weight = patch.weight
        if (patch.maxQps !== undefined) set.max_qps = patch.maxQps
        if (patch.status !== undefined) set.status = patch.status
        if (patch.secret !== undefined) {
          const { ciphertext, version } = secrets.encrypt(patch.secret)
          set.encrypted_key = Buffer.from(ciphertext)
          set.key_version = version
          set.key_suffix = secrets.maskedSuffix(patch.secret)
        }
        if (Object.keys(set).length === 0) return yield* findKey(providerUuid, keyId)
        const rows = yield* catchUnique(sql<AdminKeyRow>`
          UPDATE provider_api_keys SET ${sql.update(set)}, updated_at = now()
          WHERE provider_uuid = ${providerUuid} AND id::text = ${keyId}
          RETURNING ${keyColumns}`)
        return Option.fromNullable(rows[0])
      })

      const removeKey = (providerUuid: string, keyId: string) =>
        sql<{ id: string }>`
          DELETE FROM provider_api_keys WHERE provider_uuid = ${providerUuid} AND id::text = ${keyId} RETURNING id`.pipe(
          Effect.map((rows) => rows.length > 0),
        )

      return {
        list,
        find,
        keys,
        models,
        create,
        update,
        remove,
        setModels,
        findKey,
        insertKey,
        updateKey,
        removeKey,
      } as const
    }),
    dependencies: [ProviderRepository.Default],
  },
) {}
