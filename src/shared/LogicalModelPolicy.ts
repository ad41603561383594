import { Option, Schema } from "effect"
import { expecting, storedJson } from "./SchemaText.js"

/**
 * How the gateway treats requests for one logical model, where it differs from the defaults
 * (issue 12 item 4): its own time limits, retries and mid-stream rescue. One shape everywhere —
 * the providers file's keys, the `logical_models.policy` JSON column, the management API's
 * fields and the registry's view — so a new setting is one edit here (docs/ARCHITECTURE.md,
 * "Timeouts").
 */

/** Seconds: more than 0, at most a day. */
const Seconds = expecting(
  Schema.Number.pipe(Schema.finite(), Schema.positive(), Schema.lessThanOrEqualTo(86_400)),
  "expected a number of seconds > 0 (at most 86400)",
)

export const PolicyTimeouts = Schema.Struct({
  /** A stream's time to its first token, the wait for headers included. */
  first_token: Schema.optionalWith(Seconds, { exact: true }),
  /** Longest silence inside a streamed body. */
  idle: Schema.optionalWith(Seconds, { exact: true }),
  /** The whole request, every retry and fallback included. */
  request: Schema.optionalWith(Seconds, { exact: true }),
})

export const PolicyFields = {
  timeouts: Schema.optionalWith(PolicyTimeouts, { exact: true }),
  /** Retries of the same upstream after a transient failure (0 to 5). */
  retries: Schema.optionalWith(
    expecting(Schema.Number.pipe(Schema.int(), Schema.between(0, 5)), "expected a whole number from 0 to 5"),
    { exact: true },
  ),
  /** Continue a stream that broke after commit (default true; the gateway's MIDSTREAM_RESCUES caps it). */
  rescue: Schema.optionalWith(expecting(Schema.Boolean, "expected true or false"), { exact: true }),
}

export const LogicalModelPolicy = Schema.Struct(PolicyFields)
export type LogicalModelPolicy = typeof LogicalModelPolicy.Type

/** The policy part of an object that carries the policy fields among others. */
export const policyOf = (value: {
  readonly timeouts?: LogicalModelPolicy["timeouts"]
  readonly retries?: number
  readonly rescue?: boolean
}): LogicalModelPolicy => ({
  ...(value.timeouts === undefined ? {} : { timeouts: value.timeouts }),
  ...(value.retries === undefined ? {} : { retries: value.retries }),
  ...(value.rescue === undefined ? {} : { rescue: value.rescue }),
})

const decodeStored = Schema.decodeUnknownOption(LogicalModelPolicy)

/** A stored policy (JSON column); anything unreadable reads as no overrides. */
export const policyFromStored = (value: unknown): LogicalModelPolicy =>
  Option.getOrElse(decodeStored(storedJson(value)), () => ({}))
