import { Clock, Effect, Either } from "effect"
import { type ConversationContext, makeSnippetCollector } from "../conversation/ConversationContext.js"
import type { MetricsService } from "../metrics/Metrics.js"
import type { Candidate } from "../routing/Candidates.js"
import type { KeyPool } from "../routing/KeyPool.js"
import { keyFailureOf } from "../routing/RetryPolicy.js"
import type { AttemptRef, Router } from "../routing/Router.js"
import { addAttempt, setFirstToken } from "../shared/RequestRecord.js"
import type { UpstreamFailure } from "../shared/UpstreamFailure.js"
import { startAttemptSpan } from "./AttemptSpan.js"
import { planExchange } from "./Exchange.js"
import { attemptOutcomeOf, attemptStatusOf, failedAttemptOf, isTimeout, outcomeOf } from "./FailureOutcome.js"
import type { GatewayAnswer, Served } from "./GatewayRequest.js"
import { logRequestWarning } from "./RequestLog.js"
import { AttemptFailed, contextEntry, skipCandidate, skipReasonOf, stopInvalid, type Walk } from "./RequestWalk.js"
import type { StreamHooks } from "./StreamHooks.js"
import type { UpstreamCall } from "./UpstreamCall.js"

export interface AttemptDeps {
  readonly router: Router
  readonly keyPool: KeyPool
  readonly sessionContext: ConversationContext
  readonly call: UpstreamCall
  readonly hooks: StreamHooks
  readonly metrics: MetricsService
}

type Key = Candidate["provider"]["keys"][number]
type Ref = Omit<AttemptRef, "latencyMs">

/** One attempt at candidate `index` of a walk (see `attempt` below). */
export type Attempt = (walk: Walk, index: number) => Effect.Effect<GatewayAnswer, AttemptFailed>

const UPLOAD_SPENT = "the upload was streamed to an earlier attempt and cannot be sent again"

/** Plans the exchange with the candidate now prepared, or refuses the candidate for the request. */
const takeExchange = (walk: Walk, index: number): Effect.Effect<void, AttemptFailed> | undefined => {
  const planned = walk.candidates[index]!
  const { provider, model } = planned.candidate
  const { operation } = walk.client
  const exchange =
    operation === undefined
      ? planExchange(walk.client, provider, model)
      : operation.plan(provider, model, walk.client.requestedModel)
  if (Either.isLeft(exchange)) {
    const refusal = exchange.left
    if (refusal._tag === "BadRequest") return stopInvalid(walk, refusal.error)
    // Another candidate may serve the request in the client's own dialect; if none does, the message is the client's 400.
    return skipCandidate(
      walk,
      planned,
      refusal._tag === "Inexpressible" ? "inexpressible" : "unsupported",
      undefined,
      refusal.message,
    )
  }
  walk.exchange = exchange.right
  return undefined
}

/**
 * Makes candidate `index` the prepared one (its exchange planned, no key tried yet), or passes
 * it over. `undefined` when it is ready without waiting for anything: the healthy path pays no
 * Effect step here.
 */
const prepare = (
  deps: AttemptDeps,
  walk: Walk,
  index: number,
  panic: boolean,
): Effect.Effect<void, AttemptFailed> | undefined => {
  const planned = walk.candidates[index]!
  walk.prepared = index
  walk.exchange = undefined
  if (walk.triedKeys.length > 0) walk.triedKeys = []
  if (walk.tooLong?.has(planned.candidate.model) === true) return skipCandidate(walk, planned, "too_long")
  // The plan read the circuits a moment ago: before this request has tried anything, a
  // circuit it found closed needs no second read (an open or half-open one does: the probe).
  const fresh = walk.attempts === 0 && planned.circuit === "closed"
  if (fresh || panic) return takeExchange(walk, index)
  return Effect.flatMap(deps.router.acquire(planned.candidate), (acquired) =>
    acquired ? (takeExchange(walk, index) ?? Effect.void) : skipCandidate(walk, planned, "circuit"),
  )
}

