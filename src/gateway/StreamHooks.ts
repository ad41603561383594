import { SpanStatusCode } from "@opentelemetry/api"
import { Effect } from "effect"
import type { ConversationContext, SnippetCollector } from "../conversation/ConversationContext.js"
import { countsTokens } from "../identity/RateLimit.js"
import { deliveredText } from "../protocol/Transcript.js"
import type { AttemptRef, Router } from "../routing/Router.js"
import {
  addCost,
  addUsage,
  captureAnswer,
  endStreamPart,
  type RequestRecord,
  setStreamAnswer,
} from "../shared/RequestRecord.js"
import type { RequestTrace } from "../telemetry/Tracing.js"
import type { Metered } from "./BodyRelay.js"
import type { Served } from "./GatewayRequest.js"
import type { makeRescuer, RescueDeps, RescueScope } from "./MidStreamRescue.js"
import { logRequestWarning } from "./RequestLog.js"
import { contextEntry, type Walk } from "./RequestWalk.js"
import type { TurnFinisher } from "./ResponsesFinish.js"
import type { CommitHooks, StreamOutcome } from "./StreamCommit.js"
import type { UsageRecording } from "./UsageRecording.js"

export interface StreamHooksDeps {
  readonly router: Router
  readonly sessionContext: ConversationContext
  readonly usage: UsageRecording
  readonly runInBackground: RescueDeps["runFork"]
  readonly rescuer: ReturnType<typeof makeRescuer>
  readonly turns: TurnFinisher
}

type Ref = Omit<AttemptRef, "latencyMs">

/**
 * What an upstream's finished part leaves behind: its usage and how it ended in the request
 * log's record (at once: the record is written when the response closes), then, in the
 * background, usage, a failure, a log line.
 */
const afterFinish = (
  deps: StreamHooksDeps,
  walk: Walk,
  served: Served,
  ref: Ref,
  codec: Metered,
  outcome: StreamOutcome,
  continuation: boolean,
) => {
  const { request } = walk
  addUsage(request.record, codec.usage())
  endStreamPart(request.record, outcome, continuation)
  if (request.record?.logBodies === true) {
    // A continuation's transcript starts with what the client already had: the last part's is the whole answer.
    const transcript = codec.transcript?.()
    setStreamAnswer(
      request.record,
      transcript === undefined || transcript.blocker !== undefined ? undefined : deliveredText(transcript),
    )
  }
  addCost(
    request.record,
    deps.usage.recordAnswered(request.principal, served, codec.usage(), outcome.complete, walk.client),
  )
  const work: Array<Effect.Effect<unknown>> = []
  if (countsTokens(request.principal)) work.push(deps.usage.recordUsage(request.principal, codec.usage()))
  if (!outcome.complete && outcome.error !== "client disconnected" && outcome.byGateway !== true) {
    work.push(
      deps.router.recordFailure(
        { ...ref, latencyMs: undefined },
        { _tag: "TransportError", kind: "reset", message: outcome.error },
      ),
    )
  }
  if (codec.skippedFrames() > 0) {
    work.push(
      logRequestWarning(request.requestId, "skipped unreadable upstream stream frames", {
        provider: served.provider,
        model: served.model,
        frames: codec.skippedFrames(),
      }),
    )
  }
  if (work.length > 0) deps.runInBackground(Effect.all(work, { discard: true }))
}

/** What sees the text written to the client: the session's collector, and the request log when the key keeps bodies. */
const observerOf = (
  collected: SnippetCollector | undefined,
  record: RequestRecord | undefined,
): ((text: string) => void) | undefined => {
  if (record?.logBodies !== true) return collected?.add
  if (collected === undefined) return (text) => captureAnswer(record, text)
  return (text) => {
    collected.add(text)
    captureAnswer(record, text)
  }
}

/**
 * The commit hooks of one stream served for `walk`; the rescue scope is built only when the stream
 * breaks. One object literal of a fixed shape (no spreads of conditional objects, which cost a
 * runtime copy per stream); a Responses turn's hooks come first, so these win as before.
 */
