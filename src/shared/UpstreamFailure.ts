import { Schema } from "effect"

/**
 * How one upstream attempt failed. The upstream client raises these when a provider answers
 * with an error or the connection fails; the gateway raises them too when a committed stream
 * breaks (`gateway/StreamCommit.ts`), and classifies both for retry and failover. They live in
 * `shared/` so that `upstream/` and `gateway/` can both import them without one reaching into
 * the other (docs/ARCHITECTURE.md, "Layering").
 */

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
}) {}

/** No usable answer: connection refused or reset, timeout, or a body that is not what was promised. */
export class UpstreamTransportError extends Schema.TaggedError<UpstreamTransportError>()("UpstreamTransportError", {
  provider: Schema.String,
  model: Schema.String,
  reason: Schema.Literal("connect", "reset", "headers_timeout", "first_token_timeout", "idle_timeout", "malformed", "truncated"),
  message: Schema.String,
}) {}

export type UpstreamFailure = UpstreamStatusError | UpstreamTransportError
