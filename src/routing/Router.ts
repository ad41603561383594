/**
 * The routing facade the gateway calls: the pure core (Candidates → Plan → RetryPolicy) fed
 * and updated by the small services (RoutingMetrics, CircuitBreaker, KeyPool, Stickiness).
 *
 *   const { resolution, plan } = yield* router.decide({ ... })      // no side effects: nothing bound yet
 *   per planned attempt (Gateway, driven by RetryPolicy's schedules):
 *     router.acquire(candidate)                                       // open / probe taken
 *     keyPool.pick(candidate.provider, triedKeys, candidate.model)
 *     … send; on 2xx / commit: router.recordSuccess(…); on failure: router.recordFailure(…)
 *     → a Verdict: retry (RetryPolicy.retrySchedule), rotate key, fail over
 *       (RetryPolicy.failoverSchedule), or stop
 */
import { Chunk, Clock, Duration, Effect, Either, Queue, Random } from "effect"
import type { RegistrySnapshot } from "../registry/Provider.js"
import { Kv } from "../storage/Kv.js"
import type {
  Candidate,
  EndpointNeed,
  ModelNotSupported,
  ProviderNotAllowed,
  Resolution,
  ResolveError,
} from "./Candidates.js"
import { filterAllowed, filterServing, resolveCandidates, upstreamKey } from "./Candidates.js"
import { CircuitBreaker, providerScope, upstreamScope, viewKeys, viewsUnread } from "./CircuitBreaker.js"
import { KeyPool } from "./KeyPool.js"
import type { CircuitView, Plan } from "./Plan.js"
import { buildPlan } from "./Plan.js"
import type { AttemptOutcome, Verdict } from "./RetryPolicy.js"
import { classify, isConnectionFailure, isPenalisable, keyFailureOf } from "./RetryPolicy.js"
import { metricsFrom, metricsKeys, metricsUnread, RoutingMetrics } from "./RoutingMetrics.js"
import { Stickiness } from "./Stickiness.js"

export interface SessionRef {
  /** `sessionOwner(principal)`. */
  readonly owner: string
  /** The client's `X-Session-Id`, as sent. */
  readonly id: string | null | undefined
}

export interface DecideInput {
  readonly snapshot: RegistrySnapshot
  readonly requestedModel: string
  readonly modelLists: (providerId: string) => ReadonlyArray<string> | undefined
  readonly allowedProviderIds: ReadonlyArray<string> | null
  readonly session: SessionRef | null
  /** An endpoint only some upstreams have (embeddings, audio …): the others are no candidates. */
  readonly need?: EndpointNeed | undefined
}

export type DecideError = ResolveError | ModelNotSupported | ProviderNotAllowed

export interface Decision {
  readonly resolution: Resolution
  readonly plan: Plan
}

export interface AttemptRef {
  readonly logicalModel: string
  readonly candidate: Candidate
  /** The provider key used, when one was. */
  readonly keyId: string | undefined
  /** Time to the first byte (streams: to commit) or to the full response, ms. */
  readonly latencyMs: number | undefined
  /** The attempt was the half-open probe of an open circuit: its success closes the circuit. */
  readonly probe?: boolean
}

/** What a failed attempt did to routing state. */
export interface FailureRecord {
  readonly verdict: Verdict
  /**
   * The candidate's circuit is open after this failure (this failure opened it, or it was a
   * failed probe): the request should not send to it again.
   */
  readonly circuitOpen: boolean
}

/** Pending success updates before the oldest are dropped. */
const SUCCESS_QUEUE = 4096
/**
 * Successes are applied at most this often, in one batch: a busy gateway writes each record once
 * per interval instead of once per request. Routing sees them this much later, which is noise
 * next to the metrics' half-life (a probe's success, which must be seen at once, is applied inline).
 */
const SUCCESS_BATCH_INTERVAL = Duration.millis(20)

