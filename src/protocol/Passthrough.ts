/**
 * Same-dialect passthrough: the client and the upstream speak the same dialect, so the body is
 * forwarded with only `model` rewritten and SSE frames are relayed as they arrive. Frames are
 * still observed (not re-encoded) for usage metering and commit detection.
 */
import {
  type Dialect,
  type ErrorInfo,
  type IdGenerator,
  mergeUsage,
  type SseEvent,
  type UsageDelta,
} from "./Canonical.js"
import { codecs } from "./Dialect.js"
import { anthropicErrorBody, decodeErrorBody, geminiErrorBody, openAiErrorBody } from "./Errors.js"
import { geminiPath } from "./gemini/Request.js"
import { asArray, asObject, isObject, type JsonObject, parseJson } from "./Json.js"
import { makePassthroughFilter } from "./openai-chat/Stream.js"
import { responseErrorCode } from "./openai-responses/Response.js"
import { SSE_DONE, sseFrame, sseJson } from "./Sse.js"
import { malformedFrame, truncatedStream } from "./StreamFailures.js"
import { MALFORMED_FRAME, MAX_SKIPPED_FRAMES } from "./Transcoder.js"
import { makeTranscriptRecorder, type Transcript, type TranscriptRecorder } from "./Transcript.js"

export interface PreparedPassthrough {
  readonly body: JsonObject
  /** Gemini only: `models/{model}:generateContent` or `…:streamGenerateContent?alt=sse`. */
  readonly path?: string
  /** OpenAI chat: the client asked for the usage chunk itself (else the gateway strips it). */
  readonly clientWantsUsage: boolean
}

/** Rewrites `model` (Gemini: the path) and, for OpenAI chat streams, asks the upstream for usage. */
export const prepareRequest = (
  dialect: Dialect,
  body: unknown,
  upstreamModel: string,
  stream: boolean,
): PreparedPassthrough => {
  const b = asObject(body)
  switch (dialect) {
    case "gemini":
      return { body: b, path: geminiPath(upstreamModel, stream), clientWantsUsage: true }
    case "openai-chat": {
      const clientWantsUsage = asObject(b.stream_options).include_usage === true
      return {
        body: stream
          ? {
              ...b,
              model: upstreamModel,
              stream: true,
              stream_options: { ...asObject(b.stream_options), include_usage: true },
            }
          : { ...b, model: upstreamModel },
        clientWantsUsage,
      }
    }
    default:
      return { body: { ...b, model: upstreamModel, ...(stream ? { stream: true } : {}) }, clientWantsUsage: true }
  }
}

export interface PassthroughRelay {
  /** The frame text to forward for one upstream event ("" to drop it). */
  push(event: SseEvent): string
  /** Usage seen so far. */
  readonly usage: UsageDelta
  /** The upstream produced content, a stop or an error: the commit point. */
  readonly meaningful: boolean
  /** The stream ended properly ([DONE], message_stop, response.completed, a Gemini finishReason). */
  readonly complete: boolean
  readonly upstreamError: ErrorInfo | undefined
  /** The upstream's error event as received, held back from `push` (the gateway may continue instead). */
  readonly upstreamErrorFrames: ReadonlyArray<string>
  /** Unreadable upstream frames skipped so far. */
  readonly skippedFrames: number
  /** What the client has been sent, for a continuation. */
  readonly transcript: () => Transcript
  /** Call when the upstream body ended: the error to report if it was truncated (then send `errorFrames`). */
  finish(): ErrorInfo | undefined
  /** In-band error frames in this dialect for a stream already relayed (after commit). */
  errorFrames(error: ErrorInfo): ReadonlyArray<string>
}

/** Re-frames an event exactly as received (event line kept, multi-line data preserved). */
const reframe = (ev: SseEvent): string =>
  ev.data.trim() === "[DONE]" && ev.event === undefined
    ? SSE_DONE
    : sseFrame(ev.data, ev.event === "message" ? undefined : ev.event)

/** What a relay has observed so far; shared by both relays below. */
interface RelayState {
  usage: UsageDelta
  meaningful: boolean
  complete: boolean
  upstreamError: ErrorInfo | undefined
  upstreamErrorFrames: ReadonlyArray<string>
  skippedFrames: number
  readonly recorder: TranscriptRecorder
}

const newRelayState = (): RelayState => ({
  usage: {},
  meaningful: false,
  complete: false,
  upstreamError: undefined,
  upstreamErrorFrames: [],
  skippedFrames: 0,
  recorder: makeTranscriptRecorder(),
})

/** An unreadable frame: skipped while few, else the stream's error. True when skipped. */
const skipMalformed = (state: RelayState, error: ErrorInfo): boolean => {
  if (state.upstreamError === undefined && state.skippedFrames < MAX_SKIPPED_FRAMES) {
    state.skippedFrames++
    return true
  }
  state.upstreamError ??= error
  return false
}

/**
 * The relay is its state object: what it has observed is read straight from the fields its
 * `push` and `finish` update (no getter per read on the stream's path).
 */
