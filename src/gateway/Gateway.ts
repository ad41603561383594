import { Clock, Duration, Effect, Either, Runtime, Schema } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import type { CanonicalRequest, Dialect, ProtocolError, UsageDelta } from "../protocol/Canonical.js"
import { countsTokens, RateLimit } from "../identity/RateLimit.js"
import { codecs } from "../protocol/Dialect.js"
import type { Principal } from "../identity/Principal.js"
import { ModelCatalog } from "../upstream/ModelCatalog.js"
import { ProviderRegistry } from "../registry/ProviderRegistry.js"
import type { Candidate, Resolution } from "../routing/Candidates.js"
import { KeyPool, type NoAvailableKey } from "../routing/KeyPool.js"
import type { Plan, PlannedAttempt } from "../routing/Plan.js"
import {
  type AttemptOutcome,
  type ClassifiedFailure,
  defaultRetryConfig,
  retryAndFailover,
  type Verdict,
} from "../routing/RetryPolicy.js"
import { type AttemptRef, Router, type SessionRef } from "../routing/Router.js"
import { normalizeSessionId, sessionOwner } from "../routing/Stickiness.js"
import { makeSnippetCollector, ConversationContext, type SnippetCollector } from "../conversation/ConversationContext.js"
import { UpstreamClient } from "../upstream/UpstreamClient.js"
import { UsageLedger } from "../usage/UsageLedger.js"
import { type ClientRequest, type Exchange, planExchange } from "./Exchange.js"
import { AllUpstreamsFailed, InvalidRequest } from "./GatewayError.js"
import { type UpstreamFailure, UpstreamStatusError, UpstreamTransportError } from "../shared/UpstreamFailure.js"
import type { StreamCodec } from "./StreamCodec.js"
import { makeRescuer, type RescueScope } from "./MidStreamRescue.js"
import { limitsFor, type RequestLimits } from "./RequestLimits.js"
import { type CommitHooks, commitStream, type LiveStream, type StreamOutcome } from "./StreamCommit.js"

export interface GatewayRequest {
  readonly dialect: Dialect
  readonly body: Record<string, unknown>
  readonly model: string
  readonly stream: boolean
  readonly principal: Principal
  readonly sessionId?: string | undefined
  /** Annotates the gateway's own log lines about this request. */
  readonly requestId?: string | undefined
}

/** Which upstream really served the answer, reported to the client in headers. */
export interface Served {
  readonly provider: string
  readonly model: string
  readonly attempts: number
}

export type GatewayAnswer =
  | { readonly _tag: "Json"; readonly body: string; readonly served: Served }
  | { readonly _tag: "Stream"; readonly stream: LiveStream; readonly served: Served }

/** Every upstream of the model is cooling down (circuits open). */
export class UpstreamsCoolingDown extends Schema.TaggedError<UpstreamsCoolingDown>()("UpstreamsCoolingDown", {
  model: Schema.String,
  retryAfterMs: Schema.optional(Schema.Number),
}) {}

/** Every key that could serve the model has used its `max_qps` for this second. */
export class UpstreamCapacityExhausted extends Schema.TaggedError<UpstreamCapacityExhausted>()("UpstreamCapacityExhausted", {
  model: Schema.String,
  retryAfterMs: Schema.Number,
}) {}


/**
 * Why a candidate was passed over without a call: its circuit is open (or its probe taken), every
 * key is backed off (by the gateway; or by the provider's Retry-After, in panic mode), every key
 * used its `max_qps`, it has no key or no endpoint for the dialect, it is a model that already
 * answered context_length_exceeded, or the request reached its attempt cap.
 */
type SkipReason = "circuit" | "key_backoff" | "retry_after" | "max_qps" | "no_keys" | "unsupported" | "too_long" | "cap"

interface Skip {
  readonly planned: PlannedAttempt
  readonly reason: SkipReason
  readonly waitMs: number | undefined
}

const skipVerdict: Verdict = { _tag: "FailoverNow", reason: "unavailable" }
const stopVerdict: Verdict = { _tag: "Fatal", reason: "client_error", status: 400, penalise: false }

