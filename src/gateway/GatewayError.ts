import { Schema } from "effect"
import { FailedAttempt } from "../shared/UpstreamFailure.js"

/** The caller sent something we cannot serve (bad JSON, missing model, wrong shape). */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  message: Schema.String,
  param: Schema.optional(Schema.String),
  code: Schema.optional(Schema.String),
}) {}

/** Every candidate of the plan failed before commit. */
export class AllUpstreamsFailed extends Schema.TaggedError<AllUpstreamsFailed>()("AllUpstreamsFailed", {
  model: Schema.String,
  attempts: Schema.Number,
  lastStatus: Schema.optional(Schema.Number),
  lastError: Schema.String,
  retryAfterMs: Schema.optional(Schema.Number),
  /** Every upstream call of the walk, and every candidate passed over, in order. */
  failedAttempts: Schema.Array(FailedAttempt),
}) {}

/** Every upstream of the model is cooling down (circuits open). */
export class UpstreamsCoolingDown extends Schema.TaggedError<UpstreamsCoolingDown>()("UpstreamsCoolingDown", {
  model: Schema.String,
  retryAfterMs: Schema.optional(Schema.Number),
}) {}

/** Every key that could serve the model has used its `max_qps` for this second. */
export class UpstreamCapacityExhausted extends Schema.TaggedError<UpstreamCapacityExhausted>()(
  "UpstreamCapacityExhausted",
  {
    model: Schema.String,
    retryAfterMs: Schema.Number,
  },
) {}
