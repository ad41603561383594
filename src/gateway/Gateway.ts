import { Clock, Duration, Effect, Either, Runtime } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { ConversationContext } from "../conversation/ConversationContext.js"
import { ResponseStore } from "../conversation/ResponseStore.js"
import { RateLimit } from "../identity/RateLimit.js"
import { Metrics } from "../metrics/Metrics.js"
import { ProviderRegistry } from "../registry/ProviderRegistry.js"
import { KeyPool } from "../routing/KeyPool.js"
import { defaultRetryConfig } from "../routing/RetryPolicy.js"
import { Router, type SessionRef } from "../routing/Router.js"
import { sessionOwner } from "../routing/Stickiness.js"
import { ModelCatalog } from "../upstream/ModelCatalog.js"
import { UpstreamClient } from "../upstream/UpstreamClient.js"
import { Budgets } from "../usage/Budgets.js"
import { UsageLedger } from "../usage/UsageLedger.js"
import { makeAttempt } from "./Attempt.js"
import { walkAfterFirstFailure } from "./FailoverWalk.js"
import { UpstreamsCoolingDown } from "./GatewayError.js"
import { clientRequestOf, type GatewayRequest } from "./GatewayRequest.js"
import { makeRescuer } from "./MidStreamRescue.js"
import { Pricing } from "./Pricing.js"
import { limitsFor, type RequestLimits } from "./RequestLimits.js"
import { startWalk } from "./RequestWalk.js"
import { makeTurnFinisher } from "./ResponsesFinish.js"
import { planForTurn, prepareTurn, responseOwner } from "./ResponsesTurn.js"
import { makeStreamHooks } from "./StreamHooks.js"
import { makeUpstreamCall } from "./UpstreamCall.js"
import { makeUsageRecording } from "./UsageRecording.js"

export { UpstreamCapacityExhausted, UpstreamsCoolingDown } from "./GatewayError.js"
// The edge (http/) imports the request, the answer and these errors from here.
export type { GatewayAnswer, GatewayRequest, Served } from "./GatewayRequest.js"

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
    const metrics = yield* Metrics
    const usage = makeUsageRecording(yield* UsageLedger, yield* RateLimit, yield* Pricing, yield* Budgets, metrics)
    const runInBackground = Runtime.runFork(yield* Effect.runtime<never>())
    /** Retries, back-off, the attempt cap and the request's deadline (RetryPolicy's schedules), and timeouts. */
    const defaultLimits: RequestLimits = {
      firstTokenMs: Duration.toMillis(config.upstream.firstTokenTimeout),
      idleMs: undefined,
      deadlineMs: Duration.toMillis(config.upstream.requestDeadline),
      retry: defaultRetryConfig,
      rescues: config.upstream.midStreamRescues,
    }
    const rescuer = makeRescuer({
      upstream,
      pickKey: (candidate) => keyPool.pick(candidate.provider, [], candidate.model, false),
      sameTargetBackoff: Duration.millis(250),
      runFork: runInBackground,
      observeRescue: metrics.observeRescue,
    })
    const responseStore = yield* ResponseStore
    const turns = makeTurnFinisher({ store: responseStore, runInBackground })
    const hooks = makeStreamHooks({ router, sessionContext, usage, runInBackground, rescuer, turns })
    const attempt = makeAttempt({
      router,
      keyPool,
      sessionContext,
      call: makeUpstreamCall(upstream, usage),
      hooks,
      metrics,
    })

    const handle = Effect.fnUntraced(function* (request: GatewayRequest) {
      const turn =
        request.dialect === "openai-responses" && request.operation === undefined
          ? yield* prepareTurn(responseStore, request, responseOwner(request.principal))
          : undefined
      // Both are memory reads: no interpreter step unless a model list must be loaded first.
      const snapshot = registry.unsafeCurrent()
      const modelLists = catalog.loadedLists(snapshot) ?? (yield* catalog.listsFor(snapshot))
      const session: SessionRef | null =
        request.sessionId === undefined ? null : { owner: sessionOwner(request.principal), id: request.sessionId }
      const decision = yield* router.decide({
        snapshot,
        requestedModel: request.model,
        modelLists,
        allowedProviderIds: request.principal.allowedProviderIds,
        session,
        need: request.operation?.need(catalog),
      })
      const plan = turn === undefined ? decision.plan : yield* planForTurn(decision.plan, turn, request.model)
      if (plan.attempts.length === 0) {
        return yield* new UpstreamsCoolingDown({ model: request.model, retryAfterMs: plan.retryAfterMs })
      }
      const started = yield* Clock.currentTimeMillis
      const limits = limitsFor(defaultLimits, decision.resolution.policy)
      const walk = startWalk(
        request,
        clientRequestOf(request, turn),
        turn === undefined ? decision : { ...decision, plan },
        session,
        limits,
        started,
      )
      // The healthy path: the first attempt on its own, no schedule built.
      const first = yield* Effect.either(attempt(walk, 0))
      const answer = Either.isRight(first) ? first.right : yield* walkAfterFirstFailure(attempt, walk, first.left)
      return turn === undefined
        ? answer
        : yield* turns.json(turn, walk.exchange?.state, answer, walk.answeredKey, request.requestId)
    })

    return { handle } as const
  }),
}) {}
