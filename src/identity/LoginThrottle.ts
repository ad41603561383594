import { Duration, Effect, Schema } from "effect"
import { createHash } from "node:crypto"
import { AppConfig } from "../config/AppConfig.js"
import { Kv } from "../storage/Kv.js"

/** How long failed logins are remembered (from the first one). */
const WINDOW = Duration.minutes(15)

export class TooManyLoginAttempts extends Schema.TaggedError<TooManyLoginAttempts>()("TooManyLoginAttempts", {
  message: Schema.String,
  retryAfterMs: Schema.Number,
}) {}

/**
 * Slows down password guessing: after LOGIN_MAX_FAILURES failed logins for one account from one
 * client address, that address may not try the account again until WINDOW after the first
 * failure; a successful login clears the count. LOGIN_MAX_FAILURES=0 turns this off. Counted in Kv, so every instance sees the same count; keyed
 * by a hash of the login (no user names in the store) and the address, so a guesser cannot lock
 * the account's owner out from elsewhere. Without the store the check is skipped (logged).
 */
export class LoginThrottle extends Effect.Service<LoginThrottle>()("gateway/identity/LoginThrottle", {
  effect: Effect.gen(function* () {
    const kv = yield* Kv
    const maxFailures = (yield* AppConfig).loginMaxFailures
    const keyOf = (login: string, address: string) =>
      `login:failures:${createHash("sha256").update(login.toLowerCase()).digest("hex").slice(0, 32)}:${address}`
    const failOpen = (operation: string) => (error: { readonly message: string }) =>
      Effect.logWarning("login throttle store unavailable").pipe(Effect.annotateLogs({ operation, error: error.message }))

    const checkCount = Effect.fnUntraced(
      function* (key: string) {
        const failures = Number((yield* kv.get(key)) ?? 0)
        if (failures < maxFailures) return
        const remainingMs = (yield* kv.ttl(key)) ?? Duration.toMillis(WINDOW)
        return yield* new TooManyLoginAttempts({
          message: `Too many failed logins; try again in ${Math.ceil(remainingMs / 1000)} seconds`,
          retryAfterMs: remainingMs,
        })
      },
      Effect.catchTag("KvError", failOpen("check")),
    )

    /** Fails when this address has used up its attempts for this login. */
    const check = (login: string, address: string): Effect.Effect<void, TooManyLoginAttempts> =>
      maxFailures === 0 ? Effect.void : checkCount(keyOf(login, address))

    const failed = (login: string, address: string): Effect.Effect<void> =>
      maxFailures === 0 ? Effect.void : kv.incr(keyOf(login, address), 1, WINDOW).pipe(Effect.asVoid, Effect.catchAll(failOpen("count")))

    const succeeded = (login: string, address: string): Effect.Effect<void> =>
      kv.del(keyOf(login, address)).pipe(Effect.catchAll(failOpen("clear")))

    return { check, failed, succeeded } as const
  }),
}) {}
