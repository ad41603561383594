import { createHash } from "node:crypto"
import { Duration, Effect, Schema } from "effect"
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
 * failure; a successful login clears the count. LOGIN_MAX_FAILURES=0 turns this off.
 *
 * - Keyed by the account, not the spelling: the caller passes the resolved user id (or, for a
 *   login that names no account, the normalised login), so `bob` and `bob@example.com` share one
 *   count. Hashed (no user names in the store) and combined with the address, so a guesser cannot
 *   lock the account's owner out from elsewhere.
 * - Counted atomically: every attempt increments the count *before* the password is checked
 *   (`attempt`), and the increment's result decides, so concurrent guesses cannot all read a low
 *   count and pass together. A success deletes the count.
 * - Counted in Kv, so every instance sees the same count. Without the store the check is skipped
 *   (logged).
 */
export class LoginThrottle extends Effect.Service<LoginThrottle>()("gateway/identity/LoginThrottle", {
  effect: Effect.gen(function* () {
    const kv = yield* Kv
    const maxFailures = (yield* AppConfig).loginMaxFailures
    const keyOf = (account: string, address: string) =>
      `login:attempts:${createHash("sha256").update(account).digest("hex").slice(0, 32)}:${address}`
    const failOpen = (operation: string) => (error: { readonly message: string }) =>
      Effect.logWarning("login throttle store unavailable").pipe(
        Effect.annotateLogs({ operation, error: error.message }),
      )

    const reserve = Effect.fnUntraced(
      function* (key: string) {
        const attempts = yield* kv.incr(key, 1, WINDOW)
        if (attempts <= maxFailures) return
        const remainingMs = (yield* kv.ttl(key)) ?? Duration.toMillis(WINDOW)
        return yield* new TooManyLoginAttempts({
          message: `Too many failed logins; try again in ${Math.ceil(remainingMs / 1000)} seconds`,
          retryAfterMs: remainingMs,
        })
      },
      Effect.catchTag("KvError", failOpen("count")),
    )

    /**
     * Counts one attempt at `account` (a user id, or a normalised login naming no account) from
     * `address`; fails when this address has used up its attempts for the account.
     */
    const attempt = (account: string, address: string): Effect.Effect<void, TooManyLoginAttempts> =>
      maxFailures === 0 ? Effect.void : reserve(keyOf(account, address))

    const succeeded = (account: string, address: string): Effect.Effect<void> =>
      maxFailures === 0 ? Effect.void : kv.del(keyOf(account, address)).pipe(Effect.catchAll(failOpen("clear")))

    return { attempt, succeeded } as const
  }),
}) {}

/** The throttle's account for a login: the user's id, or the login itself (trimmed, lower case). */
export const throttleAccount = (userId: string | undefined, login: string): string =>
  userId !== undefined ? `user:${userId}` : `login:${login.trim().toLowerCase()}`
