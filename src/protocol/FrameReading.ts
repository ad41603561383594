/** The first step of every stream decoder: one upstream SSE frame's data read as a JSON object. */
import type { StreamEvent } from "./Canonical.js"
import { isObject, parseJson, type JsonObject } from "./Json.js"
import { malformedFrame, truncatedStream } from "./StreamFailures.js"

/** A frame's JSON object, or the events a decoder emits instead of decoding one. */
export type FrameReading = JsonObject | ReadonlyArray<StreamEvent>

/**
 * Reads trimmed frame data. A blank frame and `[DONE]` (a decoder that gives `[DONE]` a meaning
 * checks for it first) yield no events; unreadable text yields one malformed-frame error, and the
 * stream goes on: the caller decides whether to skip it.
 */
export const readFrame = (data: string): FrameReading => {
  if (data === "" || data === "[DONE]") return []
  const parsed = parseJson(data)
  if (!parsed.ok || !isObject(parsed.value)) return [{ type: "error", error: malformedFrame(parsed.ok ? "not an object" : parsed.error) }]
  return parsed.value
}

/** Whether `readFrame` gave events to emit rather than an object to decode. */
export const isEvents = (r: FrameReading): r is ReadonlyArray<StreamEvent> => Array.isArray(r)

/** What a decoder emits when the upstream body ends: `end` if the answer was complete, else a truncation error. */
export const endOfBody = (complete: boolean): ReadonlyArray<StreamEvent> =>
  complete ? [{ type: "end" }] : [{ type: "error", error: truncatedStream() }]