/**
 * One attempt at candidate `index` of the walk: one upstream call (a rejected key is rotated,
 * and a missing Responses endpoint asked again through chat, within the same attempt).
 * Succeeds with the answer; fails with what the schedules need to decide what comes next.
 */
const attempt: (deps: AttemptDeps, walk: Walk, index: number) => Effect.Effect<GatewayAnswer, AttemptFailed> =
  Effect.fnUntraced(function* (deps: AttemptDeps, walk: Walk, index: number) {
    if (walk.replay !== undefined) {
      const first = walk.replay
      walk.replay = undefined
      return yield* Effect.fail(first)
    }
    const planned = walk.candidates[index]!
    const { candidate } = planned
    const panic = walk.panic || planned.reason === "panic"
    if (walk.prepared !== index) {
      const notReady = prepare(deps, walk, index, panic)
      if (notReady !== undefined) yield* notReady
    }
    if (walk.attempts >= walk.limits.retry.maxAttempts) return yield* skipCandidate(walk, planned, "cap")
    // An upload streamed to an earlier call cannot be sent again: the walk ends with that call's error.
    if (typeof walk.exchange!.body === "object" && walk.exchange!.body.spent())
      return yield* skipCandidate(walk, planned, "unsupported", undefined, UPLOAD_SPENT)
    const key = yield* Effect.either(deps.keyPool.pick(candidate.provider, walk.triedKeys, candidate.model, panic))
    if (Either.isLeft(key)) return yield* skipCandidate(walk, planned, skipReasonOf(key.left), key.left.retryAfterMs)

    const attempts = ++walk.attempts
    const attemptStart = yield* Clock.currentTimeMillis
    const { dropped } = walk.exchange!
    const served: Served =
      dropped === undefined || dropped.length === 0
        ? { provider: candidate.provider.id, model: candidate.model, attempts }
        : { provider: candidate.provider.id, model: candidate.model, attempts, dropped }
    const ref = {
      logicalModel: walk.resolution.logicalModel,
      candidate,
      keyId: key.right.id,
      probe: panic || planned.circuit !== "closed",
    }
    const collected =
      walk.contextId === undefined || !walk.client.stream
        ? undefined
        : makeSnippetCollector(deps.sessionContext.config.maxBytes)
    const hooks = deps.hooks.hooksFor(
      walk,
      served,
      ref,
      () => deps.hooks.rescueScopeFor(walk, index, collected),
      collected,
    )
    const { record } = walk.request
    // Tracing off: no span, the call exactly as it is (telemetry/Tracing).
    const trace = walk.request.trace
    const span =
      trace === undefined ? undefined : startAttemptSpan(trace, walk.exchange!, candidate, attempts, walk.client.stream)
    const call =
      span === undefined
        ? deps.call(
            walk.request.principal,
            walk.client,
            walk.exchange!,
            candidate,
            key.right,
            served,
            hooks,
            walk.limits,
            record,
          )
        : span.watch(
            deps.call(
              walk.request.principal,
              walk.client,
              span.exchange,
              candidate,
              key.right,
              served,
              span.streamHooks(hooks),
              walk.limits,
              record,
            ),
          )
    const result: Either.Either<GatewayAnswer, UpstreamFailure> = yield* Effect.either(call)
    const now = yield* Clock.currentTimeMillis
    if (Either.isLeft(result)) {
      const failure = result.left
      addAttempt(
        record,
        candidate.provider.id,
        candidate.model,
        attemptOutcomeOf(failure),
        attemptStatusOf(failure),
        now - attemptStart,
      )
      return yield* afterFailedCall(deps, walk, index, failure, key.right, ref, now - attemptStart)
    }
    const answer = result.right
    deps.metrics.observeAttempt({ provider: candidate.provider.id, model: candidate.model, failure: undefined })
    addAttempt(record, candidate.provider.id, candidate.model, "ok", 200, now - attemptStart)
    if (answer._tag !== "Json") setFirstToken(record, now)
    // A committed stream belongs to the client from here: if the request is given up
    // before the answer reaches the edge, the upstream call must not be left open.
    // Spelled out, not `{ ...ref, latencyMs }`: a spread is a runtime copy on every request.
    const success: AttemptRef = {
      logicalModel: ref.logicalModel,
      candidate,
      keyId: ref.keyId,
      probe: ref.probe,
      latencyMs: now - attemptStart,
    }
    yield* deps.router
      .recordSuccess(success, walk.session)
      .pipe(
        answer._tag === "Stream"
          ? Effect.onInterrupt(() => Effect.sync(answer.stream.cancel))
          : answer._tag === "Relay"
            ? Effect.onInterrupt(() => Effect.sync(answer.relay.cancel))
            : (effect) => effect,
      )
    walk.answeredKey = key.right.id
    if (walk.contextId !== undefined && answer._tag === "Json") {
      yield* deps.sessionContext.append({
        ...contextEntry(walk, answer.served),
        stream: false,
        complete: true,
        response: answer.body,
      })
    }
    return answer
  })

