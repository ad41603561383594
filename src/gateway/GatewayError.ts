import { Schema } from "effect"

/** The caller sent something we cannot serve (bad JSON, missing model, wrong shape). */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  message: Schema.String,
  param: Schema.optional(Schema.String),
  code: Schema.optional(Schema.String),
}) {}

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

/** Every candidate of the plan failed before commit. */
export class AllUpstreamsFailed extends Schema.TaggedError<AllUpstreamsFailed>()("AllUpstreamsFailed", {
  model: Schema.String,
  attempts: Schema.Number,
  lastStatus: Schema.optional(Schema.Number),
  lastError: Schema.String,
  retryAfterMs: Schema.optional(Schema.Number),
}) {}

export type UpstreamFailure = UpstreamStatusError | UpstreamTransportError
