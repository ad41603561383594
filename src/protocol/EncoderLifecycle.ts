/**
 * What every stream encoder shares: once its terminal frames are out (a successful end or an
 * in-band error) it writes nothing more, an error ends it once, and a stream that stops without
 * an end is reported as truncated. The dialect supplies the frames.
 */
import type { ErrorInfo, StreamEncoder, StreamEvent } from "./Canonical.js"
import { truncatedStream } from "./StreamFailures.js"

/** The events an encoder turns into frames itself (errors go through `errorFrames`). */
export type EncodableEvent = Exclude<StreamEvent, { readonly type: "error" }>

/**
 * An encoder over the dialect's per-stream `state`: `encode` writes an event's frames (and sets
 * `state.done` with the terminal ones); `errorFrames` writes the in-band error, after `done` is set.
 */
export const encoderOf = <S extends { done: boolean }>(
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
    push: (ev) => (state.done ? [] : ev.type === "error" ? error(ev.error) : encode(state, ev)),
    finish: () => (state.done ? [] : error(truncatedStream())),
    error,
    get done() {
      return state.done
    },
  }
}