const hooksFor =
  (
    deps: StreamHooksDeps,
    walk: Walk,
    served: Served,
    ref: Ref,
    rescueScope: () => RescueScope | undefined,
    collected: SnippetCollector | undefined,
    continuation: boolean,
  ) =>
  (codec: Metered): CommitHooks => {
    const observe = observerOf(collected, walk.request.record)
    const hooks: { -readonly [K in keyof CommitHooks]: CommitHooks[K] } = {
      rescue: (transcript, failure) => {
        const scope = rescueScope()
        return scope === undefined ? undefined : deps.rescuer(scope, ref.candidate)(transcript, failure)
      },
      onFinish: (outcome: StreamOutcome) => afterFinish(deps, walk, served, ref, codec, outcome, continuation),
    }
    if (observe !== undefined) hooks.observe = observe
    if (collected !== undefined) {
      hooks.onClientEnd = (complete: boolean) =>
        deps.runInBackground(
          deps.sessionContext.append({
            ...contextEntry(walk, served),
            stream: true,
            complete,
            response: collected.text(),
          }),
        )
    }
    const turn = walk.client.turn
    const all =
      turn === undefined
        ? hooks
        : { ...deps.turns.streamHooks(turn, walk.exchange?.state, served, ref.keyId, walk.request.requestId), ...hooks }
    return walk.request.trace === undefined ? all : withOutcomeTraced(all, walk.request.trace)
  }

/** The request's span learns how the client's stream ended (continuations included): complete, or cut. */
const withOutcomeTraced = (hooks: CommitHooks, trace: RequestTrace): CommitHooks => ({
  ...hooks,
  onClientEnd: (complete) => {
    hooks.onClientEnd?.(complete)
    trace.span.setAttribute("apiproxy.stream.outcome", complete ? "complete" : "cut")
    if (!complete) trace.span.setStatus({ code: SpanStatusCode.ERROR, message: "the answer stream was cut" })
  },
})

/** Who continues a stream of candidate `index` that breaks: the later candidates, then itself. */
const rescueScopeFor = (
  deps: StreamHooksDeps,
  walk: Walk,
  index: number,
  collected: SnippetCollector | undefined,
): RescueScope | undefined => {
  // A provider that keeps the conversation itself cannot take a continuation from elsewhere.
  if (walk.limits.rescues === 0 || !walk.client.stream || walk.exchange?.state === "native") return undefined
  const later = walk.candidates.slice(index + 1).map((p) => p.candidate)
  return {
    client: walk.client,
    targets: [...later.filter((c) => walk.tooLong?.has(c.model) !== true), walk.candidates[index]!.candidate],
    budget: walk.limits.rescues,
    requestId: walk.request.requestId,
    record: walk.request.record,
    limits: walk.limits,
    trace: walk.request.trace,
    hooksFor: (scope, candidate, keyId) => {
      const served: Served = { provider: candidate.provider.id, model: candidate.model, attempts: walk.attempts }
      const continuationRef = { logicalModel: walk.resolution.logicalModel, candidate, keyId, probe: false }
      return hooksFor(deps, walk, served, continuationRef, () => scope, collected, true)
    },
  }
}

/**
 * After commit, a stream that does not finish cleanly is still the upstream's failure; its
 * tokens count. A broken stream is continued elsewhere when it can be (MidStreamRescue); a
 * continuation is accounted the same way. The session keeps what the client was sent: one
 * entry for the whole chain (`collected` is shared along it), written when the client's
 * stream ends.
 */
export const makeStreamHooks = (deps: StreamHooksDeps) => ({
  hooksFor: (
    walk: Walk,
    served: Served,
    ref: Ref,
    rescueScope: () => RescueScope | undefined,
    collected: SnippetCollector | undefined,
  ) => hooksFor(deps, walk, served, ref, rescueScope, collected, false),
  rescueScopeFor: (walk: Walk, index: number, collected: SnippetCollector | undefined) =>
    rescueScopeFor(deps, walk, index, collected),
})

export type StreamHooks = ReturnType<typeof makeStreamHooks>