/** One failed (or skipped) attempt, as the retry and failover schedules read it. */
class AttemptFailed implements ClassifiedFailure {
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
interface Walk {
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
  last: UpstreamFailure | undefined
  lastVerdict: Verdict | undefined
  onlyTimeouts: boolean
  /** The first failure, fed to the schedules as their first input (the healthy path builds none). */
  replay: AttemptFailed | undefined
}

const isTimeout = (failure: UpstreamFailure): boolean =>
  failure._tag === "UpstreamTransportError" &&
  (failure.reason === "headers_timeout" || failure.reason === "first_token_timeout" || failure.reason === "idle_timeout")

const outcomeOf = (failure: UpstreamFailure): AttemptOutcome =>
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
        kind:
          failure.reason === "connect"
            ? "connect"
            : failure.reason === "reset" || failure.reason === "truncated"
              ? "reset"
              : failure.reason === "headers_timeout" || failure.reason === "first_token_timeout"
                ? "timeout"
                : "other",
        message: failure.message,
        // UpstreamClient says "upstream unreachable" for a connection that failed before any
        // response byte (refused, reset, DNS, TLS); a body that broke later is the model's answer.
        beforeResponse: failure.reason === "connect" || (failure.reason === "reset" && failure.message.startsWith("upstream unreachable")),
      }

const memoize = <A>(compute: () => A): (() => A) => {
  let done = false
  let value: A
  return () => {
    if (!done) {
      value = compute()
      done = true
    }
    return value
  }
}

const invalidRequest = (error: ProtocolError) =>
  new InvalidRequest({ message: error.message, ...(error.param !== undefined ? { param: error.param } : {}) })

const skipReasonOf = (e: NoAvailableKey): SkipReason =>
  e.reason === "rate_limited" ? "max_qps" : e.reason === "retry_after" ? "retry_after" : e.reason === "no_keys" ? "no_keys" : "key_backoff"

/**
 * One request through the gateway: resolve and plan (routing/), then walk the plan. The first
 * attempt runs on its own; after a failure the walk is RetryPolicy's program: each candidate
 * retried on `retrySchedule` (transient failures, with jittered backoff, never before
 * Retry-After, within the request's deadline and attempt cap), a rejected key rotated, the next
 * candidate tried on `failoverSchedule`, and a stop at once on what retrying cannot fix (the
 * provider's status and message relayed). Panic mode: a request is never refused because of
 * earlier failures alone — when every candidate is open (or passed over), the one whose wait ends
 * first gets it as its probe, unless the provider's Retry-After says to wait (then the client
 * gets 429 and that Retry-After). Streams follow the commit contract (StreamCommit).
 */
