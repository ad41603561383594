import { timingSafeEqual } from "node:crypto"
import { Config, Duration, Effect, Option, Redacted, Schema, Stream } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { Secrets } from "../crypto/Secrets.js"
import { budgetOfColumns } from "../shared/Budget.js"
import { durationConfig } from "../shared/DurationConfig.js"
import { type ApiKeyAuthRow, ApiKeyRepository } from "../storage/ApiKeyRepository.js"
import { Kv } from "../storage/Kv.js"
import type { Principal } from "./Principal.js"

export class AuthError extends Schema.TaggedError<AuthError>()("AuthError", {
  status: Schema.Literal(401, 403),
  message: Schema.String,
}) {}

/**
 * A credential could not be checked because the store that holds it is unreachable: the client
 * should retry (503), its credential was not found wrong.
 */
export class StoreUnavailable extends Schema.TaggedError<StoreUnavailable>()("StoreUnavailable", {
  message: Schema.String,
}) {}

/**
 * How long a key verified before the database became unreachable keeps being served from the
 * cache (its last known state) while the database stays unreachable. `0s` turns it off.
 */
export const apiKeyStaleMax = durationConfig("API_KEY_STALE_MAX").pipe(Config.withDefault(Duration.minutes(15)))

/**
 * How long a verdict is taken from the cache before the database is asked again. A short backstop:
 * revocation normally reaches every instance through AUTH_INVALIDATE_CHANNEL at once.
 */
export const apiKeyCacheTtl = durationConfig("API_KEY_CACHE_TTL").pipe(Config.withDefault(Duration.seconds(30)))

/** Channel on which any instance announces that cached key verdicts must be dropped. */
export const AUTH_INVALIDATE_CHANNEL = "auth:invalidate"

/** A lookup that may fall back on a cached verdict waits this long for the database. */
const STALE_LOOKUP_TIMEOUT = Duration.seconds(1)
/** Any other lookup: past this the key cannot be checked (503) rather than the client waiting on. */
const LOOKUP_TIMEOUT = Duration.seconds(5)
/** After a failed lookup, cached verdicts are served without asking the database for this long. */
const RETRY_DATABASE_MS = 1_000

interface Cached {
  readonly row: ApiKeyAuthRow | undefined
  readonly cachedAt: number
}

const equalSecrets = (a: string, b: string): boolean => {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}

const toPrincipal = (row: ApiKeyAuthRow): Principal => {
  const allowed = typeof row.allowed === "string" ? (JSON.parse(row.allowed) as Array<string>) : (row.allowed ?? [])
  return {
    kind: "api_key",
    userId: row.user_id,
    username: row.username,
    isSuperuser: row.is_superuser,
    apiKeyId: row.id,
    allowedProviderIds: row.has_provider_restrictions ? allowed : null,
    limits: { requestsPerMinute: row.requests_per_minute, tokensPerMinute: row.tokens_per_minute },
    ...budgetsOf(row),
    ...(row.log_bodies ? { logBodies: true } : {}),
  }
}

/** The key's and its user's budgets, as the principal carries them: left out when neither has one (the usual case costs nothing). */
const budgetsOf = (row: ApiKeyAuthRow): Pick<Principal, "budgets"> => {
  const key = budgetOfColumns(row.key_budget_nanousd, row.key_budget_period, row.key_budget_soft)
  const user = budgetOfColumns(row.user_budget_nanousd, row.user_budget_period, row.user_budget_soft)
  return key === undefined && user === undefined ? {} : { budgets: { key, user } }
}

/**
 * Verifies client API keys: HMAC hash lookup (never the plaintext), a short in-memory cache in
 * front of Postgres, dropped on every instance when a key or user changes. While the database is
 * unreachable, a verdict cached less than API_KEY_STALE_MAX ago is served as the key's last known
 * state; a key that cannot be checked fails with `StoreUnavailable` (503), not as invalid (401).
 */
