import type { SseEvent } from "../protocol/Canonical.js"
import type { PassthroughRelay } from "../protocol/Passthrough.js"
import type { Transcoder } from "../protocol/Transcoder.js"
import type { CodecStep, StreamCodec } from "./StreamCodec.js"

/** An `event: message` line is the SSE default; the protocol layer wants it absent. */
const toSseEvent = (event: SseEvent): SseEvent =>
  event.event === "message" || event.event === "" ? { data: event.data } : event

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
      return {
        frames,
        failure: { message: error.message, status: error.status, errorFrames: relay.upstreamErrorFrames },
        meaningful: true,
      }
    }
    return { frames, meaningful: relay.meaningful, done: relay.complete }
  },
  end: (): CodecStep => {
    const terminated = relay.complete
    const truncated = relay.finish()
    if (truncated !== undefined)
      return {
        frames: [],
        failure: { message: truncated.message, status: truncated.status, errorFrames: [] },
        meaningful: relay.meaningful,
      }
    return {
      frames: !terminated && terminator !== undefined ? [terminator] : [],
      done: true,
      meaningful: relay.meaningful,
    }
  },
  errorFrames: (error) => relay.errorFrames(error),
  usage: () => relay.usage,
  skippedFrames: () => relay.skippedFrames,
  transcript: relay.transcript,
})

/** Different dialects (or a continuation): upstream events are transcoded into the client's dialect. */
export const transcoderCodec = (transcoder: Transcoder): StreamCodec => {
  const observe = (frames: ReadonlyArray<string>, before: boolean): CodecStep => {
    const error = transcoder.upstreamError
    return !before && error !== undefined
      ? {
          frames,
          failure: { message: error.message, status: error.status, errorFrames: transcoder.errorFrames },
          meaningful: true,
        }
      : { frames, meaningful: transcoder.meaningful, done: transcoder.done }
  }
  return {
    step: (event) => {
      const before = transcoder.upstreamError !== undefined
      return observe(transcoder.push(toSseEvent(event)), before)
    },
    end: () => {
      const before = transcoder.upstreamError !== undefined
      const step = observe(transcoder.finish(), before)
      return step.failure ? step : { ...step, done: true }
    },
    errorFrames: (error) => transcoder.error(error),
    usage: () => transcoder.usage,
    skippedFrames: () => transcoder.skippedFrames,
    transcript: transcoder.transcript,
  }
}
