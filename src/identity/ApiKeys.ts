import { Clock, Effect, Option, Redacted } from "effect"
import { newApiToken, Secrets } from "../crypto/Secrets.js"
import type { Budget } from "../shared/Budget.js"
import { ApiKeyRepository, type ApiKeyRow } from "../storage/ApiKeyRepository.js"
import type { UniqueViolation } from "../storage/UserRepository.js"
import { ApiKeyAuth } from "./ApiKeyAuth.js"
import { InvalidInput, ResourceConflict, ResourceNotFound } from "./IdentityErrors.js"

export type { ApiKeyRow } from "../storage/ApiKeyRepository.js"

export type Expiry = "week" | "month" | "year" | "never"
/** A key's expiry as set: a lifetime from now, or an exact time (stored with the type `date`). */
export type ExpiryChoice = Expiry | Date

const DAY_MS = 24 * 60 * 60 * 1000
const LIFETIME_DAYS: Record<Exclude<Expiry, "never">, number> = { week: 7, month: 30, year: 365 }
/** The furthest an exact expiry may be: 100 years ahead (a typo such as 20255 is refused, not stored). */
export const MAX_EXPIRY_DAYS = 36_500

/** When a key with `expiry` set at `now` expires: 7, 30 or 365 days later, never (`null`), or the time given. */
export const expiresAt = (expiry: ExpiryChoice, now: Date): Date | null =>
  expiry instanceof Date ? expiry : expiry === "never" ? null : new Date(now.getTime() + LIFETIME_DAYS[expiry] * DAY_MS)

/** The stored `expiry_type`: the lifetime's name, or `date` for an exact time. */
export const expiryTypeOf = (expiry: ExpiryChoice): string => (expiry instanceof Date ? "date" : expiry)

/** Why an exact expiry cannot be set at `now` (it is not in the future, or too far), or `undefined`. */
export const expiryProblem = (expiry: ExpiryChoice, now: Date): string | undefined => {
  if (!(expiry instanceof Date)) return undefined
  if (expiry.getTime() <= now.getTime()) return "expires_at: expected a time in the future"
  if (expiry.getTime() > now.getTime() + MAX_EXPIRY_DAYS * DAY_MS)
    return `expires_at: expected at most ${MAX_EXPIRY_DAYS} days from now`
  return undefined
}

/** Characters of the token kept, in clear, to recognise a key in a list. */
export const KEY_PREFIX_LENGTH = 12

/**
 * An allow-list as given by a client: `null` is "every provider"; a list is trimmed,
 * de-duplicated and sorted, and an empty list stays empty: "no provider at all", never read as
 * "unrestricted".
 */
export const normaliseAllowList = (ids: ReadonlyArray<string> | null): ReadonlyArray<string> | null =>
  ids === null ? null : [...new Set(ids.map((id) => id.trim()).filter((id) => id !== ""))].sort()

export interface Limits {
  readonly requestsPerMinute?: number | null | undefined
  readonly tokensPerMinute?: number | null | undefined
  /** The key's spend limit; `null` (on a change) removes it. */
  readonly budget?: Budget | null | undefined
}

export interface NewApiKey extends Limits {
  readonly name: string
  /** The request log keeps the key's request and response bodies (default: no). */
  readonly logBodies?: boolean | undefined
  readonly expiry: ExpiryChoice
  /** Absent or `null`: every provider. `[]`: none. */
  readonly allowedProviderIds?: ReadonlyArray<string> | null | undefined
}

export interface ApiKeyChanges extends Limits {
  readonly name?: string | undefined
  readonly logBodies?: boolean | undefined
  /** A lifetime restarts the clock from now. */
  readonly expiry?: ExpiryChoice | undefined
  readonly isActive?: boolean | undefined
  /** Absent: unchanged. `null`: every provider. `[]`: none. */
  readonly allowedProviderIds?: ReadonlyArray<string> | null | undefined
}

const nameTaken = (_: UniqueViolation) =>
  new ResourceConflict({ message: "An API key with this name already exists for this user" })

/**
 * Client API keys of a user. The token is random, returned once by `create`, and stored only as
 * an HMAC hash plus its first characters. Every change that could narrow what a key may do is
 * followed by `ApiKeyAuth.invalidate`, awaited, which drops cached verdicts on every instance.
 */
