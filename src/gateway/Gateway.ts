import { Clock, Duration, Effect, Either, Random, Runtime, Schema } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import type { CanonicalRequest, Dialect, ProtocolError, UsageDelta } from "../protocol/Canonical.js"
import { countsTokens, RateLimit } from "../identity/RateLimit.js"
import { codecs } from "../protocol/Dialect.js"
import type { Principal } from "../identity/Principal.js"
import { ModelCatalog } from "../registry/ModelCatalog.js"
import { ProviderRegistry } from "../registry/ProviderRegistry.js"
import type { Candidate } from "../routing/Candidates.js"
import { KeyPool, type NoAvailableKey } from "../routing/KeyPool.js"
import { type AttemptOutcome, decideRetry, type Verdict } from "../routing/RetryPolicy.js"
import { Router, type SessionRef } from "../routing/Router.js"
import { normalizeSessionId, sessionOwner } from "../routing/Stickiness.js"
import { makeSnippetCollector, SessionContext } from "../sessions/SessionContext.js"
import { UpstreamClient } from "../upstream/UpstreamClient.js"
import { UsageLedger } from "../usage/UsageLedger.js"
import { type ClientRequest, type Exchange, planExchange } from "./Exchange.js"
import { AllUpstreamsFailed, InvalidRequest, type UpstreamFailure, UpstreamTransportError } from "./GatewayError.js"
import type { StreamCodec } from "./StreamCodec.js"
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

/** At most this many upstream calls for one client request, retries included (W20). */
const MAX_ATTEMPTS = 8

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
              : failure.reason === "malformed"
                ? "other"
                : "timeout",
        message: failure.message,
      }

const isTimeout = (failure: UpstreamFailure): boolean =>
  failure._tag === "UpstreamTransportError" &&
  (failure.reason === "headers_timeout" || failure.reason === "first_token_timeout" || failure.reason === "idle_timeout")

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

/**
 * One request through the gateway: resolve and plan (routing/), then walk the plan. Per
 * candidate: retry transient failures with backoff (honouring Retry-After within the request's
 * deadline), rotate a rejected key, or fail over; stop at once on what retrying cannot fix and
 * relay the provider's status and message. Streams follow the commit contract (StreamCommit).
 */