export class Router extends Effect.Service<Router>()("gateway/routing/Router", {
  scoped: Effect.gen(function* () {
    const metrics = yield* RoutingMetrics
    const breaker = yield* CircuitBreaker
    const keys = yield* KeyPool
    const sessions = yield* Stickiness
    const kv = yield* Kv

    /** Resolve, filter by the allow-list, and plan. Reads state, never writes it. */
    const decide = Effect.fnUntraced(function* (input: DecideInput) {
      const resolved = resolveCandidates(input.snapshot, input.requestedModel, input.modelLists)
      if (Either.isLeft(resolved)) return yield* Effect.fail<DecideError>(resolved.left)
      // What the model cannot do is said before what the caller may not use.
      const serving =
        input.need === undefined ? Either.right(resolved.right) : filterServing(resolved.right, input.need)
      if (Either.isLeft(serving)) return yield* Effect.fail<DecideError>(serving.left)
      const allowed = filterAllowed(serving.right, input.allowedProviderIds)
      if (Either.isLeft(allowed)) return yield* Effect.fail<DecideError>(allowed.left)
      const resolution = allowed.right
      const providerIds = [...new Set(resolution.candidates.map((c) => c.provider.id))]
      const upstreams = resolution.candidates.map((c) => ({ provider: c.provider.id, model: c.model }))
      // Both scopes: the providers' connections and the upstreams' answers.
      const scopes = providerIds.map(providerScope)
      for (const c of resolution.candidates) scopes.push(upstreamScope(c.provider.id, c.model))
      // The candidates' metrics and circuits in one store command (one round trip with Redis);
      // a store that cannot answer leaves routing without either, as each would alone.
      const keys = metricsKeys(upstreams)
      const metricCount = keys.length
      for (const key of viewKeys(scopes)) keys.push(key)
      const now = yield* Clock.currentTimeMillis
      const raw = yield* kv
        .getMany(keys)
        .pipe(
          Effect.catchAll((e) =>
            Effect.as(Effect.zipRight(metricsUnread(e), viewsUnread(e)), [] as ReadonlyArray<string | undefined>),
          ),
        )
      const stats = metricsFrom(upstreams, raw)
      const views = breaker.viewsFrom(scopes, raw.slice(metricCount), now)
      const sticky =
        input.session === null
          ? null
          : yield* sessions.target(input.session.owner, input.session.id, resolution.logicalModel)
      const draw = yield* Random.next
      const circuits = new Map<string, CircuitView>()
      if (views.size > 0) {
        for (const id of providerIds) {
          const view = views.get(providerScope(id))
          if (view !== undefined) circuits.set(id, view)
        }
        for (const c of resolution.candidates) {
          const view = views.get(upstreamScope(c.provider.id, c.model))
          if (view !== undefined) circuits.set(upstreamKey(c.provider.id, c.model), view)
        }
      }
      const plan = buildPlan({
        candidates: resolution.candidates,
        strategy: resolution.strategy,
        metrics: stats,
        circuits,
        sticky,
        now,
        random: draw,
      })
      return { resolution, plan } satisfies Decision as Decision
    })

    /**
     * May this candidate be tried now? False while its provider's or its upstream's circuit is
     * open, or another request holds the probe.
     */
    const acquire = Effect.fnUntraced(function* (candidate: Candidate) {
      if (!(yield* breaker.acquire(providerScope(candidate.provider.id)))) return false
      return yield* breaker.acquire(upstreamScope(candidate.provider.id, candidate.model))
    })

    // Success bookkeeping (metrics, circuit, key) runs off the response's critical path: a bounded
    // queue (under overload the oldest updates are dropped), emptied by one background fiber every
    // SUCCESS_BATCH_INTERVAL, which writes each record once per batch.
    const successes = yield* Queue.sliding<AttemptRef>(SUCCESS_QUEUE)
    // One batch is applied at a time (the background fiber, or `settled`).
    const applying = yield* Effect.makeSemaphore(1)
    const recordSuccesses = (batch: ReadonlyArray<AttemptRef>) => {
      const byUpstream = new Map<
        string,
        {
          provider: string
          model: string
          samples: Array<{ latencyMs: number | undefined; result: { _tag: "Success" } }>
        }
      >()
      const providers = new Set<string>()
      const providerKeys = new Map<string, { provider: string; keyId: string; model: string }>()
      for (const { candidate, keyId, latencyMs } of batch) {
        const provider = candidate.provider.id
        const upstream = upstreamKey(provider, candidate.model)
        let group = byUpstream.get(upstream)
        if (group === undefined) byUpstream.set(upstream, (group = { provider, model: candidate.model, samples: [] }))
        group.samples.push({ latencyMs, result: { _tag: "Success" } })
        providers.add(provider)
        if (keyId !== undefined)
          providerKeys.set(`${provider}\u0000${keyId}\u0000${candidate.model}`, {
            provider,
            keyId,
            model: candidate.model,
          })
      }
      return Effect.all(
        [
          Effect.forEach(byUpstream.values(), (g) => metrics.recordAll(g.provider, g.model, g.samples), {
            discard: true,
          }),
          Effect.forEach(providers, (provider) => breaker.recordSuccess(providerScope(provider)), { discard: true }),
          Effect.forEach(byUpstream.values(), (g) => breaker.recordSuccess(upstreamScope(g.provider, g.model)), {
            discard: true,
          }),
          Effect.forEach(providerKeys.values(), (k) => keys.recordSuccess(k.provider, k.keyId, k.model), {
            discard: true,
          }),
        ],
        { discard: true },
      )
    }
    const applyBatch = (batch: Chunk.Chunk<AttemptRef>) =>
      Chunk.isEmpty(batch)
        ? Effect.void
        : recordSuccesses(Chunk.toReadonlyArray(batch)).pipe(
            Effect.catchAllCause((cause) => Effect.logWarning("recording a routing success failed", cause)),
          )
    /** Applies everything queued so far; items are only ever taken under the permit. */
    const applyQueued = applying.withPermits(1)(Effect.flatMap(Queue.takeAll(successes), applyBatch))
    yield* Effect.sleep(SUCCESS_BATCH_INTERVAL).pipe(Effect.zipRight(applyQueued), Effect.forever, Effect.forkScoped)
    // What is still queued at shutdown is written before the store closes.
    yield* Effect.addFinalizer(() => applyQueued)

    /**
     * Success (non-streaming 2xx, or a stream's commit): binds the session at once (the client's
     * next request must see it), queues the metrics, circuit and key updates.
     */
    const recordSuccess = Effect.fnUntraced(function* (attempt: AttemptRef, session: SessionRef | null) {
      // A successful probe closes its circuits at once: the next request must find them closed.
      if (attempt.probe === true) {
        yield* breaker.recordSuccess(providerScope(attempt.candidate.provider.id))
        yield* breaker.recordSuccess(upstreamScope(attempt.candidate.provider.id, attempt.candidate.model))
      }
      yield* Queue.offer(successes, attempt)
      if (session !== null) {
        yield* sessions.bind(session.owner, session.id, {
          logicalModel: attempt.logicalModel,
          provider: attempt.candidate.provider.id,
          model: attempt.candidate.model,
        })
      }
    })

    /**
     * A failed attempt (also a stream cut after commit, which is still the upstream's failure:
     * docs/ARCHITECTURE.md, "Stream commit contract"): classifies it, penalises only for
     * penalisable failures — the upstream's circuit for answers about the model, the provider's
     * for failures of the connection itself — backs the key off when it is the key's fault (for
     * that model, unless the key itself was rejected), never binds the session.
     *
     * `counted`: the breaker scopes this request has already penalised. A request counts at most
     * once per scope, so its own retries are one failure and a circuit opens only after failures
     * of several distinct requests. Returns the verdict and whether the circuit is now open.
     */
    const recordFailure = Effect.fnUntraced(function* (
      attempt: AttemptRef,
      outcome: AttemptOutcome,
      counted?: Set<string>,
    ) {
      const { candidate } = attempt
      const verdict: Verdict = classify(outcome, candidate.provider)
      const penalise = isPenalisable(verdict)
      const keyKind = keyFailureOf(verdict)
      yield* metrics.record({
        provider: candidate.provider.id,
        model: candidate.model,
        latencyMs: attempt.latencyMs,
        result: penalise
          ? { _tag: "Failure", severity: verdict._tag === "Retryable" ? "retryable" : "fatal" }
          : { _tag: "Neutral" },
      })
      let circuitOpen = false
      if (penalise) {
        const scope = isConnectionFailure(outcome)
          ? providerScope(candidate.provider.id)
          : upstreamScope(candidate.provider.id, candidate.model)
        if (counted === undefined || !counted.has(scope)) {
          counted?.add(scope)
          circuitOpen = (yield* breaker.recordFailure(scope)).status === "open"
        }
      }
      if (attempt.keyId !== undefined && keyKind !== undefined) {
        yield* keys.recordFailure(
          candidate.provider.id,
          attempt.keyId,
          keyKind,
          verdict._tag === "Retryable" ? verdict.retryAfterMs : undefined,
          // A rejected key is rejected for every model; a rate limit is the model's.
          keyKind === "auth" ? undefined : candidate.model,
        )
      }
      return { verdict, circuitOpen } satisfies FailureRecord as FailureRecord
    })

    /** Waits until every success recorded so far has been applied (tests, shutdown). */
    const settled = applyQueued

    return { decide, acquire, recordSuccess, recordFailure, settled } as const
  }),
  dependencies: [RoutingMetrics.Default, CircuitBreaker.Default, KeyPool.Default, Stickiness.Default],
}) {}