export class ApiKeys extends Effect.Service<ApiKeys>()("gateway/identity/ApiKeys", {
  effect: Effect.gen(function* () {
    const repo = yield* ApiKeyRepository
    const secrets = yield* Secrets
    const auth = yield* ApiKeyAuth

    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

    const get = Effect.fn("ApiKeys.get")(function* (userId: string, keyId: string) {
      const found = yield* repo.get(userId, keyId)
      if (Option.isNone(found)) return yield* ResourceNotFound.of("API key", keyId)
      return found.value
    })

    const checkProviders = Effect.fn("ApiKeys.checkProviders")(function* (ids: ReadonlyArray<string> | null) {
      if (ids === null || ids.length === 0) return
      const missing = yield* repo.unknownProviders(ids)
      if (missing.length > 0) {
        return yield* new InvalidInput({
          message: `Unknown provider id(s): ${missing.join(", ")}`,
          details: { missing_provider_ids: missing },
        })
      }
    })

    const checkExpiry = Effect.fn("ApiKeys.checkExpiry")(function* (expiry: ExpiryChoice | undefined) {
      const at = yield* now
      const problem = expiry === undefined ? undefined : expiryProblem(expiry, at)
      if (problem !== undefined) return yield* new InvalidInput({ message: problem })
      return at
    })

    const create = Effect.fn("ApiKeys.create")(function* (userId: string, input: NewApiKey) {
      const allowed = normaliseAllowList(input.allowedProviderIds ?? null)
      yield* checkProviders(allowed)
      const at = yield* checkExpiry(input.expiry)
      const token = newApiToken()
      const { hash, version } = secrets.hashApiKey(token)
      const id = yield* repo
        .insert(
          {
            userId,
            name: input.name,
            keyHash: hash,
            keyVersion: version,
            keyPrefix: token.slice(0, KEY_PREFIX_LENGTH),
            expiryType: expiryTypeOf(input.expiry),
            expiresAt: expiresAt(input.expiry, at),
            requestsPerMinute: input.requestsPerMinute ?? null,
            tokensPerMinute: input.tokensPerMinute ?? null,
            budget: input.budget ?? null,
            logBodies: input.logBodies ?? false,
          },
          allowed,
        )
        .pipe(Effect.catchTag("UniqueViolation", (e) => Effect.fail(nameTaken(e))))
      const key = yield* get(userId, id)
      return { key, token: Redacted.make(token) } as const
    })

    const update = Effect.fn("ApiKeys.update")(function* (userId: string, keyId: string, changes: ApiKeyChanges) {
      yield* get(userId, keyId)
      const allowed =
        changes.allowedProviderIds === undefined ? undefined : normaliseAllowList(changes.allowedProviderIds)
      if (allowed !== undefined) yield* checkProviders(allowed)
      const at = yield* checkExpiry(changes.expiry)
      yield* repo
        .update(
          keyId,
          {
            name: changes.name,
            expiryType: changes.expiry === undefined ? undefined : expiryTypeOf(changes.expiry),
            expiresAt: changes.expiry === undefined ? undefined : expiresAt(changes.expiry, at),
            isActive: changes.isActive,
            requestsPerMinute: changes.requestsPerMinute,
            tokensPerMinute: changes.tokensPerMinute,
            budget: changes.budget,
            logBodies: changes.logBodies,
          },
          allowed,
        )
        .pipe(Effect.catchTag("UniqueViolation", (e) => Effect.fail(nameTaken(e))))
      yield* auth.invalidate
      return yield* get(userId, keyId)
    })

    const setAllowedProviders = (userId: string, keyId: string, ids: ReadonlyArray<string> | null) =>
      update(userId, keyId, { allowedProviderIds: ids })

    /** Removing the last provider leaves the key restricted to nothing, never unrestricted. */
    const removeAllowedProvider = Effect.fn("ApiKeys.removeAllowedProvider")(function* (
      userId: string,
      keyId: string,
      providerId: string,
    ) {
      const key = yield* get(userId, keyId)
      if (key.hasProviderRestrictions) yield* repo.removeAllowed(keyId, providerId)
      else {
        return yield* new InvalidInput({
          message: "This key is not restricted to providers; set an explicit allow-list instead of removing one",
        })
      }
      yield* auth.invalidate
      return yield* get(userId, keyId)
    })

    const remove = Effect.fn("ApiKeys.remove")(function* (userId: string, keyId: string) {
      yield* get(userId, keyId)
      yield* repo.remove(keyId)
      yield* auth.invalidate
    })

    return {
      get,
      list: repo.list,
      create,
      update,
      setAllowedProviders,
      removeAllowedProvider,
      remove,
    } as const
  }),
  dependencies: [ApiKeyRepository.Default],
}) {}

/** `null` when the key may use every provider, else its (possibly empty) allow-list. */
export const allowList = (key: ApiKeyRow): ReadonlyArray<string> | null =>
  key.hasProviderRestrictions ? key.allowedProviderIds : null
