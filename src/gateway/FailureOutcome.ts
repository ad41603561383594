import type { AttemptOutcome } from "../routing/RetryPolicy.js"
import { redactText } from "../shared/Redaction.js"
import type { FailedAttempt, UpstreamFailure } from "../shared/UpstreamFailure.js"

/** A failure of nothing but time: a walk of only these ends with the timeout itself (504). */
export const isTimeout = (failure: UpstreamFailure): boolean =>
  failure._tag === "UpstreamTransportError" &&
  (failure.reason === "headers_timeout" ||
    failure.reason === "first_token_timeout" ||
    failure.reason === "idle_timeout")

const transportKind = (reason: string): "connect" | "reset" | "timeout" | "other" =>
  reason === "connect"
    ? "connect"
    : reason === "reset" || reason === "truncated"
      ? "reset"
      : reason === "headers_timeout" || reason === "first_token_timeout"
        ? "timeout"
        : "other"

/** A failed call as the request log names it: `http` (its status says which), or the transport failure's reason. */
export const attemptOutcomeOf = (failure: UpstreamFailure): string =>
  failure._tag === "UpstreamStatusError" ? "http" : failure.reason

/** The upstream's status of a failed call, when it answered with one. */
export const attemptStatusOf = (failure: UpstreamFailure): number | null =>
  failure._tag === "UpstreamStatusError" ? failure.status : null

/** An upstream failure as RetryPolicy classifies it. */
export const outcomeOf = (failure: UpstreamFailure): AttemptOutcome =>
  failure._tag === "UpstreamStatusError"
    ? {
        _tag: "HttpError",
        status: failure.status,
        errorCode: failure.errorCode,
        errorType: failure.errorType,
        message: failure.message,
        retryAfterMs: failure.retryAfterMs,
      }
    : {
        _tag: "TransportError",
        kind: transportKind(failure.reason),
        message: failure.message,
        // UpstreamClient says "upstream unreachable" for a connection that failed before any
        // response byte (refused, reset, DNS, TLS); a body that broke later is the model's answer.
        beforeResponse:
          failure.reason === "connect" ||
          (failure.reason === "reset" && failure.message.startsWith("upstream unreachable")),
      }

/** The longest message of one failed attempt in the client's error. */
const ATTEMPT_MESSAGE_MAX = 200

/** A message short enough for a list of attempts, with anything that looks like a credential redacted. */
export const attemptMessage = (message: string): string => {
  const safe = redactText(message)
  return safe.length <= ATTEMPT_MESSAGE_MAX ? safe : `${safe.slice(0, ATTEMPT_MESSAGE_MAX - 1)}…`
}

/** A failed call as the client's error lists it (built on the failure path only). */
export const failedAttemptOf = (provider: string, model: string, failure: UpstreamFailure): FailedAttempt => ({
  provider,
  model,
  outcome: attemptOutcomeOf(failure),
  status: attemptStatusOf(failure),
  message: attemptMessage(failure.message),
})
