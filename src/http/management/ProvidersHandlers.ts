import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { Effect, Option } from "effect"
import { ApiKeyAuth } from "../../identity/ApiKeyAuth.js"
import { ProviderRegistry } from "../../registry/ProviderRegistry.js"
import { mergeSettings, settingsOf } from "../../shared/ProviderSettings.js"
import { renamed } from "../../shared/Renamed.js"
import { type AdminProviderRow, ProviderAdminRepository, toWrite } from "../../storage/ProviderAdminRepository.js"
import type { ProviderWrite } from "../../storage/ProviderRepository.js"
import { Conflict, CoreApi, NotFound } from "./CoreApi.js"
import { managed } from "./Errors.js"
import { maskHeaderValue, renderProvider, renderProviderKey } from "./Render.js"

const labelTaken = () =>
  Effect.fail(new Conflict({ message: "A key with this label already exists for this provider" }))

/**
 * Masked header values in a PATCH (copied back from a GET: `…` and the last four characters, or
 * the older `[redacted]`) keep the stored value; headers left out are removed.
 */
const mergeHeaders = (stored: Readonly<Record<string, string>> | null, given: Readonly<Record<string, string>>) => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(given)) {
    const current = stored?.[name]
    out[name] =
      current !== undefined && (value === maskHeaderValue(current) || value === "[redacted]") ? current : value
  }
  return out
}

/** A key payload of the API (snake_case, `key`) → the repository's fields. */
const KEY_FIELDS = { label: "label", key: "secret", weight: "weight", max_qps: "maxQps", status: "status" } as const

/** The provider fields a PATCH stores as given: API name → `ProviderWrite` name. */
const PATCHED_AS_GIVEN = {
  name: "name",
  protocol: "protocol",
  base_url: "baseUrl",
  provider_type: "providerType",
  weight: "weight",
  enabled: "enabled",
  retryable_status_codes: "retryableStatusCodes",
  models_path: "modelsPath",
  chat_path: "chatPath",
  responses_path: "responsesPath",
  responses_disabled: "responsesDisabled",
  messages_path: "messagesPath",
  metadata: "metadata",
} as const satisfies { readonly [field: string]: keyof ProviderWrite }

