/**
 * A stream transcoder: upstream SSE events of one dialect → SSE frames of the client's dialect,
 * via canonical stream events. Holds only per-block state (and, for Responses clients, the output
 * the final `response.completed` must repeat).
 */
import {
  mergeUsage,
  type Dialect,
  type EncodeContext,
  type ErrorInfo,
  type SseEvent,
  type StreamEvent,
  type UsageDelta,
} from "./Canonical.js"
import { makeBlockSequencer } from "./BlockSequencer.js"
import { codecs } from "./Dialect.js"

export interface Transcoder {
  /** One upstream SSE event → client frames to write (possibly none). */
  push(event: SseEvent): ReadonlyArray<string>
  /** The upstream body ended: terminal frames (or an in-band error if it was truncated). */
  finish(): ReadonlyArray<string>
  /** End with an in-band error after commit (idle timeout, upstream cut …). */
  error(error: ErrorInfo): ReadonlyArray<string>
  /** Usage seen so far (for metering, also when the stream is aborted). */
  readonly usage: UsageDelta
  /** True once the upstream produced a meaningful event (content, a stop, or an error): the commit point. */
  readonly meaningful: boolean
  /** The first upstream error event, if any (lets the gateway fail over before commit). */
  readonly upstreamError: ErrorInfo | undefined
  readonly done: boolean
}

const isMeaningful = (e: StreamEvent) =>
  e.type === "text_delta" ||
  e.type === "reasoning_delta" ||
  e.type === "tool_input_delta" ||
  e.type === "block_start" ||
  e.type === "stop" ||
  e.type === "end" ||
  e.type === "error"

export const makeTranscoder = (upstream: Dialect, client: Dialect, ctx: EncodeContext): Transcoder => {
  const decoder = codecs[upstream].makeStreamDecoder(ctx.ids)
  const encoder = codecs[client].makeStreamEncoder(ctx)
  // Encoders get one open block at a time, whatever the upstream interleaves (e.g. Responses
  // streaming parallel function calls at once).
  const sequential = makeBlockSequencer()
  let usage: UsageDelta = {}
  let meaningful = false
  let upstreamError: ErrorInfo | undefined

  const feed = (events: ReadonlyArray<StreamEvent>): ReadonlyArray<string> => {
    const out: Array<string> = []
    for (const e of events) {
      if (isMeaningful(e)) meaningful = true
      if (e.type === "usage") usage = mergeUsage(usage, e.usage)
      else if (e.type === "message_start" && e.usage) usage = mergeUsage(usage, e.usage)
      else if (e.type === "error" && upstreamError === undefined) upstreamError = e.error
      out.push(...encoder.push(e))
    }
    return out
  }

  return {
    push: (event) => feed(sequential(decoder.push(event))),
    finish: () => [...feed(sequential(decoder.finish())), ...encoder.finish()],
    error: (e) => encoder.error(e),
    get usage() {
      return usage
    },
    get meaningful() {
      return meaningful
    },
    get upstreamError() {
      return upstreamError
    },
    get done() {
      return encoder.done
    },
  }
}
