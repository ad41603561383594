import { type Duration, Effect, Either, type Fiber } from "effect"
import type { RescueOutcome } from "../metrics/Metrics.js"
import type { ContinuationMode } from "../protocol/Continuation.js"
import type { Transcript } from "../protocol/Transcript.js"
import type { Provider } from "../registry/Provider.js"
import type { Candidate } from "../routing/Candidates.js"
import type { NoAvailableKey } from "../routing/KeyPool.js"
import { addAttempt, type RequestRecord } from "../shared/RequestRecord.js"
import { UpstreamTransportError } from "../shared/UpstreamFailure.js"
import type { RequestTrace } from "../telemetry/Tracing.js"
import type { UpstreamClientService } from "../upstream/UpstreamClient.js"
import { startAttemptSpan } from "./AttemptSpan.js"
import { type ClientRequest, planContinuation } from "./Exchange.js"
import { attemptOutcomeOf, attemptStatusOf } from "./FailureOutcome.js"
import type { RequestLimits } from "./RequestLimits.js"
import { logRequestWarning } from "./RequestLog.js"
import type { StreamCodec } from "./StreamCodec.js"
import type { CommitHooks, LiveStream, Rescue } from "./StreamCommit.js"
import { openCommitted } from "./UpstreamCall.js"

/**
 * Mid-stream rescue (docs/ARCHITECTURE.md "Mid-stream rescue"): a stream that failed after the
 * client got its first bytes is continued by another upstream instead of ending in an error.
 *
 * Targets: the candidates after the one that failed, in plan order, then the failed one itself
 * after a short back-off. Per target: with the delivered text as an assistant prefill where the
 * target takes one (Anthropic by default, `prefill` providers), and when it refuses (any 400 to a
 * prefilled request) or takes none, the original request again, forwarding only what follows the
 * text the client has — if the new answer starts with exactly that text. A continuation commits
 * like any stream (StreamCommit); one that fails before commit moves on to the next target.
 * Nothing here is retried on a schedule: a rescue is bounded by its targets and `maxRescues`.
 */

/** Who is asked to continue a stream that broke, and how the continuation is accounted. */
export interface RescueScope {
  readonly client: ClientRequest
  /** Candidates to ask, best first. */
  readonly targets: ReadonlyArray<Candidate>
  /** Continuations this request may still start (a continuation that breaks may be rescued too). */
  readonly budget: number
  readonly requestId: string | undefined
  /** The request log's record: every continuation asked is one of its attempts. */
  readonly record?: RequestRecord | undefined
  /** The request's time limits (its logical model's own, or the defaults): continuations keep them. */
  readonly limits: RequestLimits
  /** Accounting of one continuation attempt (its usage, its failure), with a rescue of its own. */
  readonly hooksFor: (scope: RescueScope, candidate: Candidate, keyId: string) => (codec: StreamCodec) => CommitHooks
  /** The request's trace, when tracing is on: each continuation call gets a span beneath it. */
  readonly trace?: RequestTrace | undefined
}

export interface RescueDeps {
  readonly upstream: UpstreamClientService
  readonly pickKey: (candidate: Candidate) => Effect.Effect<Provider["keys"][number], NoAvailableKey>
  /** Back-off before the candidate that failed is asked again. */
  readonly sameTargetBackoff: Duration.Duration
  readonly runFork: <A>(effect: Effect.Effect<A>) => Fiber.RuntimeFiber<A>
  /** What became of a stream that broke (metrics); not called when the client left during the search. */
  readonly observeRescue: (outcome: RescueOutcome) => void
}

/** Whether a provider is asked with an assistant prefill (Anthropic continues one; OpenAI-style APIs answer anew). */
export const takesPrefill = (provider: Provider): boolean => provider.prefill ?? provider.protocol === "anthropic"

const isPrefillRefusal = (failure: unknown): boolean =>
  typeof failure === "object" &&
  failure !== null &&
  (failure as { _tag?: string })._tag === "UpstreamStatusError" &&
  (failure as { status?: number }).status === 400

