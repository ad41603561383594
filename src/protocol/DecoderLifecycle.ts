/**
 * What every stream decoder shares: each upstream frame's data read as a JSON object (blank and
 * unreadable frames handled here), nothing decoded once the stream has finished, and at the end of
 * the body either `end` or a truncation error. The dialect decodes the objects.
 */
import type { SseEvent, StreamDecoder, StreamEvent } from "./Canonical.js"
import { isObject, type JsonObject, parseJson } from "./Json.js"
import { malformedFrame, truncatedStream } from "./StreamFailures.js"

/** A frame's JSON object, or the events a decoder emits instead of decoding one. */
type FrameReading = JsonObject | ReadonlyArray<StreamEvent>

/**
 * Reads trimmed frame data. A blank frame and `[DONE]` yield no events; unreadable text yields
 * one malformed-frame error, and the stream goes on: the caller decides whether to skip it.
 */
const readFrame = (data: string): FrameReading => {
  if (data === "" || data === "[DONE]") return []
  const parsed = parseJson(data)
  if (!parsed.ok || !isObject(parsed.value))
    return [{ type: "error", error: malformedFrame(parsed.ok ? "not an object" : parsed.error) }]
  return parsed.value
}

const isEvents = (r: FrameReading): r is ReadonlyArray<StreamEvent> => Array.isArray(r)

export interface DecoderSteps<S> {
  /** One frame's object → canonical events; sets `finished` on the stream's last event or an error. */
  readonly decode: (state: S, frame: JsonObject, event: SseEvent) => ReadonlyArray<StreamEvent>
  /** At the end of the body (no end marker seen): whether the answer was complete anyway. */
  readonly completeWithoutMarker: (state: S) => boolean
  /** For a dialect that gives `[DONE]` a meaning: its events (else `[DONE]` is ignored). */
  readonly done?: (state: S) => ReadonlyArray<StreamEvent>
}

/** A decoder over the dialect's per-stream `state`. */
export const decoderOf = <S extends { finished: boolean }>(state: S, steps: DecoderSteps<S>): StreamDecoder => ({
  push: (ev) => {
    if (state.finished) return []
    const data = ev.data.trim()
    if (data === "[DONE]" && steps.done !== undefined) return steps.done(state)
    const o = readFrame(data)
    return isEvents(o) ? o : steps.decode(state, o, ev)
  },
  finish: () => {
    if (state.finished) return []
    state.finished = true
    return steps.completeWithoutMarker(state) ? [{ type: "end" }] : [{ type: "error", error: truncatedStream() }]
  },
})
