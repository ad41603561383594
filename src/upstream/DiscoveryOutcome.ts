import { Cause, Duration, Option, Schema } from "effect"
import { kvRecord } from "../storage/KvRecord.js"

/**
 * The last model discovery of a provider (`ModelCatalog`), kept in Kv so every instance answers
 * the same (`GET /providers/{id}/metrics`, its `discovery`): when it ran, how many models the
 * provider listed, or why it failed. The message is the upstream client's, whose key is already
 * redacted (`statusErrorOf`), bounded here.
 */
export const DiscoveryOutcome = Schema.Struct({
  /** Epoch milliseconds. */
  at: Schema.Number,
  /** Models listed; null when it failed. */
  models: Schema.NullOr(Schema.Number),
  error: Schema.NullOr(Schema.String),
})
export type DiscoveryOutcome = typeof DiscoveryOutcome.Type

export const { decode: decodeDiscoveryOutcome, encode: encodeDiscoveryOutcome } = kvRecord(DiscoveryOutcome)

export const discoveryOutcomeKey = (providerId: string) => `models:discovery:${providerId}`

/** Kept long past any cache TTL: "the last result" stays readable while nothing asks again. */
export const DISCOVERY_OUTCOME_TTL = Duration.days(30)

/** The longest error message kept. */
const MAX_MESSAGE = 300

const bounded = (text: string): string => (text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text)

/**
 * Why a discovery failed, in one line: the provider's status and message, a transport failure's
 * message, a timeout, or an answer that was not a model list (a defect: `JSON.parse` threw).
 */
export const discoveryFailure = (cause: Cause.Cause<unknown>, timeout: Duration.Duration): string => {
  const failure = Cause.failureOption(cause)
  if (Option.isNone(failure)) return "the answer is not a model list"
  const error = failure.value as { readonly _tag?: unknown; readonly status?: unknown; readonly message?: unknown }
  if (error._tag === "TimeoutException") return `no answer within ${Duration.format(timeout)}`
  const message = typeof error.message === "string" && error.message !== "" ? error.message : String(error._tag)
  return bounded(
    error._tag === "UpstreamStatusError" && typeof error.status === "number"
      ? `HTTP ${error.status}: ${message}`
      : message,
  )
}