export const ProvidersHandlers = HttpApiBuilder.group(CoreApi, "providers", (handlers) =>
  Effect.gen(function* () {
    const repo = yield* ProviderAdminRepository
    const registry = yield* ProviderRegistry
    const auth = yield* ApiKeyAuth

    /** After every saved change: every instance reloads its registry (retried in the background if that fails). */
    const changed = registry.afterChange

    const find = (providerId: string) =>
      Effect.flatMap(
        repo.find(providerId),
        Option.match({
          onNone: () => Effect.fail(new NotFound({ message: `Provider '${providerId}' not found` })),
          onSome: Effect.succeed,
        }),
      )

    const render = (row: AdminProviderRow) =>
      Effect.gen(function* () {
        const keys = yield* repo.keys([row.uuid])
        const models = yield* repo.models([row.uuid])
        return renderProvider(row, keys, models)
      })

    const findKey = (providerUuid: string, providerId: string, keyId: string) =>
      Effect.flatMap(
        repo.findKey(providerUuid, keyId),
        Option.match({
          onNone: () => Effect.fail(new NotFound({ message: `Key '${keyId}' of provider '${providerId}' not found` })),
          onSome: Effect.succeed,
        }),
      )

    return handlers
      .handle("create", ({ payload }) =>
        Effect.gen(function* () {
          const write: ProviderWrite = {
            providerId: payload.id,
            name: payload.name ?? payload.id,
            protocol: payload.protocol,
            baseUrl: payload.base_url,
            providerType: payload.provider_type,
            weight: payload.weight,
            enabled: payload.enabled,
            settings: settingsOf(payload),
            retryableStatusCodes: payload.retryable_status_codes,
            customHeaders: payload.custom_headers,
            modelsPath: payload.models_path,
            chatPath: payload.chat_path,
            responsesPath: payload.responses_path,
            responsesDisabled: payload.responses_disabled,
            messagesPath: payload.messages_path,
            staticModels: payload.models,
            metadata: payload.metadata,
          }
          const keys = payload.keys.map((key) => renamed(key, KEY_FIELDS))
          const labels = new Set(keys.map((k) => k.label))
          if (labels.size !== keys.length) return yield* labelTaken()
          const created = yield* repo
            .create(write, keys, payload.aliases)
            .pipe(Effect.catchTag("UniqueViolation", labelTaken))
          if (Option.isNone(created)) {
            return yield* new Conflict({ message: `Provider '${payload.id}' already exists` })
          }
          yield* changed
          return yield* render(yield* find(payload.id))
        }).pipe(managed),
      )
      .handle("list", () =>
        Effect.gen(function* () {
          const rows = yield* repo.list
          const uuids = rows.map((r) => r.uuid)
          const keys = yield* repo.keys(uuids)
          const models = yield* repo.models(uuids)
          return rows.map((row) => renderProvider(row, keys, models))
        }).pipe(managed),
      )
      .handle("get", ({ path }) => find(path.id).pipe(Effect.flatMap(render), managed))
      .handle("update", ({ path, payload }) =>
        Effect.gen(function* () {
          const row = yield* find(path.id)
          const current = toWrite(row)
          yield* repo.update({
            ...current,
            ...renamed(payload, PATCHED_AS_GIVEN),
            settings: mergeSettings(current.settings, payload),
            ...(payload.custom_headers !== undefined && {
              customHeaders: mergeHeaders(row.customHeaders, payload.custom_headers),
            }),
          })
          yield* changed
          return yield* render(yield* find(path.id))
        }).pipe(managed),
      )
      .handle("delete", ({ path }) =>
        Effect.gen(function* () {
          const removed = yield* repo.remove(path.id)
          if (!removed) return yield* new NotFound({ message: `Provider '${path.id}' not found` })
          yield* changed
          // Allow-lists naming it shrank (possibly to nothing): drop cached key verdicts too.
          yield* auth.invalidate
        }).pipe(managed),
      )
      .handle("setModels", ({ path, payload }) =>
        Effect.gen(function* () {
          const row = yield* find(path.id)
          yield* repo.setModels(row.uuid, payload.models, payload.aliases)
          yield* changed
          return yield* render(yield* find(path.id))
        }).pipe(managed),
      )
      .handle("listKeys", ({ path }) =>
        Effect.gen(function* () {
          const row = yield* find(path.id)
          const keys = yield* repo.keys([row.uuid])
          return keys.map((k) => renderProviderKey(row.providerId, k))
        }).pipe(managed),
      )
      .handle("createKey", ({ path, payload }) =>
        Effect.gen(function* () {
          const row = yield* find(path.id)
          const key = yield* repo
            .insertKey(row.uuid, renamed(payload, KEY_FIELDS))
            .pipe(Effect.catchTag("UniqueViolation", labelTaken))
          yield* changed
          return renderProviderKey(row.providerId, key)
        }).pipe(managed),
      )
      .handle("updateKey", ({ path, payload }) =>
        Effect.gen(function* () {
          const row = yield* find(path.id)
          yield* findKey(row.uuid, row.providerId, path.key_id)
          const updated = yield* repo
            .updateKey(row.uuid, path.key_id, renamed(payload, KEY_FIELDS))
            .pipe(Effect.catchTag("UniqueViolation", labelTaken))
          if (Option.isNone(updated)) return yield* new NotFound({ message: `Key '${path.key_id}' not found` })
          yield* changed
          return renderProviderKey(row.providerId, updated.value)
        }).pipe(managed),
      )
      .handle("deleteKey", ({ path }) =>
        Effect.gen(function* () {
          const row = yield* find(path.id)
          const removed = yield* repo.removeKey(row.uuid, path.key_id)
          if (!removed)
            return yield* new NotFound({ message: `Key '${path.key_id}' of provider '${path.id}' not found` })
          yield* changed
        }).pipe(managed),
      )
  }),
)
