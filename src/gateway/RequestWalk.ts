import { Effect } from "effect"
import type { ProtocolError } from "../protocol/Canonical.js"
import type { Resolution } from "../routing/Candidates.js"
import type { NoAvailableKey } from "../routing/KeyPool.js"
import type { Plan, PlannedAttempt } from "../routing/Plan.js"
import type { ClassifiedFailure, Verdict } from "../routing/RetryPolicy.js"
import type { SessionRef } from "../routing/Router.js"
import { normalizeSessionId } from "../routing/Stickiness.js"
import type { FailedAttempt, UpstreamFailure } from "../shared/UpstreamFailure.js"
import type { ClientRequest, Exchange } from "./Exchange.js"
import { attemptMessage } from "./FailureOutcome.js"
import { InvalidRequest } from "./GatewayError.js"
import type { GatewayRequest, Served } from "./GatewayRequest.js"
import type { RequestLimits } from "./RequestLimits.js"

/**
 * Why a candidate was passed over without a call: its circuit is open (or its probe taken), every
 * key is backed off (by the gateway; or by the provider's Retry-After, in panic mode), every key
 * used its `max_qps`, it has no key or no endpoint for the dialect, its dialect cannot express the
 * request (ConversionLoss), it is a model that already
 * answered context_length_exceeded, or the request reached its attempt cap.
 */
export type SkipReason =
  | "circuit"
  | "key_backoff"
  | "retry_after"
  | "max_qps"
  | "no_keys"
  | "unsupported"
  | "inexpressible"
  | "too_long"
  | "cap"

export interface Skip {
  readonly planned: PlannedAttempt
  readonly reason: SkipReason
  readonly waitMs: number | undefined
  /** Why the candidate cannot take the request ("unsupported"), for the client when none can. */
  readonly message?: string | undefined
}

const skipVerdict: Verdict = { _tag: "FailoverNow", reason: "unavailable" }
const stopVerdict: Verdict = { _tag: "Fatal", reason: "client_error", status: 400, penalise: false }

/** One failed (or skipped) attempt, as the retry and failover schedules read it. */
export class AttemptFailed implements ClassifiedFailure {
  constructor(
    readonly verdict: Verdict,
    readonly attempts: number,
    readonly circuitOpen: boolean,
    /** A request no candidate can take: the whole request stops with this error. */
    readonly invalid?: InvalidRequest,
  ) {}
}

/**
 * One request's walk over its plan. Created once per request; what only failures need (sets,
 * skips) is allocated on the first failure.
 */
export interface Walk {
  readonly request: GatewayRequest
  readonly client: ClientRequest
  readonly resolution: Resolution
  readonly plan: Plan
  readonly session: SessionRef | null
  /** The session id for session context, only with a session: without one no byte of the answer is buffered. */
  readonly contextId: string | undefined
  readonly limits: RequestLimits
  readonly deadline: number
  /** The candidates walked: the plan's, or the one panic-mode target. */
  candidates: ReadonlyArray<PlannedAttempt>
  /** The candidate whose exchange and tried keys are held below (-1: none yet). */
  prepared: number
  exchange: Exchange | undefined
  triedKeys: Array<string>
  /** Upstream calls so far. */
  attempts: number
  /** Panic mode: nowhere else to go, so open circuits and the gateway's own key backoffs give way. */
  panic: boolean
  /** Breaker scopes this request has penalised: its own retries count once. */
  counted: Set<string> | undefined
  /** Models that answered context_length_exceeded: never asked again by this request. */
  tooLong: Set<string> | undefined
  skips: Array<Skip> | undefined
  /** Every failed call and passed-over candidate, in order: the client's error lists them when the walk gives up. */
  failures: Array<FailedAttempt> | undefined
  last: UpstreamFailure | undefined
  lastVerdict: Verdict | undefined
  onlyTimeouts: boolean
  /** The first failure, fed to the schedules as their first input (the healthy path builds none). */
  replay: AttemptFailed | undefined
  /** The provider key of the answer (a provider's own stored response is recorded with it). */
  answeredKey: string | undefined
}

