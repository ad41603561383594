/**
 * A stream transcoder: upstream SSE events of one dialect → SSE frames of the client's dialect,
 * via canonical stream events. Holds only per-block state (and, for Responses clients, the output
 * the final `response.completed` must repeat).
 */

import { makeBlockSequencer } from "./BlockSequencer.js"
import {
  type Dialect,
  type EncodeContext,
  type ErrorInfo,
  mergeUsage,
  type SseEvent,
  type StreamEvent,
  type UsageDelta,
} from "./Canonical.js"
import type { Splice } from "./Continuation.js"
import { codecs } from "./Dialect.js"
import { makeTranscriptRecorder, type Transcript } from "./Transcript.js"

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
  /**
   * The first upstream error, if any (lets the gateway fail over before commit). Its in-band
   * frames are kept apart in `errorFrames`, not in what `push`/`finish` return: after commit the
   * gateway may continue the answer elsewhere instead of sending them.
   */
  readonly upstreamError: ErrorInfo | undefined
  readonly errorFrames: ReadonlyArray<string>
  /** Unreadable upstream frames skipped so far. */
  readonly skippedFrames: number
  readonly done: boolean
  /** What the client has been sent, for a continuation. */
  readonly transcript: () => Transcript
}

/** Malformed frames a stream may skip; the next one ends it (a stream that garbled may have lost text). */
export const MAX_SKIPPED_FRAMES = 3

/** The decoders' code for a frame they could not read (as opposed to an upstream's own error event). */
export const MALFORMED_FRAME = "upstream_malformed_frame"

const isMeaningful = (e: StreamEvent) =>
  e.type === "text_delta" ||
  e.type === "reasoning_delta" ||
  e.type === "tool_input_delta" ||
  e.type === "block_start" ||
  e.type === "stop" ||
  e.type === "end" ||
  e.type === "error"

export interface TranscoderOptions {
  /** A continuation: the client encoder is primed and upstream events spliced (Continuation.ts). */
  readonly splice?: Splice
}

export const makeTranscoder = (
  upstream: Dialect,
  client: Dialect,
  ctx: EncodeContext,
  options: TranscoderOptions = {},
): Transcoder => {
  const decoder = codecs[upstream].makeStreamDecoder(ctx.ids)
  const encoder = codecs[client].makeStreamEncoder(ctx)
  // Encoders get one open block at a time, whatever the upstream interleaves (e.g. Responses
  // streaming parallel function calls at once).
  const sequential = makeBlockSequencer()
  const transcript = makeTranscriptRecorder()
  const splice = options.splice
  if (splice !== undefined) {
    for (const e of splice.prime) {
      transcript.observe(e)
      encoder.push(e)
    }
  }
  let usage: UsageDelta = {}
  let meaningful = false
  let upstreamError: ErrorInfo | undefined
  let errorFrames: ReadonlyArray<string> = []
  let skippedFrames = 0

  const feed = (events: ReadonlyArray<StreamEvent>): ReadonlyArray<string> => {
    const out: Array<string> = []
    for (const e of events) {
      if (e.type === "error") {
        if (e.error.code === MALFORMED_FRAME && skippedFrames < MAX_SKIPPED_FRAMES && upstreamError === undefined) {
          skippedFrames++
          continue
        }
        meaningful = true
        if (upstreamError === undefined) {
          upstreamError = e.error
          errorFrames = encoder.push(e)
        }
        continue
      }
      if (upstreamError !== undefined) continue
      if (isMeaningful(e)) meaningful = true
      if (e.type === "usage") usage = mergeUsage(usage, e.usage)
      else if (e.type === "message_start" && e.usage) usage = mergeUsage(usage, e.usage)
      transcript.observe(e)
      out.push(...encoder.push(e))
    }
    return out
  }
  const decoded = (events: ReadonlyArray<StreamEvent>) =>
    sequential(splice === undefined ? events : splice.push(events))

  return {
    push: (event) => feed(decoded(decoder.push(event))),
    finish: () => {
      const tail = feed(decoded(decoder.finish()))
      return upstreamError === undefined ? [...tail, ...encoder.finish()] : tail
    },
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
    get errorFrames() {
      return errorFrames
    },
    get skippedFrames() {
      return skippedFrames
    },
    get done() {
      return encoder.done
    },
    transcript: transcript.snapshot,
  }
}
