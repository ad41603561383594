import type { Sse } from "@effect/experimental"
import type { ErrorInfo, SseEvent } from "../protocol/Canonical.js"
import type { PassthroughRelay } from "../protocol/Passthrough.js"
import type { Transcoder } from "../protocol/Transcoder.js"
import type { CodecStep, StreamCodec } from "./StreamCodec.js"

/** `Sse.Event` names a missing `event:` line "message"; the protocol layer wants it absent. */
const toSseEvent = (event: Sse.Event): SseEvent =>
  event.event === "message" || event.event === "" ? { data: event.data } : { event: event.event, data: event.data }

const failureOf = (error: ErrorInfo) => ({ message: error.message, status: error.status, reported: true })

/** Same dialect on both sides: frames are forwarded as received, observed for usage and commit. */
export const relayCodec = (relay: PassthroughRelay): StreamCodec => ({
  step: (event): CodecStep => {
    const before = relay.upstreamError
    const frame = relay.push(toSseEvent(event))
    const frames = frame === "" ? [] : [frame]
    if (before === undefined && relay.upstreamError !== undefined) {
      return { frames, failure: failureOf(relay.upstreamError), meaningful: true }
    }
    return { frames, meaningful: relay.meaningful, done: relay.complete }
  },
  end: (): CodecStep => {
    const truncated = relay.finish()
    if (truncated !== undefined) return { frames: [], failure: { message: truncated.message, status: truncated.status, reported: false }, meaningful: relay.meaningful }
    return { frames: [], done: true, meaningful: relay.meaningful }
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
