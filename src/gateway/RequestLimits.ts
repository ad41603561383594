import type { RetryConfig } from "../routing/RetryPolicy.js"
import type { LogicalModelPolicy } from "../shared/LogicalModelPolicy.js"

/**
 * The limits one request runs under: the gateway's defaults (AppConfig), overridden by its
 * logical model's policy (`timeouts`, `retries`, `rescue` in the providers file).
 */
export interface RequestLimits {
  /** A stream's time to its first token, the wait for headers included. */
  readonly firstTokenMs: number
  /** Longest silence inside a streamed body; `undefined`: UPSTREAM_IDLE_TIMEOUT. */
  readonly idleMs: number | undefined
  /** The whole request, retries and fallbacks included. */
  readonly deadlineMs: number
  readonly retry: RetryConfig
  /** Continuations a broken stream may get (0: no mid-stream rescue). */
  readonly rescues: number
}

const seconds = (value: number | undefined): number | undefined =>
  value === undefined ? undefined : Math.round(value * 1000)

/** `defaults` with the policy's overrides; `defaults` itself when the policy sets nothing. */
export const limitsFor = (defaults: RequestLimits, policy: LogicalModelPolicy): RequestLimits => {
  if (policy.timeouts === undefined && policy.retries === undefined && policy.rescue === undefined) return defaults
  const t = policy.timeouts
  return {
    firstTokenMs: seconds(t?.first_token) ?? defaults.firstTokenMs,
    idleMs: seconds(t?.idle) ?? defaults.idleMs,
    deadlineMs: seconds(t?.request) ?? defaults.deadlineMs,
    retry: policy.retries === undefined ? defaults.retry : { ...defaults.retry, maxRetries: policy.retries },
    rescues: policy.rescue === false ? 0 : defaults.rescues,
  }
}
