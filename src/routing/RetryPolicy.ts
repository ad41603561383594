/**
 * What to do after a failed attempt, and the schedules that drive the gateway's retry and
 * failover program (docs/ARCHITECTURE.md, "Request pipeline" step 4 and "Failure state").
 *
 * `classify` turns an attempt outcome into a verdict:
 * - `Retryable`   transient (5xx, 408, 429, connection errors, timeouts): retry the same candidate
 *                 a bounded number of times with backoff (≥ Retry-After), then fail over. Penalised.
 *                 A silent upstream (no headers or no first token in time, reason `timeout`) is
 *                 not retried on the same candidate: the next one is tried at once.
 * - `RotateKey`   the provider rejected the key (401, 403, 402): back the key off, try another
 *                 key of the same provider, then fail over. The provider is not penalised.
 * - `FailoverNow` this upstream cannot serve the request but another may (404 model, capability
 *                 mismatch, 501, context_length_exceeded — then never the same model again):
 *                 next candidate, no retry, not penalised.
 * - `Fatal`       retrying anywhere cannot help (content policy, other client 4xx): relay the
 *                 upstream status and body to the client. Client-caused errors are never penalised.
 *
 * A provider's `retryableStatus` overrides the default status rule: a listed status is
 * retryable, an unlisted one is not (a non-retryable upstream 5xx is relayed, and penalised).
 *
 * The program (`retryAndFailover`): each candidate is retried on `retrySchedule` (jittered
 * exponential backoff, never shorter than Retry-After, a retry cap, the request's deadline and
 * attempt cap); when a candidate is given up, `failoverSchedule` moves to the next one (at once,
 * within the same deadline and attempt cap), unless the failure was `Fatal`.
 */
import { Clock, Duration, Effect, Schedule } from "effect"
import type { Provider } from "../registry/Provider.js"

export type TransportErrorKind = "connect" | "dns" | "reset" | "tls" | "timeout" | "other"

export type AttemptOutcome =
  | {
      readonly _tag: "HttpError"
      readonly status: number
      /** `error.code` of an OpenAI-style body, or the equivalent field of the dialect. */
      readonly errorCode?: string | undefined
      /** `error.type` (OpenAI/Anthropic) or `error.status` (Gemini). */
      readonly errorType?: string | undefined
      readonly message?: string | undefined
      /** Parsed from Retry-After / retry-after-ms (see parseRetryAfter). */
      readonly retryAfterMs?: number | undefined
    }
  | {
      readonly _tag: "TransportError"
      readonly kind: TransportErrorKind
      readonly message?: string | undefined
      /** No byte of a response arrived (the connection itself failed). */
      readonly beforeResponse?: boolean | undefined
    }

export type VerdictReason =
  | "server_error"
  | "rate_limited"
  | "request_timeout"
  | "transport"
  | "key_rejected"
  | "model_not_found"
  | "capability_mismatch"
  | "not_implemented"
  | "context_length_exceeded"
  | "content_policy"
  | "client_error"
  | "not_retryable_by_config"
  | "timeout"
  | "unavailable"

export type Verdict =
  | { readonly _tag: "Retryable"; readonly reason: VerdictReason; readonly retryAfterMs: number | undefined }
  | { readonly _tag: "RotateKey"; readonly reason: "key_rejected"; readonly status: number }
  | { readonly _tag: "FailoverNow"; readonly reason: VerdictReason }
  | { readonly _tag: "Fatal"; readonly reason: VerdictReason; readonly status: number; readonly penalise: boolean }

/** Does this verdict count against the provider (metrics error rate, weight, circuit)? */
export const isPenalisable = (v: Verdict): boolean => v._tag === "Retryable" || (v._tag === "Fatal" && v.penalise)

/**
 * Is this a failure of the connection itself (refused, DNS, TLS, reset before any response byte)?
 * Those count against the provider; everything else is an answer about the model and counts
 * against the upstream (provider + model).
 */
export const isConnectionFailure = (o: AttemptOutcome): boolean =>
  o._tag === "TransportError" &&
  (o.kind === "connect" || o.kind === "dns" || o.kind === "tls" || (o.kind === "reset" && o.beforeResponse === true))

/**
 * How the key pool should treat the key used for the attempt; undefined: not the key's fault.
 * A rejected key (auth) is backed off for every model; the others are backed off for the model
 * the attempt asked for (providers rate-limit per model).
 */
export const keyFailureOf = (v: Verdict): KeyFailureKind | undefined => {
  switch (v._tag) {
    case "RotateKey":
      return "auth"
    case "Retryable":
      // A rate limit is the key's quota for the model, and a Retry-After is the provider saying
      // when to come back; a plain server error is the upstream's (its circuit handles it).
      return v.reason === "rate_limited" || v.retryAfterMs !== undefined ? "retryable" : undefined
    case "Fatal":
      return v.penalise ? "fatal" : undefined
    case "FailoverNow":
      return undefined
  }
}