export class ApiKeyAuth extends Effect.Service<ApiKeyAuth>()("gateway/identity/ApiKeyAuth", {
  scoped: Effect.gen(function* () {
    const config = yield* AppConfig
    const secrets = yield* Secrets
    const repository = yield* ApiKeyRepository
    const kv = yield* Kv
    const cache = new Map<string, Cached>()
    const staleMaxMs = Duration.toMillis(yield* apiKeyStaleMax)
    const cacheTtlMs = Duration.toMillis(yield* apiKeyCacheTtl)
    /** Until when cached verdicts are served without a lookup (the database just failed one). */
    let databaseDownUntil = 0
    let databaseDown = false

    // Subscribed before the service is handed out, so no invalidation published afterwards is missed.
    const invalidations = yield* kv.subscribeScoped(AUTH_INVALIDATE_CHANNEL)
    yield* invalidations.pipe(
      Stream.runForEach(() => Effect.sync(() => cache.clear())),
      Effect.forkScoped,
    )

    const masterKey = Option.map(config.masterKey, Redacted.value)
    const master: Principal = {
      kind: "master_key",
      userId: null,
      username: "master",
      isSuperuser: true,
      apiKeyId: null,
      allowedProviderIds: null,
      limits: { requestsPerMinute: null, tokensPerMinute: null },
    }

    const lookup = (token: string) => repository.findForAuth(secrets.apiKeyHashCandidates(token).map((h) => h.hash))

    const cannotVerify = new StoreUnavailable({
      message: "API key could not be verified: the key store is unavailable, retry shortly",
    })

    /** The database failed a lookup: cached verdicts stand in for it (logged once per outage). */
    const lookupFailed = Effect.fnUntraced(function* (reason: string, stale: Cached | undefined) {
      databaseDownUntil = Date.now() + RETRY_DATABASE_MS
      if (!databaseDown) {
        databaseDown = true
        yield* Effect.logError(
          "API key lookup failed: serving keys verified in the last API_KEY_STALE_MAX from the cache, others get 503",
        ).pipe(Effect.annotateLogs({ reason, staleMax: Duration.format(Duration.millis(staleMaxMs)) }))
      }
      if (stale === undefined) return yield* cannotVerify
      return stale.row
    })

    /** The key's row from the database, or its last known state while the database is unreachable. */
    const lookupOrStale = Effect.fnUntraced(function* (
      token: string,
      cacheKey: string,
      hit: Cached | undefined,
      now: number,
    ) {
      const stale = hit !== undefined && now - hit.cachedAt < staleMaxMs ? hit : undefined
      if (stale !== undefined && now < databaseDownUntil) return stale.row
      const found = yield* lookup(token).pipe(
        Effect.timeoutFail({
          duration: stale === undefined ? LOOKUP_TIMEOUT : STALE_LOOKUP_TIMEOUT,
          onTimeout: () => ({ message: "timed out" }),
        }),
        Effect.either,
      )
      if (found._tag === "Left") return yield* lookupFailed(found.left.message, stale)
      if (databaseDown) {
        databaseDown = false
        yield* Effect.logInfo("API key lookups answered again: the database is reachable")
      }
      if (cache.size > 10_000) cache.clear()
      cache.set(cacheKey, { row: found.right, cachedAt: now })
      return found.right
    })

    const masterVerified = Effect.succeed(master)

    /** An API key: from the cache while its verdict is fresh, else looked up. */
    const verifyApiKey = Effect.fnUntraced(function* (token: string) {
      const now = Date.now()
      const cacheKey = secrets.hashApiKey(token).hash
      const hit = cache.get(cacheKey)
      const row =
        hit !== undefined && now - hit.cachedAt < cacheTtlMs ? hit.row : yield* lookupOrStale(token, cacheKey, hit, now)
      if (row === undefined || !row.is_active) return yield* new AuthError({ status: 401, message: "Invalid API key" })
      if (row.expires_at !== null && new Date(row.expires_at).getTime() <= now) {
        return yield* new AuthError({ status: 401, message: "API key expired" })
      }
      if (!row.user_active) return yield* new AuthError({ status: 403, message: "API key owner is inactive" })
      return toPrincipal(row)
    })

    /** The caller behind `token`. The master key (a pure comparison) is answered without a generator: it is the hot path's first step. */
    const verify = (token: string): Effect.Effect<Principal, AuthError | StoreUnavailable> =>
      Option.isSome(masterKey) && equalSecrets(token, masterKey.value) ? masterVerified : verifyApiKey(token)

    /** Drops every cached verdict here and on every other instance. */
    const invalidate = Effect.sync(() => cache.clear()).pipe(
      Effect.zipRight(kv.publish(AUTH_INVALIDATE_CHANNEL, "*")),
      // Other instances then fall back on the cache TTL: say so, never fail the change itself.
      Effect.catchAll((error) =>
        Effect.logWarning("could not announce an API-key change to other instances").pipe(
          Effect.annotateLogs("reason", error.message),
        ),
      ),
    )

    return { verify, invalidate } as const
  }),
  dependencies: [ApiKeyRepository.Default],
}) {}
