import { isoOfLocalInput, localInputOfIso, type OffsetAt } from "../../api/LocalTime.js"
import type { ApiKey, BudgetPeriod } from "../../api/Types.js"

/**
 * The API key form's values (text, as the fields hold them) and the management API's bodies made
 * from them: `POST …/api-keys` for a new key; `PUT …/api-keys/{id}` with only what changed, and the
 * budget's own `PUT`/`DELETE …/budget`, for an existing one. Checks here are the ones a field
 * cannot express (a whole number, a date that exists); the API checks everything again and its
 * message is shown as it is.
 */

/** `unchanged` is an edit's: any lifetime restarts the clock from now, so it is never re-sent by default. */
export type ExpiryChoice = "unchanged" | "never" | "week" | "month" | "year" | "date"

export interface KeyForm {
  readonly name: string
  readonly expiry: ExpiryChoice
  /** A `datetime-local` value (browser time) for `expiry: "date"`. */
  readonly expiresLocal: string
  /** false: every provider. true: only `providers` (none at all when it is empty). */
  readonly restrictProviders: boolean
  readonly providers: ReadonlyArray<string>
  readonly requestsPerMinute: string
  readonly tokensPerMinute: string
  /** USD as typed; empty: no budget. */
  readonly budgetAmount: string
  readonly budgetPeriod: BudgetPeriod
  readonly budgetSoft: boolean
}

export const NEW_KEY_FORM: KeyForm = {
  name: "",
  expiry: "never",
  expiresLocal: "",
  restrictProviders: false,
  providers: [],
  requestsPerMinute: "",
  tokensPerMinute: "",
  budgetAmount: "",
  budgetPeriod: "month",
  budgetSoft: false,
}

/** An existing key's values, for its edit form. */
export const formOfKey = (key: ApiKey, offsetAt?: OffsetAt): KeyForm => ({
  name: key.name,
  expiry: "unchanged",
  expiresLocal: key.expires_at === null ? "" : localInputOfIso(key.expires_at, offsetAt),
  restrictProviders: key.allowed_provider_ids !== null,
  providers: key.allowed_provider_ids ?? [],
  requestsPerMinute: key.requests_per_minute === null ? "" : String(key.requests_per_minute),
  tokensPerMinute: key.tokens_per_minute === null ? "" : String(key.tokens_per_minute),
  budgetAmount: key.budget?.amount_usd ?? "",
  budgetPeriod: key.budget?.period ?? "month",
  budgetSoft: key.budget?.soft ?? false,
})

/** Provider ids as typed in a text field: separated by commas or spaces, each once. */
export const providerIdsOf = (text: string): ReadonlyArray<string> => [
  ...new Set(text.split(/[\s,]+/).filter((id) => id !== "")),
]

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string }
const ok = <T>(value: T): Checked<T> => ({ ok: true, value })
const problem = (error: string): Checked<never> => ({ ok: false, error })

const INT4_MAX = 2_147_483_647

/** A limit field: empty is no limit (`null`), else a whole number from 1. */
const limitOf = (label: string, text: string): Checked<number | null> => {
  const trimmed = text.trim()
  if (trimmed === "") return ok(null)
  const value = Number(trimmed)
  return /^\d+$/.test(trimmed) && value >= 1 && value <= INT4_MAX
    ? ok(value)
    : problem(`${label}: expected a whole number from 1 to ${INT4_MAX}, or empty for no limit`)
}

type ExpiryBody = { readonly expiry: Exclude<ExpiryChoice, "unchanged" | "date"> } | { readonly expires_at: string }

const expiryOf = (form: KeyForm, offsetAt?: OffsetAt): Checked<ExpiryBody | undefined> => {
  if (form.expiry === "unchanged") return ok(undefined)
  if (form.expiry !== "date") return ok({ expiry: form.expiry })
  const iso = isoOfLocalInput(form.expiresLocal, offsetAt)
  return iso === undefined ? problem("Expires at: expected a date and a time") : ok({ expires_at: iso })
}

export interface BudgetBody {
  readonly amount_usd: string
  readonly period: BudgetPeriod
  readonly soft: boolean
}

