/** Anthropic Messages SSE (message_start … message_stop) ⇄ canonical stream events. */
import {
  type BlockStart,
  completeUsage,
  type EncodeContext,
  type ErrorInfo,
  type IdGenerator,
  type Signature,
  type SseEvent,
  type StopReason,
  type StreamDecoder,
  type StreamEncoder,
  type StreamEvent,
  type UsageDelta,
} from "../Canonical.js"
import { type DecoderSteps, decoderOf } from "../DecoderLifecycle.js"
import { type EncodableEvent, encoderOf } from "../EncoderLifecycle.js"
import { anthropicErrorBody, decodeErrorBody } from "../Errors.js"
import { asObject, isObject, type JsonObject, num, str } from "../Json.js"
import { eventName, sseJson } from "../Sse.js"
import { fromAnthropicStop, toAnthropicStop } from "../StopReasons.js"
import { decodeUsage, encodeUsage } from "./Response.js"

/** One stream's decoding state. */
interface DecoderState {
  readonly ids: IdGenerator
  /** Anthropic block index → canonical index (they coincide, but a foreign server may skip indexes). */
  readonly indexMap: Map<number, number>
  next: number
  /** message_stop or an error event was seen: nothing more is decoded. */
  finished: boolean
}

const decodeMessageStart = (s: DecoderState, o: JsonObject): StreamEvent => {
  const m = asObject(o.message)
  const usage = decodeUsage(m.usage)
  return {
    type: "message_start",
    id: str(m.id) ?? s.ids("msg_"),
    model: str(m.model) ?? "",
    ...(usage ? { usage } : {}),
  }
}

/** A block's start and the content Anthropic may already put in it. */
const startBlock = (s: DecoderState, index: number, b: JsonObject, out: Array<StreamEvent>) => {
  if (b.type === "text") {
    out.push({ type: "block_start", index, block: { type: "text" } })
    if (typeof b.text === "string" && b.text !== "") out.push({ type: "text_delta", index, text: b.text })
  } else if (b.type === "tool_use") {
    out.push({
      type: "block_start",
      index,
      block: { type: "tool_use", id: str(b.id) ?? s.ids("toolu_"), name: str(b.name) ?? "" },
    })
    if (isObject(b.input) && Object.keys(b.input).length > 0)
      out.push({ type: "tool_input_delta", index, partialJson: JSON.stringify(b.input) })
  } else if (b.type === "thinking") {
    out.push({ type: "block_start", index, block: { type: "reasoning" } })
    if (typeof b.thinking === "string" && b.thinking !== "")
      out.push({ type: "reasoning_delta", index, text: b.thinking })
  } else {
    out.push({ type: "block_start", index, block: { type: "reasoning", redacted: true } })
    out.push({ type: "signature", index, signature: { origin: "anthropic", value: str(b.data) ?? "" } })
  }
}

const decodeBlockStart = (s: DecoderState, o: JsonObject, out: Array<StreamEvent>) => {
  const b = asObject(o.content_block)
  const wire = num(o.index) ?? s.next
  // Server-side tool blocks (web search …) and their results are Anthropic-internal: a client
  // in another dialect must not try to execute them, so they are not mapped.
  if (b.type !== "text" && b.type !== "tool_use" && b.type !== "thinking" && b.type !== "redacted_thinking") return
  const index = s.next++
  s.indexMap.set(wire, index)
  startBlock(s, index, b, out)
}

const decodeBlockDelta = (s: DecoderState, o: JsonObject, out: Array<StreamEvent>) => {
  const index = s.indexMap.get(num(o.index) ?? -1)
  if (index === undefined) return
  const d = asObject(o.delta)
  if (d.type === "text_delta" && typeof d.text === "string") out.push({ type: "text_delta", index, text: d.text })
  else if (d.type === "input_json_delta" && typeof d.partial_json === "string")
    out.push({ type: "tool_input_delta", index, partialJson: d.partial_json })
  else if (d.type === "thinking_delta" && typeof d.thinking === "string")
    out.push({ type: "reasoning_delta", index, text: d.thinking })
  else if (d.type === "signature_delta" && typeof d.signature === "string")
    out.push({ type: "signature", index, signature: { origin: "anthropic", value: d.signature } })
}

