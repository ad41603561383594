/** Gemini streamGenerateContent?alt=sse (data-only frames of GenerateContentResponse) ⇄ canonical stream events. */
import {
  completeUsage,
  type EncodeContext,
  type ErrorInfo,
  type IdGenerator,
  type Signature,
  type StopReason,
  type StreamDecoder,
  type StreamEncoder,
  type StreamEvent,
  type UsageDelta,
} from "../Canonical.js"
import { type DecoderSteps, decoderOf } from "../DecoderLifecycle.js"
import { type EncodableEvent, encoderOf } from "../EncoderLifecycle.js"
import { decodeErrorBody, geminiErrorBody } from "../Errors.js"
import { asArray, asObject, compact, isObject, type JsonObject, parseArguments, str } from "../Json.js"
import { sseJson } from "../Sse.js"
import { fromGeminiFinish, toGeminiFinish } from "../StopReasons.js"
import { decodeUsage, encodeUsage } from "./Response.js"

/** One stream's decoding state. Text and reasoning parts extend the open block of their kind. */
interface DecoderState {
  readonly ids: IdGenerator
  started: boolean
  next: number
  open: { index: number; kind: "text" | "reasoning" } | undefined
  sawToolCall: boolean
  stopped: boolean
  /** An error object was seen: nothing more is decoded. */
  finished: boolean
}

const close = (s: DecoderState, out: Array<StreamEvent>) => {
  if (s.open) out.push({ type: "block_stop", index: s.open.index })
  s.open = undefined
}

const enter = (s: DecoderState, kind: "text" | "reasoning", out: Array<StreamEvent>): number => {
  if (s.open?.kind === kind) return s.open.index
  close(s, out)
  const index = s.next++
  out.push({ type: "block_start", index, block: { type: kind } })
  s.open = { index, kind }
  return index
}

const decodeTextPart = (
  s: DecoderState,
  text: string,
  thought: boolean,
  sig: string | undefined,
  out: Array<StreamEvent>,
) => {
  const kind = thought ? "reasoning" : "text"
  if (text === "" && sig === undefined) return
  const index = enter(s, kind, out)
  if (text !== "")
    out.push(kind === "text" ? { type: "text_delta", index, text } : { type: "reasoning_delta", index, text })
  if (sig !== undefined) out.push({ type: "signature", index, signature: { origin: "gemini", value: sig } })
}

/** A function call comes whole: a block of its own, started and stopped in one frame. */
const decodeFunctionCall = (s: DecoderState, f: JsonObject, sig: string | undefined, out: Array<StreamEvent>) => {
  close(s, out)
  s.sawToolCall = true
  const index = s.next++
  out.push({
    type: "block_start",
    index,
    block: { type: "tool_use", id: str(f.id) ?? s.ids("call_"), name: str(f.name) ?? "" },
  })
  out.push({ type: "tool_input_delta", index, partialJson: JSON.stringify(f.args ?? {}) })
  if (sig !== undefined) out.push({ type: "signature", index, signature: { origin: "gemini", value: sig } })
  out.push({ type: "block_stop", index })
}

/** A finishReason (or a blocked prompt) is the stop; Gemini has no other end marker. */
const decodeFinish = (s: DecoderState, o: JsonObject, cand: JsonObject, out: Array<StreamEvent>) => {
  const finish = str(cand.finishReason)
  const blocked = str(asObject(o.promptFeedback).blockReason)
  if ((finish !== undefined || blocked !== undefined) && !s.stopped) {
    s.stopped = true
    close(s, out)
    out.push({
      type: "stop",
      reason:
        blocked !== undefined && finish === undefined ? "content_filter" : fromGeminiFinish(finish, s.sawToolCall),
    })
  }
}

const decodeChunk = (s: DecoderState, o: JsonObject): ReadonlyArray<StreamEvent> => {
  if (isObject(o.error)) {
    s.finished = true
    return [{ type: "error", error: decodeErrorBody(0, o) }]
  }
  const out: Array<StreamEvent> = []
  if (!s.started) {
    s.started = true
    out.push({ type: "message_start", id: str(o.responseId) ?? s.ids("resp_"), model: str(o.modelVersion) ?? "" })
  }
  const cand = asObject(asArray(o.candidates)[0])
  for (const p0 of asArray(asObject(cand.content).parts)) {
    const p = asObject(p0)
    const sig = str(p.thoughtSignature)
    if (typeof p.text === "string") decodeTextPart(s, p.text, p.thought === true, sig, out)
    else if (isObject(p.functionCall)) decodeFunctionCall(s, p.functionCall, sig, out)
  }
  const usage = decodeUsage(o.usageMetadata)
  if (usage) out.push({ type: "usage", usage })
  decodeFinish(s, o, cand, out)
  return out
}

