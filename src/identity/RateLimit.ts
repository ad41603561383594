import { Clock, Effect, Schema } from "effect"
import { Kv } from "../storage/Kv.js"
import type { Principal } from "./Principal.js"

/**
 * Per-API-key limits: requests per minute and tokens per minute, counted in fixed one-minute
 * windows in Kv. An increment is one atomic command (Redis INCR), so every instance shares the
 * same counter; a counter expires with its window.
 */

/** One limit of a key in the current window: how many it allows and how many are left. */
const Allowance = Schema.Struct({ limit: Schema.Number, remaining: Schema.Number })

/**
 * Where a limited key stands in the current one-minute window, as counted by this request: its
 * requests and tokens allowance (absent: no such limit) and the time until the window ends. The
 * edge turns it into the `x-ratelimit-*` headers (http/RateLimitHeaders).
 */
export const RateLimitState = Schema.Struct({
  requests: Schema.optional(Allowance),
  tokens: Schema.optional(Allowance),
  resetMs: Schema.Number,
})
export type RateLimitState = typeof RateLimitState.Type

export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  message: Schema.String,
  retryAfterMs: Schema.Number,
  limit: Schema.Literal("requests_per_minute", "tokens_per_minute"),
  /** The key's standing, for the answer's `x-ratelimit-*` headers. */
  state: RateLimitState,
}) {}

export const WINDOW_MS = 60_000

/** Whether the principal's tokens are counted at all (a key with a tokens-per-minute limit). */
type LimitedPrincipal = Principal & { readonly apiKeyId: string }

/** An API key with a requests- or tokens-per-minute limit (the master key and unlimited keys are not). */
export const isLimited = (principal: Principal): principal is LimitedPrincipal =>
  principal.apiKeyId !== null &&
  (principal.limits.requestsPerMinute !== null || principal.limits.tokensPerMinute !== null)

export const countsTokens = (principal: Principal): boolean =>
  principal.apiKeyId !== null && principal.limits.tokensPerMinute !== null

/** The window containing `nowMs`, and the milliseconds until it ends. */
export const windowOf = (nowMs: number) => {
  const index = Math.floor(nowMs / WINDOW_MS)
  return { index, remainingMs: (index + 1) * WINDOW_MS - nowMs }
}

const requestsKey = (keyId: string, window: number) => `ratelimit:rpm:${keyId}:${window}`
const tokensKey = (keyId: string, window: number) => `ratelimit:tpm:${keyId}:${window}`
// A little longer than the window, so a slow clock on one instance still finds the counter.
const COUNTER_TTL = `${WINDOW_MS + 5_000} millis` as const

export class RateLimit extends Effect.Service<RateLimit>()("gateway/identity/RateLimit", {
  effect: Effect.gen(function* () {
    const kv = yield* Kv

    /**
     * Counts one request of the principal's key and fails with `RateLimited` when it goes over
     * the key's requests-per-minute, or when the tokens of this minute are already spent; else
     * where the key stands now. Keys without limits (and the master key) cost no Kv command.
     */
    const check = Effect.fnUntraced(function* (principal: LimitedPrincipal) {
      const { requestsPerMinute, tokensPerMinute } = principal.limits
      const window = windowOf(yield* Clock.currentTimeMillis)
      let tokens: { limit: number; remaining: number } | undefined
      if (tokensPerMinute !== null) {
        const used = Number((yield* kv.get(tokensKey(principal.apiKeyId, window.index))) ?? 0)
        tokens = { limit: tokensPerMinute, remaining: Math.max(0, tokensPerMinute - used) }
        if (used >= tokensPerMinute) {
          return yield* new RateLimited({
            message: `Rate limit reached: this API key may use ${tokensPerMinute} tokens per minute`,
            retryAfterMs: window.remainingMs,
            limit: "tokens_per_minute",
            state: { tokens, resetMs: window.remainingMs },
          })
        }
      }
      if (requestsPerMinute === null)
        return { tokens, resetMs: window.remainingMs } satisfies RateLimitState as RateLimitState
      const count = yield* kv.incr(requestsKey(principal.apiKeyId, window.index), 1, COUNTER_TTL)
      const requests = { limit: requestsPerMinute, remaining: Math.max(0, requestsPerMinute - count) }
      const state: RateLimitState =
        tokens === undefined
          ? { requests, resetMs: window.remainingMs }
          : { requests, tokens, resetMs: window.remainingMs }
      if (count > requestsPerMinute) {
        return yield* new RateLimited({
          message: `Rate limit reached: this API key may make ${requestsPerMinute} requests per minute`,
          retryAfterMs: window.remainingMs,
          limit: "requests_per_minute",
          state,
        })
      }
      return state
    })

    // Without the store the limit cannot be counted: serve the request rather than fail it (and
    // send no `x-ratelimit-*` headers). Keys without limits (most, and the master key) skip the
    // check's Effect entirely.
    const checkRequest = (principal: Principal): Effect.Effect<RateLimitState | undefined, RateLimited> =>
      isLimited(principal)
        ? check(principal).pipe(
            Effect.catchTag("KvError", (error) =>
              Effect.logWarning("rate limit not checked: KV store unavailable").pipe(
                Effect.annotateLogs("reason", error.message),
                Effect.as(undefined),
              ),
            ),
          )
        : Effect.succeed(undefined)

    /** Adds the tokens a finished request used to its key's current minute. */
    const recordTokens = Effect.fnUntraced(function* (principal: Principal, tokens: number) {
      if (!countsTokens(principal) || tokens <= 0) return
      const window = windowOf(yield* Clock.currentTimeMillis)
      yield* kv.incr(tokensKey(principal.apiKeyId!, window.index), Math.ceil(tokens), COUNTER_TTL)
    })

    return { checkRequest, recordTokens } as const
  }),
}) {}