/** A provider whose Responses endpoint is missing is asked again through chat: true when it can be. */
const switchedToChat = (walk: Walk, index: number, failure: UpstreamFailure): boolean => {
  if (failure._tag !== "UpstreamStatusError" || (failure.status !== 404 && failure.status !== 405)) return false
  if (walk.exchange!.upstreamDialect !== "openai-responses" || walk.client.dialect !== "openai-responses") return false
  const { candidate } = walk.candidates[index]!
  const viaChat = planExchange(walk.client, candidate.provider, candidate.model, { avoidResponses: true })
  if (Either.isLeft(viaChat)) return false
  walk.exchange = viaChat.right
  return true
}

/** The call failed: recorded, then the same attempt again (another key, or chat), or the failure for the schedules. */
const afterFailedCall = Effect.fnUntraced(function* (
  deps: AttemptDeps,
  walk: Walk,
  index: number,
  failure: UpstreamFailure,
  key: Key,
  ref: Ref,
  latencyMs: number,
) {
  const { candidate } = ref
  deps.metrics.observeAttempt({ provider: candidate.provider.id, model: candidate.model, failure })
  ;(walk.failures ??= []).push(failedAttemptOf(candidate.provider.id, candidate.model, failure))
  walk.last = failure
  if (!isTimeout(failure)) walk.onlyTimeouts = false
  if (switchedToChat(walk, index, failure)) return yield* attempt(deps, walk, index)
  const record = yield* deps.router.recordFailure(
    { ...ref, latencyMs },
    outcomeOf(failure),
    (walk.counted ??= new Set()),
  )
  const verdict = record.verdict
  walk.lastVerdict = verdict
  // Router.recordFailure backed the key off when the failure was the key's (KeyPool).
  const keyKind = ref.keyId === undefined ? undefined : keyFailureOf(verdict)
  if (keyKind !== undefined) deps.metrics.keyBackedOff(candidate.provider.id, keyKind)
  yield* logRequestWarning(walk.request.requestId, "upstream attempt failed", {
    provider: candidate.provider.id,
    model: candidate.model,
    attempt: walk.attempts,
    reason: failure._tag === "UpstreamStatusError" ? `HTTP ${failure.status}` : failure.reason,
    verdict: verdict._tag,
    message: failure.message,
  })
  if (verdict._tag === "RotateKey") {
    walk.triedKeys.push(key.id)
    return yield* attempt(deps, walk, index)
  }
  if (verdict.reason === "context_length_exceeded") (walk.tooLong ??= new Set()).add(candidate.model)
  const panic = walk.panic || walk.candidates[index]!.reason === "panic"
  return yield* Effect.fail(new AttemptFailed(verdict, walk.attempts, record.circuitOpen && !panic))
})

/** One attempt at candidate `index` of a walk, calling providers through `deps`. */
export const makeAttempt =
  (deps: AttemptDeps): Attempt =>
  (walk, index) =>
    attempt(deps, walk, index)