const relayOf = (state: RelayState, ops: Pick<PassthroughRelay, "push" | "finish" | "errorFrames">): PassthroughRelay =>
  Object.assign(state, ops, { transcript: state.recorder.snapshot })

/** A chunk choice that carries something for the client (not just the opening role). */
const hasContent = (choice: unknown): boolean => {
  if (!isObject(choice)) return false
  if (choice.finish_reason != null) return true
  const delta = asObject(choice.delta)
  return (
    (typeof delta.content === "string" && delta.content !== "") ||
    (typeof delta.refusal === "string" && delta.refusal !== "") ||
    (typeof delta.reasoning_content === "string" && delta.reasoning_content !== "") ||
    (typeof delta.reasoning === "string" && delta.reasoning !== "") ||
    asArray(delta.tool_calls).length > 0
  )
}

/**
 * OpenAI chat relayed to an OpenAI chat client, the most common path: each frame is parsed once
 * (JSON) for usage, finish and errors, and forwarded as received — no canonical events.
 */
const makeChatRelay = (clientWantsUsage: boolean): PassthroughRelay => {
  const filter = makePassthroughFilter(clientWantsUsage)
  const state = newRelayState()
  let finished = false
  return relayOf(state, {
    push: (ev) => {
      if (ev.data.trim() === "[DONE]") {
        state.complete = true
        state.meaningful = true
        return SSE_DONE
      }
      if (state.upstreamError !== undefined) return ""
      const parsed = parseJson(ev.data)
      if (!parsed.ok || !isObject(parsed.value)) {
        skipMalformed(state, malformedFrame(parsed.ok ? "not a JSON object" : parsed.error))
        return ""
      }
      const chunk = parsed.value
      if (chunk.error != null && !("choices" in chunk)) {
        state.upstreamError = decodeErrorBody(0, chunk)
        state.upstreamErrorFrames = [sseJson(openAiErrorBody(state.upstreamError))]
        state.meaningful = true
        return ""
      }
      state.recorder.observeChatChunk(chunk)
      const choices = asArray(chunk.choices)
      if (choices.some(hasContent)) state.meaningful = true
      if (choices.some((c) => isObject(c) && c.finish_reason != null)) finished = true
      const out = filter(ev, chunk)
      if (out.usage) state.usage = mergeUsage(state.usage, out.usage)
      return out.frame
    },
    finish: () => (state.complete || finished || state.upstreamError !== undefined ? undefined : truncatedStream()),
    errorFrames: (e) => [sseJson(openAiErrorBody(e))],
  })
}

export const makeRelay = (dialect: Dialect, ids: IdGenerator, clientWantsUsage = true): PassthroughRelay => {
  if (dialect === "openai-chat") return makeChatRelay(clientWantsUsage)
  const decoder = codecs[dialect].makeStreamDecoder(ids)
  const state = newRelayState()
  let lastSequence = -1

  /** False when the event is not to be relayed (a skipped or an error frame). */
  const observe = (events: ReturnType<typeof decoder.push>): boolean => {
    for (const e of events) {
      if (e.type === "error") {
        if (e.error.code === MALFORMED_FRAME && skipMalformed(state, e.error)) return false
        state.upstreamError ??= e.error
        state.meaningful = true
        return false
      }
      if (e.type === "usage") state.usage = mergeUsage(state.usage, e.usage)
      else if (e.type === "message_start" && e.usage) state.usage = mergeUsage(state.usage, e.usage)
      else if (e.type === "end") state.complete = true
      if (e.type !== "message_start" && e.type !== "usage") state.meaningful = true
      state.recorder.observe(e)
    }
    return true
  }

  return relayOf(state, {
    push: (ev) => {
      if (dialect === "openai-responses") {
        const m = /"sequence_number"\s*:\s*(\d+)/.exec(ev.data)
        if (m) lastSequence = Math.max(lastSequence, Number(m[1]))
      }
      if (state.upstreamError !== undefined) return ""
      const relayed = observe(decoder.push(ev))
      if (relayed) return reframe(ev)
      // The upstream's own error event is kept as it came; an unreadable frame is never relayed.
      const error = state.upstreamError as ErrorInfo | undefined
      if (error !== undefined && error.code !== MALFORMED_FRAME) state.upstreamErrorFrames = [reframe(ev)]
      return ""
    },
    finish: () => {
      const tail = decoder.finish()
      observe(tail)
      const err = tail.find((e) => e.type === "error")
      return err && err.type === "error" ? err.error : undefined
    },
    errorFrames: (e) => {
      switch (dialect) {
        case "anthropic":
          return [sseJson(anthropicErrorBody(e), "error")]
        case "gemini":
          return [sseJson(geminiErrorBody(e))]
        case "openai-responses":
          return [
            sseJson(
              {
                type: "error",
                code: responseErrorCode(e),
                message: e.message,
                param: e.param ?? null,
                sequence_number: lastSequence + 1,
              },
              "error",
            ),
          ]
      }
    },
  })
}