/** One continuation on one target: sent, then committed (its first new content). */
const continueOn = (
  deps: RescueDeps,
  scope: RescueScope,
  transcript: Transcript,
  candidate: Candidate,
  mode: ContinuationMode,
) =>
  Effect.gen(function* () {
    const exchange = planContinuation(scope.client, candidate, transcript, mode)
    if (Either.isLeft(exchange)) {
      const message = exchange.left._tag === "BadRequest" ? exchange.left.error.message : exchange.left.message
      return yield* new UpstreamTransportError({
        provider: candidate.provider.id,
        model: candidate.model,
        reason: "malformed",
        message,
      })
    }
    const key = yield* Effect.mapError(
      deps.pickKey(candidate),
      (e) =>
        new UpstreamTransportError({
          provider: candidate.provider.id,
          model: candidate.model,
          reason: "connect",
          message: `no key available: ${e.reason}`,
        }),
    )
    const span =
      scope.trace === undefined
        ? undefined
        : startAttemptSpan(scope.trace, exchange.right, candidate, { rescue: mode }, true)
    const { url, body, headers } = span === undefined ? exchange.right : span.exchange
    const request = { provider: candidate.provider, key, model: candidate.model, url, body, headers, stream: true }
    const codec = exchange.right.streamCodec()
    const served = { provider: candidate.provider.id, model: candidate.model, attempts: 1 }
    const hooks = scope.hooksFor(scope, candidate, key.id)
    if (span === undefined)
      return yield* openCommitted(deps.upstream, request, codec, scope.limits, served, hooks(codec))
    return yield* span.watch(
      openCommitted(deps.upstream, request, codec, scope.limits, served, span.streamHooks(hooks)(codec)),
    )
  })

/** The first continuation that commits, over every target and mode; `undefined` when none does. */
const search = (deps: RescueDeps, scope: RescueScope, transcript: Transcript, failed: Candidate) =>
  Effect.gen(function* () {
    for (const candidate of scope.targets) {
      if (candidate === failed) yield* Effect.sleep(deps.sameTargetBackoff)
      const modes: ReadonlyArray<ContinuationMode> = takesPrefill(candidate.provider)
        ? ["prefill", "restart"]
        : ["restart"]
      for (const mode of modes) {
        const started = Date.now()
        const result = yield* Effect.either(continueOn(deps, scope, transcript, candidate, mode))
        const target = { provider: candidate.provider.id, model: candidate.model, mode }
        if (Either.isRight(result))
          addAttempt(scope.record, target.provider, target.model, "ok", 200, Date.now() - started)
        else
          addAttempt(
            scope.record,
            target.provider,
            target.model,
            attemptOutcomeOf(result.left),
            attemptStatusOf(result.left),
            Date.now() - started,
          )
        if (Either.isRight(result)) {
          yield* logRequestWarning(scope.requestId, "stream rescued", target)
          return result.right
        }
        yield* logRequestWarning(scope.requestId, "continuation failed", { ...target, message: result.left.message })
        // A prefill the target refuses is never the client's error: ask again without it.
        if (!(mode === "prefill" && isPrefillRefusal(result.left))) break
      }
    }
    return undefined
  })

/** A search for a continuation of the stream `failed` served, run in the background until `done` or `cancel`. */
const backgroundSearch = (
  deps: RescueDeps,
  scope: RescueScope,
  failed: Candidate,
  transcript: Transcript,
  failure: string,
): Rescue => {
  let fiber: Fiber.RuntimeFiber<LiveStream | undefined> | undefined
  return {
    start: (done) => {
      const brokeAt = { provider: failed.provider.id, model: failed.model, failure }
      fiber = deps.runFork(
        logRequestWarning(scope.requestId, "stream broke after commit; asking for a continuation", brokeAt).pipe(
          Effect.zipRight(search(deps, { ...scope, budget: scope.budget - 1 }, transcript, failed)),
          Effect.catchAllCause((cause) => Effect.as(Effect.logError("stream rescue failed", cause), undefined)),
          Effect.tap((next) =>
            Effect.sync(() => {
              deps.observeRescue(next === undefined ? "failed" : "rescued")
              done(next)
            }),
          ),
        ),
      )
    },
    cancel: () => {
      fiber?.unsafeInterruptAsFork(fiber.id())
    },
  }
}

/** The `rescue` hook of a stream served by `failed`, within `scope`: no rescue when the budget, the targets or the transcript say so. */
export const makeRescuer =
  (deps: RescueDeps) =>
  (scope: RescueScope, failed: Candidate) =>
  (transcript: Transcript, failure: string): Rescue | undefined => {
    if (scope.budget <= 0 || scope.targets.length === 0) {
      deps.observeRescue("not_possible")
      return undefined
    }
    if (transcript.blocker !== undefined) {
      deps.observeRescue("not_possible")
      deps.runFork(logRequestWarning(scope.requestId, "stream not rescued", { reason: transcript.blocker, failure }))
      return undefined
    }
    return backgroundSearch(deps, scope, failed, transcript, failure)
  }