export type KeyFailureKind = "retryable" | "fatal" | "auth"

const CONTEXT_LENGTH =
  /context[_ ]length|maximum context|context window|too many tokens|prompt is too long|input is too long|max_tokens.*exceed/i
const CONTENT_POLICY = /content[_ ]?(management )?polic|content[_ ]filter|safety (system|filter)|flagged|moderation/i
const CAPABILITY =
  /(does not|doesn't|do not) support|not supported|unsupported (parameter|value|content)|(tools?|vision|image|function[_ ]call(ing)?|audio) (is|are) not/i
const MODEL_NOT_FOUND = /\b(model|deployment)\b.*\b(not found|does not exist)|no such model|unknown model/i

const text = (o: Extract<AttemptOutcome, { _tag: "HttpError" }>): string =>
  [o.errorCode, o.errorType, o.message].filter((s) => s !== undefined).join(" ")

export const classify = (
  outcome: AttemptOutcome,
  provider: Pick<Provider, "retryableStatus"> | null = null,
): Verdict => {
  if (outcome._tag === "TransportError") {
    return { _tag: "Retryable", reason: outcome.kind === "timeout" ? "timeout" : "transport", retryAfterMs: undefined }
  }
  const { status } = outcome
  const override = provider?.retryableStatus ?? null
  const hasOverride = override !== null && override.length > 0
  if (hasOverride && override.includes(status)) {
    return { _tag: "Retryable", reason: statusReason(status), retryAfterMs: outcome.retryAfterMs }
  }
  const body = text(outcome)
  const code = (outcome.errorCode ?? "").toLowerCase()

  if (status >= 400 && status < 500) {
    // What retrying the same model cannot fix, whatever the status says: a model with a larger
    // context may (the caller never sends it to the same model again).
    if (code === "context_length_exceeded" || CONTEXT_LENGTH.test(body)) {
      return { _tag: "FailoverNow", reason: "context_length_exceeded" }
    }
    if (code === "content_policy_violation" || code === "content_filter" || CONTENT_POLICY.test(body)) {
      return { _tag: "Fatal", reason: "content_policy", status, penalise: false }
    }
    if (status === 401 || status === 403 || status === 402) {
      return { _tag: "RotateKey", reason: "key_rejected", status }
    }
    if (status === 404 || code === "model_not_found" || (status === 400 && MODEL_NOT_FOUND.test(body))) {
      return { _tag: "FailoverNow", reason: "model_not_found" }
    }
    if ((status === 400 || status === 422) && CAPABILITY.test(body)) {
      return { _tag: "FailoverNow", reason: "capability_mismatch" }
    }
  }

  if (hasOverride) {
    return { _tag: "Fatal", reason: "not_retryable_by_config", status, penalise: status >= 500 }
  }
  if (status === 501) return { _tag: "FailoverNow", reason: "not_implemented" }
  if (status === 408 || status === 429 || status >= 500) {
    return { _tag: "Retryable", reason: statusReason(status), retryAfterMs: outcome.retryAfterMs }
  }
  return { _tag: "Fatal", reason: "client_error", status, penalise: false }
}

const statusReason = (status: number): VerdictReason =>
  status === 429 ? "rate_limited" : status === 408 ? "request_timeout" : status >= 500 ? "server_error" : "client_error"

/**
 * Parses `retry-after-ms` (milliseconds) or `Retry-After` (delta-seconds or an HTTP date).
 * Values that cannot be parsed, or are negative, give undefined.
 */
export const parseRetryAfter = (header: (name: string) => string | undefined, now: number): number | undefined => {
  const ms = header("retry-after-ms")
  if (ms !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Math.round(Number(ms))
  const ra = header("retry-after")
  if (ra === undefined) return undefined
  if (/^\s*\d+(\.\d+)?\s*$/.test(ra)) return Math.round(Number(ra) * 1000)
  const date = Date.parse(ra)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - now)
}

export interface RetryConfig {
  /** Retries of the same candidate after the first attempt. */
  readonly maxRetries: number
  readonly baseDelayMs: number
  readonly factor: number
  /** Cap of the computed backoff (before Retry-After). */
  readonly maxDelayMs: number
  /** A Retry-After longer than this moves on to the next candidate instead of waiting. */
  readonly maxRetryAfterMs: number
  /** Upstream calls for one client request, all candidates and retries included. */
  readonly maxAttempts: number
}

export const defaultRetryConfig: RetryConfig = {
  maxRetries: 2,
  baseDelayMs: 200,
  factor: 2,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 10_000,
  maxAttempts: 8,
}

/** What an attempt's failure must carry for the schedules. */
export interface ClassifiedFailure {
  readonly verdict: Verdict
  /** Upstream calls the request has made so far, every candidate included (the attempt cap). */
  readonly attempts: number
  /**
   * The candidate's circuit is open after this failure (it opened it, or it was a failed probe):
   * it is not sent to again by this request. Never set in panic mode.
   */
  readonly circuitOpen?: boolean | undefined
}

const retryAfterOf = (v: Verdict): number => (v._tag === "Retryable" ? (v.retryAfterMs ?? 0) : 0)

/** Is this failure one the same candidate is asked again for (budget permitting)? */
export const retriesSameCandidate = (e: ClassifiedFailure): boolean =>
  e.verdict._tag === "Retryable" && e.verdict.reason !== "timeout" && e.circuitOpen !== true

const beforeDeadline = (deadline: number | undefined, delay: Duration.Duration) =>
  deadline === undefined
    ? Effect.succeed(true)
    : Effect.map(Clock.currentTimeMillis, (now) => now + Duration.toMillis(delay) < deadline)

/**
 * The per-candidate retry schedule: exponential backoff with jitter (0.8–1.2×), at most
 * `maxRetries` retries, only while the failure is one the same candidate is retried for
 * (`retriesSameCandidate`) and the request is under its attempt cap, never shorter than
 * Retry-After, and stopping (so the caller fails over) when the wait would pass `deadline`
 * (epoch ms, from Clock) or a Retry-After exceeds `maxRetryAfterMs`. Outputs the delay it is
 * about to wait.
 *
 *   attempt.pipe(Effect.retry(retrySchedule(config, deadline)))
 */
export const retrySchedule = <E extends ClassifiedFailure>(
  config: RetryConfig = defaultRetryConfig,
  deadline?: number,
): Schedule.Schedule<Duration.Duration, E> =>
  Schedule.exponential(Duration.millis(config.baseDelayMs), config.factor).pipe(
    Schedule.modifyDelay((_, d) => Duration.min(d, Duration.millis(config.maxDelayMs))),
    Schedule.jittered,
    // Whole milliseconds: timers have no finer grain, and fractional waits add up to clock
    // times like 1995.1230000000002 whose differences are not the delays that were waited.
    Schedule.modifyDelay((_, d) => Duration.millis(Math.round(Duration.toMillis(d)))),
    Schedule.intersect(Schedule.recurs(config.maxRetries)),
    Schedule.intersect(Schedule.identity<E>()),
    Schedule.whileInput((e: E) => retriesSameCandidate(e) && e.attempts < config.maxAttempts),
    Schedule.check((e: E) => retryAfterOf(e.verdict) <= config.maxRetryAfterMs),
    Schedule.modifyDelay(([, e], d) => Duration.max(d, Duration.millis(retryAfterOf(e.verdict)))),
    Schedule.delays,
    Schedule.checkEffect((_: E, delay: Duration.Duration) => beforeDeadline(deadline, delay)),
  )

/**
 * The failover schedule over `candidates` candidates: after a candidate is given up, the next one
 * is tried at once — unless the failure was `Fatal` (retrying anywhere cannot help), the request
 * reached its attempt cap, or its deadline passed.
 */
export const failoverSchedule = <E extends ClassifiedFailure>(
  candidates: number,
  config: RetryConfig = defaultRetryConfig,
  deadline?: number,
): Schedule.Schedule<number, E> =>
  Schedule.recurs(Math.max(0, candidates - 1)).pipe(
    Schedule.whileInput((e: E) => e.verdict._tag !== "Fatal" && e.attempts < config.maxAttempts),
    Schedule.checkEffect((_: E) => beforeDeadline(deadline, Duration.zero)),
  )

/**
 * The retry and failover program the gateway runs after a request's first failure:
 * `attempt(i)` tries candidate `i` once; candidates `first`, `first + 1`, … `candidates − 1` are
 * walked in order, each retried on `retrySchedule`, the walk moving on by `failoverSchedule`.
 * Fails with the last failure when every schedule is spent.
 */
export const retryAndFailover = <A, E extends ClassifiedFailure, R>(
  candidates: number,
  attempt: (candidate: number) => Effect.Effect<A, E, R>,
  config: RetryConfig = defaultRetryConfig,
  deadline?: number,
  first = 0,
): Effect.Effect<A, E, R> => {
  let index = first - 1
  const perCandidate = retrySchedule<E>(config, deadline)
  return Effect.retry(
    Effect.suspend(() => Effect.retry(attempt(++index), perCandidate)),
    failoverSchedule<E>(candidates - first, config, deadline),
  )
}
