/**
 * What every stream encoder shares: once its terminal frames are out (a successful end or an
 * in-band error) it writes nothing more, an error ends it once, and a stream that stops without
 * an end is reported as truncated. The dialect supplies the frames.
 */
import { mergeUsage, type ErrorInfo, type StreamEncoder, type StreamEvent, type UsageDelta } from "./Canonical.js"
import { truncatedStream } from "./StreamFailures.js"

/** The events an encoder turns into frames itself (errors go through `errorFrames`; usage is accounted here). */
export type EncodableEvent = Exclude<StreamEvent, { readonly type: "error" } | { readonly type: "usage" }>

/** What every encoder keeps of a stream: its usage so far (written with the final frames) and whether it is over. */
export interface EncoderBase {
  done: boolean
  usage: UsageDelta
}

/**
 * An encoder over the dialect's per-stream `state`: usage reports (on their own or in
 * message_start) are merged into `state.usage` before `encode` sees the event; `encode` writes an
 * event's frames (and sets `state.done` with the terminal ones); `errorFrames` writes the in-band
 * error, after `done` is set.
 */
export const encoderOf = <S extends EncoderBase>(
  state: S,
  encode: (state: S, event: EncodableEvent) => ReadonlyArray<string>,
  errorFrames: (state: S, error: ErrorInfo) => ReadonlyArray<string>,
): StreamEncoder => {
  const error = (e: ErrorInfo): ReadonlyArray<string> => {
    if (state.done) return []
    state.done = true
    return errorFrames(state, e)
  }
  return {
    push: (ev) => {
      if (state.done) return []
      if (ev.type === "error") return error(ev.error)
      if (ev.type === "usage") {
        state.usage = mergeUsage(state.usage, ev.usage)
        return []
      }
      if (ev.type === "message_start" && ev.usage) state.usage = mergeUsage(state.usage, ev.usage)
      return encode(state, ev)
    },
    finish: () => (state.done ? [] : error(truncatedStream())),
    error,
    get done() {
      return state.done
    },
  }
}