const decodeMessageDelta = (o: JsonObject, out: Array<StreamEvent>) => {
  const d = asObject(o.delta)
  const usage = decodeUsage(o.usage)
  if (usage) out.push({ type: "usage", usage })
  if (typeof d.stop_reason === "string")
    out.push({ type: "stop", reason: fromAnthropicStop(d.stop_reason), stopSequence: str(d.stop_sequence) ?? null })
}

/** One frame's events, by its event type (`ping` and unknown types carry none). */
const decodeFrame = (s: DecoderState, o: JsonObject, ev: SseEvent): ReadonlyArray<StreamEvent> => {
  const out: Array<StreamEvent> = []
  // Data-only frames (some SDK bridges) still carry `type`.
  switch (eventName(ev.event) ?? str(o.type)) {
    case "message_start":
      out.push(decodeMessageStart(s, o))
      break
    case "content_block_start":
      decodeBlockStart(s, o, out)
      break
    case "content_block_delta":
      decodeBlockDelta(s, o, out)
      break
    case "content_block_stop": {
      const index = s.indexMap.get(num(o.index) ?? -1)
      if (index !== undefined) out.push({ type: "block_stop", index })
      break
    }
    case "message_delta":
      decodeMessageDelta(o, out)
      break
    case "message_stop":
      s.finished = true
      out.push({ type: "end" })
      break
    case "error":
      s.finished = true
      out.push({ type: "error", error: decodeErrorBody(0, o) })
      break
  }
  return out
}

const steps: DecoderSteps<DecoderState> = { decode: decodeFrame, completeWithoutMarker: () => false }

export const makeDecoder = (ids: IdGenerator): StreamDecoder =>
  decoderOf<DecoderState>({ ids, indexMap: new Map(), next: 0, finished: false }, steps)

export const errorFrame = (e: ErrorInfo): string => sseJson(anthropicErrorBody(e), "error")

type OpenKind = "text" | "reasoning" | "tool_use" | "redacted"

/** One stream's encoding state. Anthropic has one open block at a time. */
interface EncoderState {
  readonly ctx: EncodeContext
  readonly id: string
  /** Canonical block index → wire index (a redacted block that carried nothing gets none). */
  readonly wireIndex: Map<number, number>
  nextWire: number
  open: number | undefined
  openKind: OpenKind | undefined
  /** A redacted thinking block is sent whole when it closes: its data arrives as a signature. */
  redactedData: string | undefined
  started: boolean
  pinged: boolean
  usage: UsageDelta
  stop: StopReason | undefined
  stopSequence: string | null
  done: boolean
}

const frame = (type: string, body: JsonObject) => sseJson({ type, ...body }, type)

const ensureStarted = (s: EncoderState, out: Array<string>) => {
  if (s.started) return
  s.started = true
  const u = completeUsage(s.usage)
  out.push(
    frame("message_start", {
      message: {
        id: s.id,
        type: "message",
        role: "assistant",
        model: s.ctx.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...encodeUsage(u), output_tokens: s.usage.outputTokens ?? 0 },
      },
    }),
  )
}

const closeOpen = (s: EncoderState, out: Array<string>) => {
  if (s.open === undefined) return
  const w = s.wireIndex.get(s.open)!
  if (s.openKind === "redacted") {
    if (s.redactedData) {
      out.push(
        frame("content_block_start", { index: w, content_block: { type: "redacted_thinking", data: s.redactedData } }),
      )
      out.push(frame("content_block_stop", { index: w }))
    } else s.nextWire-- // nothing was sent for it: free the wire index
  } else out.push(frame("content_block_stop", { index: w }))
  s.open = undefined
  s.openKind = undefined
  s.redactedData = undefined
}

