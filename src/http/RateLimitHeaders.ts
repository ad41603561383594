import type { RateLimitState } from "../identity/RateLimit.js"

/**
 * A duration as OpenAI's `x-ratelimit-reset-*` headers write it (Go's notation): `250ms`,
 * `12.5s`, `1m0s`.
 */
export const resetText = (ms: number): string => {
  const whole = Math.max(0, Math.ceil(ms))
  if (whole < 1000) return `${whole}ms`
  const minutes = Math.floor(whole / 60_000)
  const seconds = `${(whole % 60_000) / 1000}s`
  return minutes === 0 ? seconds : `${minutes}m${seconds}`
}

/**
 * Adds a limited key's standing to an answer's headers, named as OpenAI names them:
 * `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, each pair only for a limit the key has.
 * Both windows are the same fixed minute, so both resets are the same.
 */
export const addRateLimitHeaders = (headers: Record<string, string | number>, state: RateLimitState): void => {
  const reset = resetText(state.resetMs)
  if (state.requests !== undefined) {
    headers["x-ratelimit-limit-requests"] = String(state.requests.limit)
    headers["x-ratelimit-remaining-requests"] = String(state.requests.remaining)
    headers["x-ratelimit-reset-requests"] = reset
  }
  if (state.tokens !== undefined) {
    headers["x-ratelimit-limit-tokens"] = String(state.tokens.limit)
    headers["x-ratelimit-remaining-tokens"] = String(state.tokens.remaining)
    headers["x-ratelimit-reset-tokens"] = reset
  }
}