/** A walk that has not tried anything yet, over the plan's candidates. */
export const startWalk = (
  request: GatewayRequest,
  client: ClientRequest,
  decision: { readonly plan: Plan; readonly resolution: Resolution },
  session: SessionRef | null,
  limits: RequestLimits,
  started: number,
): Walk => ({
  request,
  client,
  resolution: decision.resolution,
  plan: decision.plan,
  session,
  contextId: session === null ? undefined : normalizeSessionId(request.sessionId),
  limits,
  deadline: started + limits.deadlineMs,
  candidates: decision.plan.attempts,
  prepared: -1,
  exchange: undefined,
  triedKeys: [],
  attempts: 0,
  panic: false,
  counted: undefined,
  tooLong: undefined,
  skips: undefined,
  failures: undefined,
  last: undefined,
  lastVerdict: undefined,
  onlyTimeouts: true,
  replay: undefined,
  answeredKey: undefined,
})

/** Why a candidate was passed over, as the client's error lists it. */
const SKIPPED: { readonly [reason in SkipReason]: string } = {
  circuit: "not called: its circuit is open after recent failures",
  key_backoff: "not called: every key is backed off after recent failures",
  retry_after: "not called: the provider asked to wait (Retry-After)",
  max_qps: "not called: every key is at its max_qps",
  no_keys: "not called: the provider has no usable key",
  unsupported: "not called: it cannot take this request",
  inexpressible: "not called: its dialect cannot express this request",
  too_long: "not called: this model already answered context_length_exceeded",
  cap: "not called: the request reached its attempt cap",
}

/** A candidate passed over without a call: the failover schedule moves on. */
export const skipCandidate = (
  walk: Walk,
  planned: PlannedAttempt,
  reason: SkipReason,
  waitMs?: number,
  message?: string,
) => {
  ;(walk.skips ??= []).push({ planned, reason, waitMs, message })
  const { provider, model } = planned.candidate
  ;(walk.failures ??= []).push({
    provider: provider.id,
    model,
    outcome: "skipped",
    status: null,
    message: message === undefined ? SKIPPED[reason] : attemptMessage(`not called: ${message}`),
  })
  return Effect.fail(
    new AttemptFailed(skipVerdict, reason === "cap" ? walk.limits.retry.maxAttempts : walk.attempts, false),
  )
}

/** The whole request stops: no candidate can take what the client sent. */
export const stopInvalid = (walk: Walk, error: ProtocolError) =>
  Effect.fail(
    new AttemptFailed(
      stopVerdict,
      walk.attempts,
      false,
      new InvalidRequest({ message: error.message, ...(error.param !== undefined ? { param: error.param } : {}) }),
    ),
  )

export const skipReasonOf = (e: NoAvailableKey): SkipReason =>
  e.reason === "rate_limited"
    ? "max_qps"
    : e.reason === "retry_after"
      ? "retry_after"
      : e.reason === "no_keys"
        ? "no_keys"
        : "key_backoff"

/**
 * Panic mode after a walk that sent nothing: the candidate passed over for earlier failures
 * (an open circuit, a taken probe, the gateway's own key backoff) whose wait ends first.
 */
export const panicTarget = (walk: Walk): PlannedAttempt | undefined => {
  let best: Skip | undefined
  for (const s of walk.skips ?? []) {
    if (s.reason !== "circuit" && s.reason !== "key_backoff") continue
    if (best === undefined || (s.waitMs ?? 0) < (best.waitMs ?? 0)) best = s
  }
  return best?.planned
}

/** The session-context entry of an answer `served` for this walk (only called with a session). */
export const contextEntry = (walk: Walk, served: Served) => ({
  owner: walk.session!.owner,
  sessionId: walk.contextId!,
  provider: served.provider,
  model: served.model,
  request: JSON.stringify(walk.request.body),
})
