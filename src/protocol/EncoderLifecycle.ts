/**
 * What every stream encoder shares: once its terminal frames are out (a successful end or an
 * in-band error) it writes nothing more, an error ends it once, and a stream that stops without
 * an end is reported as truncated. The dialect supplies the frames.
 */
import { type ErrorInfo, mergeUsage, type StreamEncoder, type StreamEvent, type UsageDelta } from "./Canonical.js"
import { truncatedStream } from "./StreamFailures.js"

/** The events a dialect's `encode` step sees (errors go to `errorFrames`, message_start to `start`; usage is accounted here). */
export type EncodableEvent = Exclude<
  StreamEvent,
  { readonly type: "error" } | { readonly type: "usage" } | { readonly type: "message_start" }
>

/** What every encoder keeps of a stream: its usage so far (written with the final frames) and whether it is over. */
export interface EncoderBase {
  done: boolean
  usage: UsageDelta
}

/** A dialect's encoding steps, module-level functions over its per-stream state. */
export interface EncoderSteps<S> {
  /** message_start (its usage already merged): the frames that open the stream, if the dialect has any yet. */
  readonly start: (state: S, out: Array<string>) => void
  /** Any other event's frames; sets `state.done` with the terminal ones. */
  readonly encode: (state: S, event: EncodableEvent) => ReadonlyArray<string>
  /** The in-band error, written once (`done` is already set). */
  readonly errorFrames: (state: S, error: ErrorInfo) => ReadonlyArray<string>
}

/** An encoder over the dialect's per-stream `state`; usage reports are merged into `state.usage` here. */
export const encoderOf = <S extends EncoderBase>(state: S, steps: EncoderSteps<S>): StreamEncoder => {
  const error = (e: ErrorInfo): ReadonlyArray<string> => {
    if (state.done) return []
    state.done = true
    return steps.errorFrames(state, e)
  }
  return {
    push: (ev) => {
      if (state.done) return []
      if (ev.type === "error") return error(ev.error)
      if (ev.type === "usage") {
        state.usage = mergeUsage(state.usage, ev.usage)
        return []
      }
      if (ev.type !== "message_start") return steps.encode(state, ev)
      if (ev.usage) state.usage = mergeUsage(state.usage, ev.usage)
      const out: Array<string> = []
      steps.start(state, out)
      return out
    },
    finish: () => (state.done ? [] : error(truncatedStream())),
    error,
    get done() {
      return state.done
    },
  }
}
