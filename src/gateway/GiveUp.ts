import {
  type FailedAttempt,
  type UpstreamFailure,
  UpstreamStatusError,
  UpstreamTransportError,
} from "../shared/UpstreamFailure.js"
import { AllUpstreamsFailed, InvalidRequest, UpstreamCapacityExhausted, UpstreamsCoolingDown } from "./GatewayError.js"
import type { Skip, SkipReason, Walk } from "./RequestWalk.js"

/** What the client is told once a walk is over without an answer. */
export type GiveUpError =
  | UpstreamFailure
  | UpstreamCapacityExhausted
  | AllUpstreamsFailed
  | UpstreamsCoolingDown
  | InvalidRequest

/** The client's error once the walk is over, chosen from the walk's record alone. */
export const giveUpError = (walk: Walk): GiveUpError => {
  const { last } = walk
  if (last === undefined) return nothingSentError(walk)
  // An answer retrying cannot change (a client error) is the provider's own, as it is.
  if (walk.lastVerdict?._tag === "Fatal") return last
  const failedAttempts = walk.failures ?? []
  // The provider's own answer is the most useful error: its status, message and Retry-After.
  if (last._tag === "UpstreamStatusError" && walk.lastVerdict?._tag !== "RotateKey")
    return listing(last, failedAttempts)
  // Nothing answered in time: a timeout (504) says more than "failed" (502).
  if (walk.onlyTimeouts) return listing(last, failedAttempts)
  return new AllUpstreamsFailed({
    model: walk.request.model,
    attempts: walk.attempts,
    lastError: last.message,
    ...(last._tag === "UpstreamStatusError" ? { lastStatus: last.status, retryAfterMs: last.retryAfterMs } : {}),
    failedAttempts,
  })
}

/** The last failure again, with every failed attempt of the walk for the client's error. */
const listing = (last: UpstreamFailure, failedAttempts: ReadonlyArray<FailedAttempt>): UpstreamFailure =>
  last._tag === "UpstreamStatusError"
    ? new UpstreamStatusError({
        provider: last.provider,
        model: last.model,
        status: last.status,
        message: last.message,
        errorType: last.errorType,
        errorCode: last.errorCode,
        errorParam: last.errorParam,
        retryAfterMs: last.retryAfterMs,
        failedAttempts,
      })
    : new UpstreamTransportError({
        provider: last.provider,
        model: last.model,
        reason: last.reason,
        message: last.message,
        failedAttempts,
      })

/** Every candidate was passed over without a call: why, and when to come back. */
const nothingSentError = (walk: Walk): GiveUpError => {
  const model = walk.request.model
  const skips = walk.skips ?? []
  const waits = (reason: SkipReason) =>
    skips.filter((s) => s.reason === reason && s.waitMs !== undefined).map((s) => s.waitMs!)
  const said = waits("retry_after")
  if (said.length > 0) {
    // The provider said when to come back: the client hears it (429 + Retry-After), not a 503.
    const first = skips.find((s) => s.reason === "retry_after")!.planned.candidate
    return new UpstreamStatusError({
      provider: first.provider.id,
      model: first.model,
      status: 429,
      message: `The provider asked to wait before the next request for model '${model}'; retry after the time given`,
      errorType: "rate_limit_error",
      errorCode: "rate_limit_exceeded",
      retryAfterMs: Math.min(...said),
    })
  }
  // No candidate can take what the client sent (a field, tool or part only another dialect has):
  // no retry can help, a 400 naming it can.
  const inexpressible = skips.find((s) => s.reason === "inexpressible")
  const refusal = (inexpressible ?? skips.find((s) => s.message !== undefined))?.message
  if (refusal !== undefined && skips.every((s) => s.reason === "unsupported" || s.reason === "inexpressible")) {
    const message = `No upstream of model '${model}' can take this request: ${refusal}`
    return new InvalidRequest(inexpressible === undefined ? { message } : { message, code: "unsupported_feature" })
  }
  if (skips.some((s) => s.reason === "max_qps")) {
    const qps = waits("max_qps")
    return new UpstreamCapacityExhausted({ model, retryAfterMs: qps.length > 0 ? Math.min(...qps) : 1000 })
  }
  const cannotTake = (s: Skip) =>
    s.reason === "unsupported" || s.reason === "inexpressible" || s.reason === "no_keys" || s.reason === "too_long"
  if (skips.length > 0 && skips.every(cannotTake)) {
    return new AllUpstreamsFailed({
      model,
      attempts: 0,
      lastError: "no upstream of the model can take this request",
      failedAttempts: walk.failures ?? [],
    })
  }
  const other = [...waits("key_backoff"), ...waits("circuit")]
  return new UpstreamsCoolingDown({
    model,
    retryAfterMs: other.length > 0 ? Math.min(...other) : walk.plan.retryAfterMs,
  })
}