const steps: DecoderSteps<DecoderState> = {
  decode: (s, o) => decodeChunk(s, o),
  // Gemini has no end marker: a finishReason is what marks a complete stream.
  completeWithoutMarker: (s) => s.stopped,
}

export const makeDecoder = (ids: IdGenerator): StreamDecoder =>
  decoderOf<DecoderState>(
    { ids, started: false, next: 0, open: undefined, sawToolCall: false, stopped: false, finished: false },
    steps,
  )

export const errorFrame = (e: ErrorInfo): string => sseJson(geminiErrorBody(e))

/** A function call as Gemini sends it: whole, so its arguments are buffered until the block ends. */
interface PendingCall {
  id: string
  name: string
  args: string
  signature?: string
}

/** One stream's encoding state. */
interface EncoderState {
  readonly ctx: EncodeContext
  responseId: string
  usage: UsageDelta
  stop: StopReason | undefined
  done: boolean
  readonly tools: Map<number, PendingCall>
  readonly kinds: Map<number, "text" | "reasoning" | "tool_use">
}

/** One GenerateContentResponse frame; the last (with a finishReason) carries the usage. */
const chunk = (s: EncoderState, parts: ReadonlyArray<JsonObject>, extra: JsonObject = {}): string =>
  sseJson({
    candidates: [{ content: { role: "model", parts }, ...extra, index: 0 }],
    ...(extra.finishReason !== undefined ? { usageMetadata: encodeUsage(completeUsage(s.usage)) } : {}),
    modelVersion: s.ctx.model,
    responseId: s.responseId,
  })

/** A signature belongs to a pending function call, else it is sent in an empty part of its block's kind. */
const encodeSignature = (s: EncoderState, index: number, signature: Signature): ReadonlyArray<string> => {
  if (signature.origin !== "gemini") return []
  const t = s.tools.get(index)
  if (t) {
    t.signature = signature.value
    return []
  }
  return [
    chunk(
      s,
      [
        { text: "", thought: s.kinds.get(index) === "reasoning" ? true : undefined, thoughtSignature: signature.value },
      ].map((p) => compact(p)),
    ),
  ]
}

/** A function call is sent when its block ends. */
const encodeBlockStop = (s: EncoderState, index: number): ReadonlyArray<string> => {
  const t = s.tools.get(index)
  if (!t) return []
  s.tools.delete(index)
  return [
    chunk(s, [
      compact({
        functionCall: { id: t.id, name: t.name, args: parseArguments(t.args) },
        thoughtSignature: t.signature,
      }),
    ]),
  ]
}

const encodeEvent = (s: EncoderState, ev: EncodableEvent): ReadonlyArray<string> => {
  switch (ev.type) {
    case "block_start":
      s.kinds.set(ev.index, ev.block.type)
      if (ev.block.type === "tool_use") s.tools.set(ev.index, { id: ev.block.id, name: ev.block.name, args: "" })
      return []
    case "text_delta":
      return ev.text === "" ? [] : [chunk(s, [{ text: ev.text }])]
    case "reasoning_delta":
      return ev.text === "" ? [] : [chunk(s, [{ text: ev.text, thought: true }])]
    case "signature":
      return encodeSignature(s, ev.index, ev.signature)
    case "tool_input_delta": {
      const t = s.tools.get(ev.index)
      if (t) t.args += ev.partialJson
      return []
    }
    case "block_stop":
      return encodeBlockStop(s, ev.index)
    case "stop":
      s.stop = ev.reason
      return []
    case "end":
      s.done = true
      return [chunk(s, [{ text: "" }], { finishReason: toGeminiFinish(s.stop ?? "end_turn") })]
  }
}

const inBandError = (_: EncoderState, e: ErrorInfo): ReadonlyArray<string> => [errorFrame(e)]

/** Gemini frames have no opening: a message_start only names the response. */
const startResponse = (s: EncoderState) => {
  s.responseId = s.ctx.ids("")
}

export const makeEncoder = (ctx: EncodeContext): StreamEncoder =>
  encoderOf<EncoderState>(
    { ctx, responseId: "", usage: {}, stop: undefined, done: false, tools: new Map(), kinds: new Map() },
    { start: startResponse, encode: encodeEvent, errorFrames: inBandError },
  )
