/**
 * The routing facade the gateway calls: the pure core (Candidates → Plan → RetryPolicy) fed
 * and updated by the small services (RoutingMetrics, CircuitBreaker, KeyPool, Stickiness).
 *
 *   const { resolution, plan } = yield* router.decide({ ... })      // no side effects (W10)
 *   for (const attempt of plan.attempts) {
 *     if (!(yield* router.acquire(attempt.candidate))) continue      // open / probe taken
 *     const key = yield* keyPool.pick(attempt.candidate.provider, triedKeys)
 *     … send; on 2xx / commit: router.recordSuccess(…); on failure: router.recordFailure(…)
 *     → a Verdict: retry (RetryPolicy.decideRetry / retrySchedule), rotate key, fail over, or stop
 *   }
 */
import { Effect, Either, Random } from "effect"
import type { RegistrySnapshot } from "../registry/Provider.js"
import type { Candidate, ProviderNotAllowed, Resolution, ResolveError } from "./Candidates.js"
import { filterAllowed, resolveCandidates } from "./Candidates.js"
import { CircuitBreaker, providerScope } from "./CircuitBreaker.js"
import { KeyPool } from "./KeyPool.js"
import type { CircuitView, Plan } from "./Plan.js"
import { buildPlan } from "./Plan.js"
import type { AttemptOutcome, Verdict } from "./RetryPolicy.js"
import { classify, isPenalisable, keyFailureOf } from "./RetryPolicy.js"
import { RoutingMetrics } from "./RoutingMetrics.js"
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
}

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
}

export class Router extends Effect.Service<Router>()("gateway/routing/Router", {
  effect: Effect.gen(function* () {
    const metrics = yield* RoutingMetrics
    const breaker = yield* CircuitBreaker
    const keys = yield* KeyPool
    const sessions = yield* Stickiness

    /** Resolve, filter by the allow-list, and plan. Reads state, never writes it. */
    const decide = Effect.fn("Router.decide")(function* (input: DecideInput) {
      const resolved = resolveCandidates(input.snapshot, input.requestedModel, input.modelLists)
      if (Either.isLeft(resolved)) return yield* Effect.fail<ResolveError | ProviderNotAllowed>(resolved.left)
      const allowed = filterAllowed(resolved.right, input.allowedProviderIds)
      if (Either.isLeft(allowed)) return yield* Effect.fail<ResolveError | ProviderNotAllowed>(allowed.left)
      const resolution = allowed.right
      const providerIds = [...new Set(resolution.candidates.map((c) => c.provider.id))]
      const [stats, views, sticky, now, draw] = yield* Effect.all(
        [
          metrics.getMany(resolution.candidates.map((c) => ({ provider: c.provider.id, model: c.model }))),
          breaker.views(providerIds.map(providerScope)),
          input.session === null
            ? Effect.succeed(null)
            : sessions.target(input.session.owner, input.session.id, resolution.logicalModel),
          Effect.clockWith((c) => c.currentTimeMillis),
          Random.next,
        ],
        { concurrency: "unbounded" },
      )
      const circuits = new Map<string, CircuitView>()
      for (const id of providerIds) {
        const view = views.get(providerScope(id))
        if (view !== undefined) circuits.set(id, view)
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

    /** May this candidate be tried now? False while its circuit is open or another request holds the probe. */
    const acquire = Effect.fn("Router.acquire")(function* (candidate: Candidate) {
      return yield* breaker.acquire(providerScope(candidate.provider.id))
    })

    /**
     * Success (non-streaming 2xx, or a stream's commit): metrics, circuit, key, and the session
     * binding when a session was given.
     */
    const recordSuccess = Effect.fn("Router.recordSuccess")(function* (attempt: AttemptRef, session: SessionRef | null) {
      const { candidate } = attempt
      yield* Effect.all(
        [
          metrics.record({ provider: candidate.provider.id, model: candidate.model, latencyMs: attempt.latencyMs, result: { _tag: "Success" } }),
          breaker.recordSuccess(providerScope(candidate.provider.id)),
          attempt.keyId === undefined ? Effect.void : keys.recordSuccess(candidate.provider.id, attempt.keyId),
          session === null
            ? Effect.void
            : sessions.bind(session.owner, session.id, {
                logicalModel: attempt.logicalModel,
                provider: candidate.provider.id,
                model: candidate.model,
              }),
        ],
        { concurrency: "unbounded", discard: true },
      )
    })

    /**
     * A failed attempt (also a stream cut after commit, W4): classifies it, penalises the
     * provider only for penalisable failures, backs the key off when it is the key's fault,
     * never binds the session. Returns the verdict for the retry/failover decision.
     */
    const recordFailure = Effect.fn("Router.recordFailure")(function* (attempt: AttemptRef, outcome: AttemptOutcome) {
      const { candidate } = attempt
      const verdict: Verdict = classify(outcome, candidate.provider)
      const penalise = isPenalisable(verdict)
      const keyKind = keyFailureOf(verdict)
      yield* Effect.all(
        [
          metrics.record({
            provider: candidate.provider.id,
            model: candidate.model,
            latencyMs: attempt.latencyMs,
            result: penalise
              ? { _tag: "Failure", severity: verdict._tag === "Retryable" ? "retryable" : "fatal" }
              : { _tag: "Neutral" },
          }),
          penalise ? breaker.recordFailure(providerScope(candidate.provider.id)) : Effect.void,
          attempt.keyId === undefined || keyKind === undefined
            ? Effect.void
            : keys.recordFailure(
                candidate.provider.id,
                attempt.keyId,
                keyKind,
                verdict._tag === "Retryable" ? verdict.retryAfterMs : undefined,
              ),
        ],
        { concurrency: "unbounded", discard: true },
      )
      return verdict
    })

    return { decide, acquire, recordSuccess, recordFailure } as const
  }),
  dependencies: [RoutingMetrics.Default, CircuitBreaker.Default, KeyPool.Default, Stickiness.Default],
}) {}