export class Gateway extends Effect.Service<Gateway>()("gateway/gateway/Gateway", {
  effect: Effect.gen(function* () {
    const config = yield* AppConfig
    const registry = yield* ProviderRegistry
    const catalog = yield* ModelCatalog
    const upstream = yield* UpstreamClient
    const router = yield* Router
    const sessionContext = yield* SessionContext
    const keyPool = yield* KeyPool
    const rateLimit = yield* RateLimit
    const ledger = yield* UsageLedger
    const deadlineMs = Duration.toMillis(config.upstream.requestDeadline)

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
    ): Effect.Effect<GatewayAnswer, UpstreamFailure> => {
      const request = {
        provider: candidate.provider,
        key,
        model: candidate.model,
        url: exchange.url,
        body: exchange.body,
        stream: client.stream,
      }
      if (client.stream) {
        const codec = exchange.streamCodec()
        return Effect.flatMap(upstream.open(request), (response) =>
          Effect.map(
            commitStream(response, codec, config.upstream.firstTokenTimeout, served, streamHooks(codec)),
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

      // Session context (only with a session id: never a byte buffered without one, W18).
      const contextId = session === null ? undefined : normalizeSessionId(request.sessionId)
      const contextEntry = (served: Served) => ({
        owner: session!.owner,
        sessionId: contextId!,
        provider: served.provider,
        model: served.model,
        request: JSON.stringify(request.body),
      })

      const started = yield* Clock.currentTimeMillis
      let attempts = 0
      let last: UpstreamFailure | undefined
      let lastVerdict: Verdict | undefined
      let onlyTimeouts = true
      const noKey: Array<NoAvailableKey> = []

      for (const planned of plan.attempts) {
        if (attempts >= MAX_ATTEMPTS) break
        const { candidate } = planned
        // The plan read the circuits a moment ago: before this request has tried anything, a
        // circuit it found closed needs no second read (an open or half-open one does: the probe).
        const fresh = attempts === 0 && planned.circuit === "closed"
        if (!fresh && !(yield* router.acquire(candidate))) continue
        let exchange = planExchange(client, candidate.provider, candidate.model)
        if (Either.isLeft(exchange)) {
          if (exchange.left._tag === "BadRequest") return yield* invalidRequest(exchange.left.error)
          continue
        }
        const triedKeys: Array<string> = []
        let retries = 0
        while (attempts < MAX_ATTEMPTS) {
          const key = yield* keyPool.pick(candidate.provider, triedKeys).pipe(Effect.either)
          if (Either.isLeft(key)) {
            noKey.push(key.left)
            break
          }
          attempts++
          const attemptStart = yield* Clock.currentTimeMillis
          const served: Served = { provider: candidate.provider.id, model: candidate.model, attempts }
          const ref = { logicalModel: resolution.logicalModel, candidate, keyId: key.right.id, probe: planned.circuit !== "closed" }
          // After commit, a stream that does not finish cleanly is still the upstream's failure (W4);
          // its tokens count, and the session keeps what the client was sent.
          const streamHooks = (codec: StreamCodec): CommitHooks => {
            const collected = contextId === undefined ? undefined : makeSnippetCollector(sessionContext.config.maxBytes)
            return {
              ...(collected === undefined ? {} : { observe: collected.add }),
              onFinish: (outcome: StreamOutcome) => {
                recordAnswered(request.principal, served, codec.usage(), outcome.complete)
                const work: Array<Effect.Effect<unknown>> = []
                if (countsTokens(request.principal)) work.push(recordUsage(request.principal, codec.usage()))
                if (!outcome.complete && outcome.error !== "client disconnected") {
                  work.push(
                    router.recordFailure({ ...ref, latencyMs: undefined }, { _tag: "TransportError", kind: "reset", message: outcome.error }),
                  )
                }
                if (collected !== undefined) {
                  work.push(
                    sessionContext.append({ ...contextEntry(served), stream: true, complete: outcome.complete, response: collected.text() }),
                  )
                }
                if (work.length > 0) runInBackground(Effect.all(work, { discard: true }))
              },
            }
          }
          const result: Either.Either<GatewayAnswer, UpstreamFailure> = yield* Effect.either(call(request.principal, client, exchange.right, candidate, key.right, served, streamHooks))
          const now = yield* Clock.currentTimeMillis
          if (Either.isRight(result)) {
            const answer = result.right
            // A committed stream belongs to the client from here: if the request is given up
            // before the answer reaches the edge, the upstream call must not be left open.
            yield* router.recordSuccess({ ...ref, latencyMs: now - attemptStart }, session).pipe(
              answer._tag === "Stream" ? Effect.onInterrupt(() => Effect.sync(answer.stream.cancel)) : (effect) => effect,
            )
            if (contextId !== undefined && answer._tag === "Json") {
              yield* sessionContext.append({ ...contextEntry(answer.served), stream: false, complete: true, response: answer.body })
            }
            return answer
          }
          const failure = result.left
          last = failure
          if (!isTimeout(failure)) onlyTimeouts = false
          // A provider whose Responses endpoint is missing is asked again through chat.
          if (
            failure._tag === "UpstreamStatusError" &&
            (failure.status === 404 || failure.status === 405) &&
            exchange.right.upstreamDialect === "openai-responses" &&
            client.dialect === "openai-responses"
          ) {
            const viaChat = planExchange(client, candidate.provider, candidate.model, { avoidResponses: true })
            if (Either.isRight(viaChat)) {
              exchange = viaChat
              continue
            }
          }
          const verdict = yield* router.recordFailure({ ...ref, latencyMs: now - attemptStart }, outcomeOf(failure))
          lastVerdict = verdict
          yield* Effect.logWarning("upstream attempt failed").pipe(
            Effect.annotateLogs({
              ...(request.requestId === undefined ? {} : { request_id: request.requestId }),
              provider: candidate.provider.id,
              model: candidate.model,
              attempt: attempts,
              reason: failure._tag === "UpstreamStatusError" ? `HTTP ${failure.status}` : failure.reason,
              verdict: verdict._tag,
              message: failure.message,
            }),
          )
          const decision = decideRetry(verdict, retries, deadlineMs - (now - started), yield* Random.next)
          if (decision._tag === "Stop") return yield* failure
          // A silent or slow-to-start upstream is abandoned for the next candidate, not waited on again.
          const slow = failure._tag === "UpstreamTransportError" && (failure.reason === "first_token_timeout" || failure.reason === "headers_timeout")
          if (decision._tag === "Retry" && !slow) {
            retries++
            yield* Effect.sleep(Duration.millis(decision.delayMs))
            // This failure may have opened the circuit (or failed its probe): then move on.
            if (!(yield* router.acquire(candidate))) break
            continue
          }
          if (decision._tag === "MoveOn" && decision.reason === "rotate_key") {
            triedKeys.push(key.right.id)
            continue
          }
          break
        }
      }
      if (last === undefined) {
        // Nothing was sent: every candidate was cooling down or had no usable key.
        const waits = noKey.map((e) => e.retryAfterMs).filter((w): w is number => w !== undefined)
        const retryAfterMs = waits.length > 0 ? Math.min(...waits) : plan.retryAfterMs
        if (noKey.some((e) => e.reason === "rate_limited")) {
          return yield* new UpstreamCapacityExhausted({ model: request.model, retryAfterMs: retryAfterMs ?? 1000 })
        }
        return yield* new UpstreamsCoolingDown({ model: request.model, retryAfterMs })
      }
      // The provider's own answer is the most useful error: its status, message and Retry-After.
      if (last._tag === "UpstreamStatusError" && lastVerdict?._tag !== "RotateKey") return yield* last
      // Nothing answered in time: a timeout (504) says more than "failed" (502).
      if (onlyTimeouts) return yield* last
      return yield* new AllUpstreamsFailed({
        model: request.model,
        attempts,
        lastError: last.message,
        ...(last._tag === "UpstreamStatusError" ? { lastStatus: last.status, retryAfterMs: last.retryAfterMs } : {}),
      })
    })

    return { handle } as const
  }),
}) {}