export class Gateway extends Effect.Service<Gateway>()("gateway/gateway/Gateway", {
  effect: Effect.gen(function* () {
    const config = yield* AppConfig
    const registry = yield* ProviderRegistry
    const catalog = yield* ModelCatalog
    const upstream = yield* UpstreamClient
    const router = yield* Router
    const sessionContext = yield* ConversationContext
    const keyPool = yield* KeyPool
    const rateLimit = yield* RateLimit
    const ledger = yield* UsageLedger
    /** Retries, back-off, the attempt cap and the request's deadline (RetryPolicy's schedules), and timeouts. */
    const defaultLimits: RequestLimits = {
      firstTokenMs: Duration.toMillis(config.upstream.firstTokenTimeout),
      idleMs: undefined,
      deadlineMs: Duration.toMillis(config.upstream.requestDeadline),
      retry: defaultRetryConfig,
      rescues: config.upstream.midStreamRescues,
    }

    const runtime = yield* Effect.runtime<never>()
    const runInBackground = Runtime.runFork(runtime)

    /** An answered request's usage, for `GET /usage` (a memory addition; written in batches). */
    const recordAnswered = (principal: Principal, served: Served, usage: UsageDelta, complete: boolean) =>
      ledger.record({ apiKeyId: principal.apiKeyId, userId: principal.userId, provider: served.provider, model: served.model, usage, complete })

    /** Tokens count against the caller's tokens-per-minute limit once the answer is known. */
    const recordUsage = (principal: Principal, usage: UsageDelta) =>
      rateLimit.recordTokens(principal, (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0)).pipe(
        Effect.catchAll((error) => Effect.logWarning("token usage not recorded", error)),
      )

    /** One upstream call: send, then read the JSON answer or commit the stream. */
    const call = (
      principal: Principal,
      client: ClientRequest,
      exchange: Exchange,
      candidate: Candidate,
      key: Candidate["provider"]["keys"][number],
      served: Served,
      streamHooks: (codec: StreamCodec) => CommitHooks,
      limits: RequestLimits,
    ): Effect.Effect<GatewayAnswer, UpstreamFailure> => {
      const request = {
        provider: candidate.provider,
        key,
        model: candidate.model,
        url: exchange.url,
        body: exchange.body,
        stream: client.stream,
        ...(limits.idleMs === undefined ? {} : { idleTimeoutMs: limits.idleMs }),
      }
      if (client.stream) {
        const codec = exchange.streamCodec()
        // The first-token limit counts from the request: a route silent before its headers is left as early.
        const opened = Date.now()
        const firstTokenMs = limits.firstTokenMs
        return Effect.flatMap(upstream.open({ ...request, headersTimeoutMs: firstTokenMs }), (response) =>
          Effect.map(
            commitStream(response, codec, Duration.millis(Math.max(1, firstTokenMs - (Date.now() - opened))), served, streamHooks(codec)),
            (stream): GatewayAnswer => ({ _tag: "Stream", stream, served }),
          ),
        )
      }
      return Effect.flatMap(upstream.send(request), (response) => {
        const translated = exchange.translateJson(response.text)
        if (Either.isLeft(translated)) {
          return Effect.fail(
            new UpstreamTransportError({ provider: served.provider, model: served.model, reason: "malformed", message: translated.left }),
          )
        }
        const answer: GatewayAnswer = { _tag: "Json", body: translated.right.body, served }
        recordAnswered(principal, served, translated.right.usage, true)
        return countsTokens(principal) ? Effect.as(recordUsage(principal, translated.right.usage), answer) : Effect.succeed(answer)
      })
    }

    const contextEntry = (walk: Walk, served: Served) => ({
      owner: walk.session!.owner,
      sessionId: walk.contextId!,
      provider: served.provider,
      model: served.model,
      request: JSON.stringify(walk.request.body),
    })

    /**
     * After commit, a stream that does not finish cleanly is still the upstream's failure; its
     * tokens count. A broken stream is continued elsewhere when it can be (MidStreamRescue); a
     * continuation is accounted the same way. The session keeps what the client was sent: one
     * entry for the whole chain (`collected` is shared along it), written when the client's
     * stream ends.
     */
    const streamHooksFor =
      (walk: Walk, served: Served, ref: Omit<AttemptRef, "latencyMs">, rescueScope: () => RescueScope | undefined, collected: SnippetCollector | undefined) =>
      (codec: StreamCodec): CommitHooks => {
        const { request } = walk
        return {
          ...(collected === undefined
            ? {}
            : {
                observe: collected.add,
                onClientEnd: (complete: boolean) =>
                  runInBackground(sessionContext.append({ ...contextEntry(walk, served), stream: true, complete, response: collected.text() })),
              }),
          rescue: (transcript, failure) => {
            const scope = rescueScope()
            return scope === undefined ? undefined : rescueHook(scope, ref.candidate)(transcript, failure)
          },
          onFinish: (outcome: StreamOutcome) => {
            recordAnswered(request.principal, served, codec.usage(), outcome.complete)
            const work: Array<Effect.Effect<unknown>> = []
            if (countsTokens(request.principal)) work.push(recordUsage(request.principal, codec.usage()))
            if (!outcome.complete && outcome.error !== "client disconnected" && outcome.byGateway !== true) {
              work.push(router.recordFailure({ ...ref, latencyMs: undefined }, { _tag: "TransportError", kind: "reset", message: outcome.error }))
            }
            if (codec.skippedFrames() > 0) {
              work.push(
                Effect.logWarning("skipped unreadable upstream stream frames").pipe(
                  Effect.annotateLogs({
                    ...(request.requestId === undefined ? {} : { request_id: request.requestId }),
                    provider: served.provider,
                    model: served.model,
                    frames: codec.skippedFrames(),
                  }),
                ),
              )
            }
            if (work.length > 0) runInBackground(Effect.all(work, { discard: true }))
          },
        }
      }

    /** Who continues a stream of candidate `index` that breaks: the later candidates, then itself. */
    const rescueScopeFor = (walk: Walk, index: number, collected: SnippetCollector | undefined): RescueScope | undefined => {
      if (walk.limits.rescues === 0 || !walk.client.stream) return undefined
      const later = walk.candidates.slice(index + 1).map((p) => p.candidate)
      return {
        client: walk.client,
        targets: [...later.filter((c) => walk.tooLong?.has(c.model) !== true), walk.candidates[index]!.candidate],
        budget: walk.limits.rescues,
        requestId: walk.request.requestId,
        hooksFor: (scope, candidate, keyId) => {
          const served: Served = { provider: candidate.provider.id, model: candidate.model, attempts: walk.attempts }
          const ref = { logicalModel: walk.resolution.logicalModel, candidate, keyId, probe: false }
          return streamHooksFor(walk, served, ref, () => scope, collected)
        },
      }
    }
    const rescueHook = makeRescuer({
      open: upstream.open,
      pickKey: (candidate) => keyPool.pick(candidate.provider, [], candidate.model, false),
      firstTokenTimeout: config.upstream.firstTokenTimeout,
      sameTargetBackoff: Duration.millis(250),
      runFork: runInBackground,
    })

    /** A candidate passed over without a call: the failover schedule moves on. */
    const skip = (walk: Walk, planned: PlannedAttempt, reason: SkipReason, waitMs?: number) => {
      ;(walk.skips ??= []).push({ planned, reason, waitMs })
      return Effect.fail(new AttemptFailed(skipVerdict, reason === "cap" ? walk.limits.retry.maxAttempts : walk.attempts, false))
    }

    /**
     * One attempt at candidate `index` of the walk: one upstream call (a rejected key is rotated,
     * and a missing Responses endpoint asked again through chat, within the same attempt).
     * Succeeds with the answer; fails with what the schedules need to decide what comes next.
     */
    const attempt: (walk: Walk, index: number) => Effect.Effect<GatewayAnswer, AttemptFailed> = Effect.fnUntraced(function* (
      walk: Walk,
      index: number,
    ) {
      if (walk.replay !== undefined) {
        const first = walk.replay
        walk.replay = undefined
        return yield* Effect.fail(first)
      }
      const planned = walk.candidates[index]!
      const { candidate } = planned
      const panic = walk.panic || planned.reason === "panic"
      if (walk.prepared !== index) {
        walk.prepared = index
        walk.exchange = undefined
        if (walk.triedKeys.length > 0) walk.triedKeys = []
        if (walk.tooLong?.has(candidate.model) === true) return yield* skip(walk, planned, "too_long")
        // The plan read the circuits a moment ago: before this request has tried anything, a
        // circuit it found closed needs no second read (an open or half-open one does: the probe).
        const fresh = walk.attempts === 0 && planned.circuit === "closed"
        if (!fresh && !panic && !(yield* router.acquire(candidate))) return yield* skip(walk, planned, "circuit")
        const exchange = planExchange(walk.client, candidate.provider, candidate.model)
        if (Either.isLeft(exchange)) {
          if (exchange.left._tag === "BadRequest") {
            return yield* Effect.fail(new AttemptFailed(stopVerdict, walk.attempts, false, invalidRequest(exchange.left.error)))
          }
          return yield* skip(walk, planned, "unsupported")
        }
        walk.exchange = exchange.right
      }
      if (walk.attempts >= walk.limits.retry.maxAttempts) return yield* skip(walk, planned, "cap")
      const key = yield* Effect.either(keyPool.pick(candidate.provider, walk.triedKeys, candidate.model, panic))
      if (Either.isLeft(key)) return yield* skip(walk, planned, skipReasonOf(key.left), key.left.retryAfterMs)

      const attempts = ++walk.attempts
      const attemptStart = yield* Clock.currentTimeMillis
      const served: Served = { provider: candidate.provider.id, model: candidate.model, attempts }
      const ref = { logicalModel: walk.resolution.logicalModel, candidate, keyId: key.right.id, probe: panic || planned.circuit !== "closed" }
      const collected =
        walk.contextId === undefined || !walk.client.stream ? undefined : makeSnippetCollector(sessionContext.config.maxBytes)
      const result: Either.Either<GatewayAnswer, UpstreamFailure> = yield* Effect.either(
        call(walk.request.principal, walk.client, walk.exchange!, candidate, key.right, served, streamHooksFor(walk, served, ref, () => rescueScopeFor(walk, index, collected), collected), walk.limits),
      )
      const now = yield* Clock.currentTimeMillis
      if (Either.isRight(result)) {
        const answer = result.right
        // A committed stream belongs to the client from here: if the request is given up
        // before the answer reaches the edge, the upstream call must not be left open.
        yield* router.recordSuccess({ ...ref, latencyMs: now - attemptStart }, walk.session).pipe(
          answer._tag === "Stream" ? Effect.onInterrupt(() => Effect.sync(answer.stream.cancel)) : (effect) => effect,
        )
        if (walk.contextId !== undefined && answer._tag === "Json") {
          yield* sessionContext.append({ ...contextEntry(walk, answer.served), stream: false, complete: true, response: answer.body })
        }
        return answer
      }
      const failure = result.left
      walk.last = failure
      if (!isTimeout(failure)) walk.onlyTimeouts = false
      // A provider whose Responses endpoint is missing is asked again through chat.
      if (
        failure._tag === "UpstreamStatusError" &&
        (failure.status === 404 || failure.status === 405) &&
        walk.exchange!.upstreamDialect === "openai-responses" &&
        walk.client.dialect === "openai-responses"
      ) {
        const viaChat = planExchange(walk.client, candidate.provider, candidate.model, { avoidResponses: true })
        if (Either.isRight(viaChat)) {
          walk.exchange = viaChat.right
          return yield* attempt(walk, index)
        }
      }
      const record = yield* router.recordFailure({ ...ref, latencyMs: now - attemptStart }, outcomeOf(failure), (walk.counted ??= new Set()))
      const verdict = record.verdict
      walk.lastVerdict = verdict
      yield* Effect.logWarning("upstream attempt failed").pipe(
        Effect.annotateLogs({
          ...(walk.request.requestId === undefined ? {} : { request_id: walk.request.requestId }),
          provider: candidate.provider.id,
          model: candidate.model,
          attempt: attempts,
          reason: failure._tag === "UpstreamStatusError" ? `HTTP ${failure.status}` : failure.reason,
          verdict: verdict._tag,
          message: failure.message,
        }),
      )
      if (verdict._tag === "RotateKey") {
        walk.triedKeys.push(key.right.id)
        return yield* attempt(walk, index)
      }
      if (verdict.reason === "context_length_exceeded") (walk.tooLong ??= new Set()).add(candidate.model)
      return yield* Effect.fail(new AttemptFailed(verdict, attempts, record.circuitOpen && !panic))
    })

    /** The walk as RetryPolicy's program: `attempt(walk, i)` per candidate, on the schedules. */
    const runWalk = (walk: Walk) =>
      Effect.either(retryAndFailover(walk.candidates.length, (i: number) => attempt(walk, i), walk.limits.retry, walk.deadline))

    /**
     * Panic mode after a walk that sent nothing: the candidate passed over for earlier failures
     * (an open circuit, a taken probe, the gateway's own key backoff) whose wait ends first.
     */
    const panicTarget = (walk: Walk): PlannedAttempt | undefined => {
      let best: Skip | undefined
      for (const s of walk.skips ?? []) {
        if (s.reason !== "circuit" && s.reason !== "key_backoff") continue
        if (best === undefined || (s.waitMs ?? 0) < (best.waitMs ?? 0)) best = s
      }
      return best?.planned
    }

    /** The client's error once the walk is over. */
    const giveUp = (walk: Walk) => {
      const { last, request } = walk
      if (last === undefined) {
        // Nothing was sent.
        const skips = walk.skips ?? []
        const waits = (reason: SkipReason) =>
          skips.filter((s) => s.reason === reason && s.waitMs !== undefined).map((s) => s.waitMs!)
        const said = waits("retry_after")
        if (said.length > 0) {
          // The provider said when to come back: the client hears it (429 + Retry-After), not a 503.
          const first = skips.find((s) => s.reason === "retry_after")!.planned.candidate
          return Effect.fail(
            new UpstreamStatusError({
              provider: first.provider.id,
              model: first.model,
              status: 429,
              message: `The provider asked to wait before the next request for model '${request.model}'; retry after the time given`,
              errorType: "rate_limit_error",
              errorCode: "rate_limit_exceeded",
              retryAfterMs: Math.min(...said),
            }),
          )
        }
        if (skips.some((s) => s.reason === "max_qps")) {
          const qps = waits("max_qps")
          return Effect.fail(new UpstreamCapacityExhausted({ model: request.model, retryAfterMs: qps.length > 0 ? Math.min(...qps) : 1000 }))
        }
        if (skips.length > 0 && skips.every((s) => s.reason === "unsupported" || s.reason === "no_keys" || s.reason === "too_long")) {
          return Effect.fail(
            new AllUpstreamsFailed({ model: request.model, attempts: 0, lastError: "no upstream of the model can take this request" }),
          )
        }
        const other = [...waits("key_backoff"), ...waits("circuit")]
        return Effect.fail(
          new UpstreamsCoolingDown({ model: request.model, retryAfterMs: other.length > 0 ? Math.min(...other) : walk.plan.retryAfterMs }),
        )
      }
      // The provider's own answer is the most useful error: its status, message and Retry-After.
      if (last._tag === "UpstreamStatusError" && walk.lastVerdict?._tag !== "RotateKey") return Effect.fail(last)
      // Nothing answered in time: a timeout (504) says more than "failed" (502).
      if (walk.onlyTimeouts) return Effect.fail(last)
      return Effect.fail(
        new AllUpstreamsFailed({
          model: request.model,
          attempts: walk.attempts,
          lastError: last.message,
          ...(last._tag === "UpstreamStatusError" ? { lastStatus: last.status, retryAfterMs: last.retryAfterMs } : {}),
        }),
      )
    }

    /** Everything after a request's first failed attempt (the healthy path never gets here). */
    const afterFirstFailure = Effect.fnUntraced(function* (walk: Walk, first: AttemptFailed) {
      if (first.invalid !== undefined) return yield* first.invalid
      walk.replay = first
      let result = yield* runWalk(walk)
      if (Either.isLeft(result) && result.left.invalid === undefined && walk.last === undefined && !walk.panic) {
        const target = panicTarget(walk)
        if (target !== undefined) {
          walk.panic = true
          walk.candidates = [target]
          walk.prepared = -1
          result = yield* runWalk(walk)
        }
      }
      if (Either.isRight(result)) return result.right
      if (result.left.invalid !== undefined) return yield* result.left.invalid
      return yield* giveUp(walk)
    })

    const handle = Effect.fnUntraced(function* (request: GatewayRequest) {
      const client: ClientRequest = {
        dialect: request.dialect,
        body: request.body,
        stream: request.stream,
        requestedModel: request.model,
        canonical: memoize((): Either.Either<CanonicalRequest, ProtocolError> =>
          codecs[request.dialect].decodeRequest(request.body, { model: request.model, stream: request.stream }),
        ),
      }
      const snapshot = yield* registry.current
      const modelLists = yield* catalog.listsFor(snapshot)
      const session: SessionRef | null =
        request.sessionId === undefined ? null : { owner: sessionOwner(request.principal), id: request.sessionId }
      const { plan, resolution } = yield* router.decide({
        snapshot,
        requestedModel: request.model,
        modelLists,
        allowedProviderIds: request.principal.allowedProviderIds,
        session,
      })
      if (plan.attempts.length === 0) {
        return yield* new UpstreamsCoolingDown({ model: request.model, retryAfterMs: plan.retryAfterMs })
      }
      const started = yield* Clock.currentTimeMillis
      const limits = limitsFor(defaultLimits, resolution.policy)
      const walk: Walk = {
        request,
        client,
        resolution,
        plan,
        session,
        contextId: session === null ? undefined : normalizeSessionId(request.sessionId),
        limits,
        deadline: started + limits.deadlineMs,
        candidates: plan.attempts,
        prepared: -1,
        exchange: undefined,
        triedKeys: [],
        attempts: 0,
        panic: false,
        counted: undefined,
        tooLong: undefined,
        skips: undefined,
        last: undefined,
        lastVerdict: undefined,
        onlyTimeouts: true,
        replay: undefined,
      }
      // The healthy path: the first attempt on its own, no schedule built.
      const first = yield* Effect.either(attempt(walk, 0))
      if (Either.isRight(first)) return first.right
      return yield* afterFirstFailure(walk, first.left)
    })

    return { handle } as const
  }),
}) {}
