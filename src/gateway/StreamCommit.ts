import { StringDecoder } from "node:string_decoder"
import { type Duration, Effect } from "effect"
import { createParser, type EventSourceMessage } from "eventsource-parser"
import type { SseEvent } from "../protocol/Canonical.js"
import type { Transcript } from "../protocol/Transcript.js"
import type { UpstreamTransportError } from "../shared/UpstreamFailure.js"
import type { UpstreamStream } from "../upstream/UpstreamClient.js"
import { endWithError } from "./CommitFinish.js"
import {
  abortIfOpening,
  failBeforeCommit,
  handOverIfCommitted,
  openingEnd,
  openingStep,
  startFirstTokenTimer,
} from "./CommitOpening.js"
import { relayStep } from "./CommitRelay.js"
import { failAfterCommit } from "./CommitRescueHandOff.js"
import { type CommitState, errorFrame, type Origin, relays } from "./CommitState.js"
import type { StreamCodec } from "./StreamCodec.js"

export interface StreamOutcome {
  readonly complete: boolean
  readonly error?: string
  /** Ended by the gateway itself (its shutdown), not by the upstream: no failure of the upstream's. */
  readonly byGateway?: boolean
  /** The upstream's part failed, and another upstream is asked to continue the client's stream. */
  readonly rescued?: boolean
}

/** Where a committed stream is written: the client's response (backpressure through `drain`). */
export interface StreamSink {
  write(text: string): boolean
  end(): void
  once(event: "drain", listener: () => void): unknown
}

/** A stream that has committed: the client may now be answered 200 with it. */
export interface LiveStream {
  /** Writes everything produced so far, then relays the rest into `sink` and ends it. Call once. */
  readonly relayTo: (sink: StreamSink) => void
  /** The client went away: stop relaying and abort the upstream call. */
  readonly cancel: () => void
}

/**
 * Mid-stream rescue (docs/ARCHITECTURE.md): a committed stream that failed is continued by
 * another upstream's answer, spliced on. `start` looks for one and hands it over committed, or
 * `undefined` when there is none (the client then gets the in-band error, as without rescue).
 */
export interface Rescue {
  readonly start: (done: (next: LiveStream | undefined) => void) => void
  /** The client went away, or the gateway ends the stream, before `done`. */
  readonly cancel: () => void
}

export interface CommitHooks {
  /** Called once when this upstream's part ends: complete, cut, handed to a rescue, or abandoned by the client. */
  readonly onFinish: (outcome: StreamOutcome) => void
  /** Rewrites each piece of client text before it is written (a stored Responses turn's ids). */
  readonly rewrite?: (text: string) => string
  /** Sees every piece of text written to the client (session context). */
  readonly observe?: (text: string) => void
  /** After commit, a failed stream may be continued elsewhere: how, or undefined when it may not. */
  readonly rescue?: (transcript: Transcript, failure: string) => Rescue | undefined
  /**
   * The client's stream ended here (not handed to a continuation, whose own hooks then say it):
   * whether the client got a complete answer. Called once for the whole chain.
   */
  readonly onClientEnd?: (complete: boolean) => void
  /**
   * Holds the end of the client's response until `end` is called (a stored Responses turn is
   * written first, so the client's next turn finds it). Called once, when the end is due.
   */
  readonly holdEnd?: (end: () => void) => void
}

/**
 * Ends the stream being relayed into `sink` (a client response) with an in-band error in its
 * dialect, the upstream call aborted, as an idle timeout does; the server uses it for the streams
 * still running when its shutdown grace ends. False when nothing is relayed into `sink`.
 */
export const endRelayWithError = (sink: object, message: string): boolean => {
  const end = relays.get(sink)
  if (end === undefined) return false
  end(message)
  return true
}

const toSseEvent = (message: EventSourceMessage): SseEvent =>
  message.event === undefined ? { data: message.data } : { event: message.event, data: message.data }

/**
 * The stream commit contract (docs/ARCHITECTURE.md, "Stream commit contract"), driven by the
 * upstream body's own events.
 * Reads upstream events until the first meaningful one, within the time-to-first-token timeout;
 * any failure up to there fails the effect (nothing has reached the client), so the caller can
 * fail over. Succeeds with a `LiveStream`: the frames already produced, then the rest relayed as
 * they arrive, with backpressure. After commit nothing is retried: a cut, a stall past the idle
 * timeout (the upstream client's body timeout) or a malformed frame ends the client stream with
 * an in-band error, never a silent success. Interrupting the effect aborts the upstream call.
 *
 * Plain callbacks rather than an Effect `Stream`: a stream step costs tens of microseconds, paid
 * for every relayed frame of every answer.
 */
export const commitStream = (
  upstream: UpstreamStream,
  codec: StreamCodec,
  firstTokenTimeout: Duration.Duration,
  origin: Origin,
  hooks: CommitHooks,
): Effect.Effect<LiveStream, UpstreamTransportError> =>
  Effect.async<LiveStream, UpstreamTransportError>((resume) => {
    const s: CommitState = {
      upstream,
      codec,
      origin,
      hooks,
      resume,
      parser: createParser({ onEvent: (message) => upstreamEvent(s, message) }),
      decoder: new StringDecoder("utf8"),
      phase: "opening",
      pending: "",
      sink: undefined,
      awaitingDrain: false,
      committed: false,
      handedOver: false,
      upstreamDone: false,
      firstTokenTimer: undefined,
      drainTimer: undefined,
      rescue: undefined,
      continuation: undefined,
      onData: (chunk) => bodyData(s, chunk),
      onEnd: () => bodyEnd(s),
      onError: (error) => bodyError(s, error),
      resumeIfRelaying: () => {
        s.awaitingDrain = false
        if (s.phase === "relaying") s.upstream.body.resume()
      },
      endWithError: (message) => endWithError(s, message),
    }
    startFirstTokenTimer(s, firstTokenTimeout)
    upstream.body.on("data", s.onData)
    upstream.body.on("end", s.onEnd)
    upstream.body.on("error", s.onError)
    return Effect.sync(() => abortIfOpening(s))
  })

/** One upstream SSE event, in whichever phase the stream is. */
const upstreamEvent = (s: CommitState, message: EventSourceMessage) => {
  if (s.phase !== "opening" && s.phase !== "committed" && s.phase !== "relaying") return
  const step = s.codec.step(toSseEvent(message))
  if (s.phase === "opening") openingStep(s, step)
  else relayStep(s, step)
}

/** One network read: its events, then the hand-over if one of them committed. */
const bodyData = (s: CommitState, chunk: Buffer) => {
  s.parser.feed(s.decoder.write(chunk))
  handOverIfCommitted(s)
}

const bodyEnd = (s: CommitState) => {
  clearTimeout(s.drainTimer)
  if (s.upstreamDone) return
  s.parser.feed(s.decoder.end())
  s.parser.reset({ consume: true })
  // The last event, without its closing blank line, may have ended the stream.
  if (s.upstreamDone) return handOverIfCommitted(s)
  const last = s.codec.end()
  if (s.phase === "opening") return openingEnd(s, last)
  relayStep(s, last)
}

const bodyError = (s: CommitState, error: unknown) => {
  if (s.upstreamDone || s.phase === "finished") return
  const failure = s.upstream.bodyError(error)
  if (s.phase === "opening") return failBeforeCommit(s, failure)
  failAfterCommit(s, failure.message, errorFrame(s, failure.message, failure.reason === "idle_timeout"))
}
