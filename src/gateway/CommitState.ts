import type { StringDecoder } from "node:string_decoder"
import type { Effect } from "effect"
import type { EventSourceParser } from "eventsource-parser"
import { UpstreamTransportError } from "../shared/UpstreamFailure.js"
import type { UpstreamStream } from "../upstream/UpstreamClient.js"
import type { StreamCodec } from "./StreamCodec.js"
import type { CommitHooks, LiveStream, Rescue, StreamSink } from "./StreamCommit.js"

/** Which upstream a stream comes from, for its errors. */
export interface Origin {
  readonly provider: string
  readonly model: string
}

/**
 * opening: before commit · committed: waiting for `relayTo` · relaying · rescuing: the upstream
 * failed and a continuation is sought · handedOff: a continuation relays into the client ·
 * finished
 */
export type Phase = "opening" | "committed" | "relaying" | "rescuing" | "handedOff" | "finished"

/**
 * One stream under the commit contract (StreamCommit): everything its steps share. One record
 * per upstream call; the steps are plain functions over it (CommitOpening, CommitRelay,
 * CommitRescueHandOff, CommitFinish), so a relayed frame costs no allocation of its own.
 */
export interface CommitState {
  readonly upstream: UpstreamStream
  readonly codec: StreamCodec
  readonly origin: Origin
  readonly hooks: CommitHooks
  /** Completes the `commitStream` effect: the live stream, or the failure before commit. */
  readonly resume: (effect: Effect.Effect<LiveStream, UpstreamTransportError>) => void
  readonly parser: EventSourceParser
  // undici's body ignores `setEncoding`: decode here (a character may span two reads).
  readonly decoder: StringDecoder
  phase: Phase
  /** Client text produced before `relayTo` gave a sink. */
  pending: string
  sink: StreamSink | undefined
  awaitingDrain: boolean
  /** The first meaningful event was read: the stream is handed over once the current network read is parsed. */
  committed: boolean
  handedOver: boolean
  /** This upstream's part is over (complete, cut, rescued or abandoned). */
  upstreamDone: boolean
  firstTokenTimer: ReturnType<typeof setTimeout> | undefined
  drainTimer: ReturnType<typeof setTimeout> | undefined
  rescue: Rescue | undefined
  continuation: LiveStream | undefined
  /** The body's listeners, kept to be detached. */
  readonly onData: (chunk: Buffer) => void
  readonly onEnd: () => void
  readonly onError: (error: unknown) => void
  readonly resumeIfRelaying: () => void
  /** Ends the committed stream from outside (server shutdown), registered per sink in `relays`. */
  readonly endWithError: (message: string) => void
}

/** The relay writing into each sink (a client response), for `endRelayWithError`. */
export const relays = new WeakMap<object, (message: string) => void>()

export const transportError = (s: CommitState, reason: UpstreamTransportError["reason"], message: string) =>
  new UpstreamTransportError({ provider: s.origin.provider, model: s.origin.model, reason, message })

/** The gateway's own in-band error in the client's dialect: a timeout (504) or a broken stream (502). */
export const errorFrame = (s: CommitState, message: string, timedOut = false): string =>
  s.codec
    .errorFrames({
      kind: timedOut ? "timeout" : "server",
      message,
      status: timedOut ? 504 : 502,
      code: timedOut ? "upstream_timeout" : "upstream_stream_error",
    })
    .join("")

/** Stops listening to the upstream body. */
export const detach = (s: CommitState) => {
  clearTimeout(s.firstTokenTimer)
  const body = s.upstream.body
  body.off("data", s.onData)
  body.off("end", s.onEnd)
  body.off("error", s.onError)
}

/** The client is slow: stop reading the upstream until it drains. */
export const waitForDrain = (s: CommitState, target: StreamSink) => {
  s.upstream.body.pause()
  if (s.awaitingDrain) return
  s.awaitingDrain = true
  target.once("drain", s.resumeIfRelaying)
}

/** Text for the client: written with backpressure, or held until there is a sink. */
export const out = (s: CommitState, given: string) => {
  if (given === "") return
  const text = s.hooks.rewrite === undefined ? given : s.hooks.rewrite(given)
  s.hooks.observe?.(text)
  if (s.sink === undefined) {
    s.pending += text
    return
  }
  if (!s.sink.write(text)) waitForDrain(s, s.sink)
}

/** Ends the client's response, once what `holdEnd` waits for is done. */
export const endSink = (s: CommitState, sink: StreamSink) => {
  if (s.hooks.holdEnd === undefined) sink.end()
  else s.hooks.holdEnd(() => sink.end())
}
