import { Either, Schema } from "effect"
import { PriceTable } from "./Prices.js"
import { expecting, storedJson } from "./SchemaText.js"

/**
 * A provider's settings: the optional, plain values that mean the same in every place a provider
 * is described (issue 13 item 4). One Schema, snake_case as in the providers file and the
 * management API, from which every shape is derived:
 *
 * - the providers file spreads `ProviderSettingsFields` into a provider entry (absent: not set);
 * - the database keeps the decoded object as the `providers.settings` JSON column
 *   (migrations/0006), read back with `settingsFromStored`;
 * - the management API spreads `NullableSettingsFields` into its request and response types
 *   (`null`: not set; a PATCH with `null` clears), built with `settingsOf` / `mergeSettings`
 *   and shown with `renderSettings`;
 * - the registry reads what routing needs from the decoded object (`cost_input`, `cost_output`).
 *
 * A new setting is therefore one entry in `ProviderSettingValues` plus the code that uses it:
 * no column, no SQL, no mapping to write (docs/ARCHITECTURE.md, "shared/"). A value with a
 * meaning to storage or with names that differ between the file and the API (keys, models,
 * paths, custom headers) stays out of it.
 */

/** The largest whole number a Postgres `integer` holds: the bound the API always applied to `max_qps`. */
const INT4_MAX = 2_147_483_647

const NonNegativeNumber = expecting(Schema.Number.pipe(Schema.finite(), Schema.nonNegative()), "expected a number ≥ 0")

/** Each setting's value schema. Add a setting here; everything else follows from this record. */
export const ProviderSettingValues = {
  /** Free text for administrators: what the provider is for, who owns the account. */
  description: expecting(
    Schema.String.pipe(Schema.maxLength(1000)),
    "expected a string of at most 1000 characters",
  ).annotations({
    description: "What the provider is for, at most 1000 characters",
  }),
  region: expecting(
    Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)),
    "expected a non-empty string of at most 64 characters",
  ),
  /** Price of input tokens (per million, in one currency for every provider): the cost_first strategy. */
  cost_input: NonNegativeNumber,
  /** Price of output tokens, in the same unit as `cost_input`. */
  cost_output: NonNegativeNumber,
  /**
   * Whether the provider continues an assistant prefill (mid-stream rescue asks it with the text
   * the client already has); unset: by protocol — Anthropic does, OpenAI-style APIs answer anew.
   */
  prefill: expecting(Schema.Boolean, "expected true or false").annotations({
    description: "Continues an assistant prefill (mid-stream rescue); unset: true for Anthropic, else false",
  }),
  /**
   * Whether the provider's own Responses API stores responses (`store`, `previous_response_id`,
   * `GET /v1/responses/{id}`), so a stored conversation is left with it; unset: true for an
   * OpenAI-protocol provider at the official `api.openai.com`, else false (the gateway stores it).
   */
  responses_store: expecting(Schema.Boolean, "expected true or false").annotations({
    description:
      "Its Responses API stores responses (previous_response_id is left to it); unset: true for api.openai.com, else false",
  }),
  /**
   * What the provider's models cost (USD; `shared/Prices.ts`), by model id or `*`: wins over the
   * shipped defaults for this provider's answers (`usage/Cost.ts`).
   */
  prices: PriceTable.annotations({
    description:
      'Prices of this provider\'s models in USD, by model id ("*": every other model); wins over the shipped defaults',
  }),
  /** Requests per second the provider as a whole accepts. */
  max_qps: expecting(
    Schema.Number.pipe(Schema.int(), Schema.between(1, INT4_MAX)),
    `expected a whole number from 1 to ${INT4_MAX}`,
  ),
} as const

type Values = typeof ProviderSettingValues
type Key = keyof Values
const KEYS = Object.keys(ProviderSettingValues) as ReadonlyArray<Key>

const mapValues = <R>(f: (schema: Values[Key]) => unknown): R =>
  Object.fromEntries(KEYS.map((key) => [key, f(ProviderSettingValues[key])])) as R

/** The settings as optional fields (absent: not set): the providers file and the stored object. */
export const ProviderSettingsFields = mapValues<{
  readonly [K in Key]: Schema.optionalWith<Values[K], { exact: true }>
}>((schema) => Schema.optionalWith(schema, { exact: true }))

export const ProviderSettings = Schema.Struct(ProviderSettingsFields)
export type ProviderSettings = typeof ProviderSettings.Type

/** The settings as the management API shows them: every one present, `null` when not set. */
export const NullableSettingsFields = mapValues<{ readonly [K in Key]: Schema.NullOr<Values[K]> }>((schema) =>
  Schema.NullOr(schema),
)

/** The same, each optional: a create request (absent or `null`: not set). */
export const OptionalNullableSettingsFields = mapValues<{
  readonly [K in Key]: Schema.optionalWith<Schema.NullOr<Values[K]>, { exact: true }>
}>((schema) => Schema.optionalWith(Schema.NullOr(schema), { exact: true }))

/** Anything that carries settings among other fields, each possibly `null` or left out. */
export type SettingsCarrier = { readonly [K in Key]?: ProviderSettings[K] | null | undefined }

/** The settings part of `value` (a decoded file entry or request): set values only. */
export const settingsOf = (value: SettingsCarrier): ProviderSettings => {
  const out: Record<string, unknown> = {}
  for (const key of KEYS) if (value[key] !== undefined && value[key] !== null) out[key] = value[key]
  return out as ProviderSettings
}

/** `current` changed by a PATCH: a field left out keeps its value, `null` clears it. */
export const mergeSettings = (current: ProviderSettings, patch: SettingsCarrier): ProviderSettings => {
  const merged: Record<string, unknown> = { ...current }
  for (const key of KEYS) if (patch[key] !== undefined) merged[key] = patch[key]
  return settingsOf(merged as SettingsCarrier)
}

/** Every setting, `null` where not set: the API's response fields. */
export const renderSettings = (settings: ProviderSettings): { [K in Key]: Schema.Schema.Type<Values[K]> | null } =>
  Object.fromEntries(KEYS.map((key) => [key, settings[key] ?? null])) as {
    [K in Key]: Schema.Schema.Type<Values[K]> | null
  }

/**
 * Stored settings (the JSON column, an object or its text) → the settings. Each field is decoded
 * on its own: one value this version does not accept reads as not set, without losing the others.
 */
export const settingsFromStored = (value: unknown): ProviderSettings => {
  const parsed = storedJson(value)
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return {}
  const out: Record<string, unknown> = {}
  for (const key of KEYS) {
    const raw = (parsed as Record<string, unknown>)[key]
    if (raw === undefined || raw === null) continue
    const decoded = Schema.decodeUnknownEither(ProviderSettingValues[key] as Schema.Schema<unknown>)(raw)
    if (Either.isRight(decoded)) out[key] = decoded.right
  }
  return out as ProviderSettings
}