/** The `content_block` of a content_block_start: empty, its content follows as deltas. */
const emptyBlock = (b: Exclude<BlockStart, { readonly redacted: true }>): JsonObject =>
  b.type === "text"
    ? { type: "text", text: "" }
    : b.type === "tool_use"
      ? { type: "tool_use", id: b.id, name: b.name, input: {} }
      : { type: "thinking", thinking: "", signature: "" }

/** Closes the open block and opens `index`; a redacted block is only written when it closes. */
const openBlock = (s: EncoderState, index: number, b: BlockStart, out: Array<string>) => {
  ensureStarted(s, out)
  closeOpen(s, out)
  const w = s.nextWire++
  s.wireIndex.set(index, w)
  s.open = index
  if (b.type === "reasoning" && b.redacted) {
    s.openKind = "redacted"
    return
  }
  s.openKind = b.type
  out.push(frame("content_block_start", { index: w, content_block: emptyBlock(b) }))
  if (!s.pinged) {
    s.pinged = true
    out.push(frame("ping", {}))
  }
}

/** Deltas are written only into the open block of the kind they belong to. */
const isOpen = (s: EncoderState, index: number, kind: OpenKind): boolean => index === s.open && s.openKind === kind

const deltaFrame = (s: EncoderState, index: number, delta: JsonObject): string =>
  frame("content_block_delta", { index: s.wireIndex.get(index)!, delta })

/** A signature is a thinking block's signature_delta, or the whole data of a redacted block. */
const encodeSignature = (s: EncoderState, index: number, signature: Signature, out: Array<string>) => {
  if (index !== s.open || signature.origin !== "anthropic") return
  if (s.openKind === "redacted") s.redactedData = signature.value
  else if (s.openKind === "reasoning")
    out.push(deltaFrame(s, index, { type: "signature_delta", signature: signature.value }))
}

const endMessage = (s: EncoderState, out: Array<string>) => {
  ensureStarted(s, out)
  closeOpen(s, out)
  const u = completeUsage(s.usage)
  out.push(
    frame("message_delta", {
      delta: { stop_reason: toAnthropicStop(s.stop ?? "end_turn"), stop_sequence: s.stopSequence },
      usage: encodeUsage(u),
    }),
  )
  out.push(frame("message_stop", {}))
  s.done = true
}

const encodeEvent = (s: EncoderState, ev: EncodableEvent): ReadonlyArray<string> => {
  const out: Array<string> = []
  switch (ev.type) {
    case "block_start":
      openBlock(s, ev.index, ev.block, out)
      break
    case "text_delta":
      if (ev.text !== "" && isOpen(s, ev.index, "text"))
        out.push(deltaFrame(s, ev.index, { type: "text_delta", text: ev.text }))
      break
    case "reasoning_delta":
      if (ev.text !== "" && isOpen(s, ev.index, "reasoning"))
        out.push(deltaFrame(s, ev.index, { type: "thinking_delta", thinking: ev.text }))
      break
    case "signature":
      encodeSignature(s, ev.index, ev.signature, out)
      break
    case "tool_input_delta":
      if (ev.partialJson !== "" && isOpen(s, ev.index, "tool_use"))
        out.push(deltaFrame(s, ev.index, { type: "input_json_delta", partial_json: ev.partialJson }))
      break
    case "block_stop":
      if (ev.index === s.open) closeOpen(s, out)
      break
    case "stop":
      s.stop = ev.reason
      s.stopSequence = ev.stopSequence ?? null
      break
    case "end":
      endMessage(s, out)
      break
  }
  return out
}

const inBandError = (_: EncoderState, e: ErrorInfo): ReadonlyArray<string> => [errorFrame(e)]

export const makeEncoder = (ctx: EncodeContext): StreamEncoder =>
  encoderOf<EncoderState>(
    {
      ctx,
      id: ctx.ids("msg_"),
      wireIndex: new Map(),
      nextWire: 0,
      open: undefined,
      openKind: undefined,
      redactedData: undefined,
      started: false,
      pinged: false,
      usage: {},
      stop: undefined,
      stopSequence: null,
      done: false,
    },
    { start: ensureStarted, encode: encodeEvent, errorFrames: inBandError },
  )