const budgetOf = (form: KeyForm): BudgetBody | null =>
  form.budgetAmount.trim() === ""
    ? null
    : { amount_usd: form.budgetAmount.trim(), period: form.budgetPeriod, soft: form.budgetSoft }

const allowListOf = (form: KeyForm): ReadonlyArray<string> | null => (form.restrictProviders ? form.providers : null)

interface Common {
  readonly expiry: ExpiryBody | undefined
  readonly requestsPerMinute: number | null
  readonly tokensPerMinute: number | null
}

const commonOf = (form: KeyForm, offsetAt?: OffsetAt): Checked<Common> => {
  const expiry = expiryOf(form, offsetAt)
  if (!expiry.ok) return expiry
  const requestsPerMinute = limitOf("Requests per minute", form.requestsPerMinute)
  if (!requestsPerMinute.ok) return requestsPerMinute
  const tokensPerMinute = limitOf("Tokens per minute", form.tokensPerMinute)
  if (!tokensPerMinute.ok) return tokensPerMinute
  return ok({
    expiry: expiry.value,
    requestsPerMinute: requestsPerMinute.value,
    tokensPerMinute: tokensPerMinute.value,
  })
}

/** `POST /users/{id}/api-keys`: what the form sets (an unset limit, budget or allow-list is left out). */
export const createBodyOf = (form: KeyForm, offsetAt?: OffsetAt): Checked<Record<string, unknown>> => {
  const common = commonOf(form, offsetAt)
  if (!common.ok) return common
  const { expiry, requestsPerMinute, tokensPerMinute } = common.value
  const allowList = allowListOf(form)
  const budget = budgetOf(form)
  return ok({
    name: form.name.trim(),
    ...expiry,
    ...(allowList === null ? {} : { allowed_provider_ids: allowList }),
    ...(requestsPerMinute === null ? {} : { requests_per_minute: requestsPerMinute }),
    ...(tokensPerMinute === null ? {} : { tokens_per_minute: tokensPerMinute }),
    ...(budget === null ? {} : { budget }),
  })
}

export type BudgetChange =
  | { readonly _tag: "Unchanged" }
  | { readonly _tag: "Set"; readonly body: BudgetBody }
  | { readonly _tag: "Remove" }

export interface KeyUpdate {
  /** The key's `PUT` body: only the fields that changed (empty: nothing to send). */
  readonly key: Record<string, unknown>
  /** The budget's own route: `PUT …/budget` or `DELETE …/budget`. */
  readonly budget: BudgetChange
}

const sameList = (a: ReadonlyArray<string> | null, b: ReadonlyArray<string> | null): boolean =>
  a === null || b === null ? a === b : a.length === b.length && [...a].sort().every((id, i) => id === [...b].sort()[i])

const sameBudget = (a: BudgetBody | null, b: BudgetBody | null): boolean =>
  a === null || b === null
    ? a === b
    : Number(a.amount_usd) === Number(b.amount_usd) && a.period === b.period && a.soft === b.soft

/** What an edit of `key` changes. */
export const updateOf = (key: ApiKey, form: KeyForm, offsetAt?: OffsetAt): Checked<KeyUpdate> => {
  const common = commonOf(form, offsetAt)
  if (!common.ok) return common
  const { expiry, requestsPerMinute, tokensPerMinute } = common.value
  const allowList = allowListOf(form)
  const budget = budgetOf(form)
  const name = form.name.trim()
  const sameExpiry =
    expiry !== undefined && "expires_at" in expiry && key.expiry_type === "date" && key.expires_at !== null
      ? Date.parse(expiry.expires_at) === Date.parse(key.expires_at)
      : expiry === undefined
  return ok({
    key: {
      ...(name === key.name ? {} : { name }),
      ...(sameExpiry ? {} : expiry),
      ...(sameList(allowList, key.allowed_provider_ids) ? {} : { allowed_provider_ids: allowList }),
      ...(requestsPerMinute === key.requests_per_minute ? {} : { requests_per_minute: requestsPerMinute }),
      ...(tokensPerMinute === key.tokens_per_minute ? {} : { tokens_per_minute: tokensPerMinute }),
    },
    budget: sameBudget(budget, key.budget)
      ? { _tag: "Unchanged" }
      : budget === null
        ? { _tag: "Remove" }
        : { _tag: "Set", body: budget },
  })
}
