import { Schema } from "effect"

/**
 * How one upstream attempt failed. The upstream client raises these when a provider answers
 * with an error or the connection fails; the gateway raises them too when a committed stream
 * breaks (`gateway/StreamCommit.ts`), and classifies both for retry and failover. They live in
 * `shared/` so that `upstream/` and `gateway/` can both import them without one reaching into
 * the other (docs/ARCHITECTURE.md, "Layering").
 */

/**
 * One upstream call of a request that failed (or a candidate passed over without a call), as the
 * client's error lists it once every candidate failed: what the request log calls its outcome
 * (`http` with the status, a transport reason such as `connect`, or `skipped`), and a short
 * message with credentials redacted. Built only on the failure path.
 */
export const FailedAttempt = Schema.Struct({
  provider: Schema.String,
  model: Schema.String,
  outcome: Schema.String,
  status: Schema.NullOr(Schema.Number),
  message: Schema.String,
})
export type FailedAttempt = typeof FailedAttempt.Type

/** The failed attempts of a walk that gave up (see `FailedAttempt`); absent on errors of a single, final answer. */
const failedAttempts = Schema.optional(Schema.Array(FailedAttempt))

/** An upstream answered with an HTTP error; its status and message are kept for the client. */
export class UpstreamStatusError extends Schema.TaggedError<UpstreamStatusError>()("UpstreamStatusError", {
  provider: Schema.String,
  model: Schema.String,
  status: Schema.Number,
  message: Schema.String,
  errorType: Schema.optional(Schema.String),
  errorCode: Schema.optional(Schema.String),
  errorParam: Schema.optional(Schema.String),
  retryAfterMs: Schema.optional(Schema.Number),
  failedAttempts,
}) {}

/** No usable answer: connection refused or reset, timeout, or a body that is not what was promised. */
export class UpstreamTransportError extends Schema.TaggedError<UpstreamTransportError>()("UpstreamTransportError", {
  provider: Schema.String,
  model: Schema.String,
  reason: Schema.Literal(
    "connect",
    "reset",
    "headers_timeout",
    "first_token_timeout",
    "idle_timeout",
    "malformed",
    "truncated",
  ),
  message: Schema.String,
  failedAttempts,
}) {}

export type UpstreamFailure = UpstreamStatusError | UpstreamTransportError
