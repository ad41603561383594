import type { ErrorInfo, SseEvent } from "../protocol/Canonical.js"
import type { PassthroughRelay } from "../protocol/Passthrough.js"
import type { Transcoder } from "../protocol/Transcoder.js"
import type { CodecStep, StreamCodec } from "./StreamCodec.js"

/** An `event: message` line is the SSE default; the protocol layer wants it absent. */
const toSseEvent = (event: SseEvent): SseEvent =>
  event.event === "message" || event.event === "" ? { data: event.data } : event

const failureOf = (error: ErrorInfo) => ({ message: error.message, status: error.status, reported: true })

/** The decoders' code for a frame they could not read (as opposed to an upstream's own error event). */
const MALFORMED = "upstream_malformed_frame"

/**
 * Same dialect on both sides: frames are forwarded as received, observed for usage and commit.
 * `terminator`: the dialect's end-of-stream frame (OpenAI chat `[DONE]`), added when an upstream
 * finished its answer but left it out, so the client sees the ending its SDK waits for.
 */
export const relayCodec = (relay: PassthroughRelay, terminator?: string): StreamCodec => ({
  step: (event): CodecStep => {
    const before = relay.upstreamError
    const frame = relay.push(toSseEvent(event))
    const frames = frame === "" ? [] : [frame]
    if (before === undefined && relay.upstreamError !== undefined) {
      const error = relay.upstreamError
      // An unreadable frame is not relayed: the client gets an error it can parse instead.
      if (error.code === MALFORMED) return { frames: [], failure: { message: error.message, status: error.status, reported: false }, meaningful: true }
      return { frames, failure: failureOf(error), meaningful: true }
    }
    return { frames, meaningful: relay.meaningful, done: relay.complete }
  },
  end: (): CodecStep => {
    const terminated = relay.complete
    const truncated = relay.finish()
    if (truncated !== undefined) return { frames: [], failure: { message: truncated.message, status: truncated.status, reported: false }, meaningful: relay.meaningful }
    return { frames: !terminated && terminator !== undefined ? [terminator] : [], done: true, meaningful: relay.meaningful }
  },
  errorFrames: (error) => relay.errorFrames(error),
  usage: () => relay.usage,
})

/** Different dialects: upstream events are transcoded into the client's dialect. */
export const transcoderCodec = (transcoder: Transcoder): StreamCodec => {
  const observe = (frames: ReadonlyArray<string>, before: ErrorInfo | undefined): CodecStep =>
    before === undefined && transcoder.upstreamError !== undefined
      ? { frames, failure: failureOf(transcoder.upstreamError), meaningful: true }
      : { frames, meaningful: transcoder.meaningful, done: transcoder.done }
  return {
    step: (event) => {
      const before = transcoder.upstreamError
      return observe(transcoder.push(toSseEvent(event)), before)
    },
    end: () => {
      const before = transcoder.upstreamError
      const step = observe(transcoder.finish(), before)
      return step.failure ? step : { ...step, done: true }
    },
    errorFrames: (error) => transcoder.error(error),
    usage: () => transcoder.usage,
  }
}
