/**
 * OpenAI Responses streaming events ⇄ canonical stream events. The encoder emits the official
 * event set: `event:` lines, `sequence_number`, `item_id`, resp_/msg_/fc_/rs_ ids consistent
 * between events and the final `response.completed` object.
 */

import {
  type BlockStart,
  completeUsage,
  type EncodeContext,
  type ErrorInfo,
  type IdGenerator,
  type StopReason,
  type StreamDecoder,
  type StreamEncoder,
  type StreamEvent,
  type UsageDelta,
} from "../Canonical.js"
import { type DecoderSteps, decoderOf } from "../DecoderLifecycle.js"
import { type EncodableEvent, encoderOf } from "../EncoderLifecycle.js"
import { decodeErrorBody } from "../Errors.js"
import { asObject, type JsonObject, num, str } from "../Json.js"
import { eventName, sseJson } from "../Sse.js"
import { encryptedContentOf } from "./ReasoningCarrier.js"
import {
  decodeUsage,
  functionCallItem,
  messageItem,
  reasoningItem,
  responseErrorCode,
  responseObject,
  statusOf,
  stopFromStatus,
} from "./Response.js"

/** One stream's decoding state. Responses items may interleave: each has its own open block. */
interface DecoderState {
  readonly ids: IdGenerator
  /** Item id (or `itemId:contentIndex` for a message's text part) → canonical index. */
  readonly blockOf: Map<string, number>
  /** Function calls whose arguments came as deltas (else `output_item.done` carries them). */
  readonly argsSeen: Set<number>
  readonly open: Set<number>
  next: number
  sawToolCall: boolean
  /** The response completed or failed: nothing more is decoded. */
  finished: boolean
}

/** The canonical index of `key`, starting its block the first time. */
const start = (s: DecoderState, key: string, block: BlockStart, out: Array<StreamEvent>): number => {
  let index = s.blockOf.get(key)
  if (index === undefined) {
    index = s.next++
    s.blockOf.set(key, index)
    s.open.add(index)
    out.push({ type: "block_start", index, block })
  }
  return index
}

const stop = (s: DecoderState, index: number | undefined, out: Array<StreamEvent>) => {
  if (index !== undefined && s.open.delete(index)) out.push({ type: "block_stop", index })
}

/** A message's text part is a block of its own. */
const partKey = (itemId: string, o: JsonObject): string => `${itemId}:${num(o.content_index) ?? 0}`

const decodeCreated = (s: DecoderState, o: JsonObject): StreamEvent => {
  const r = asObject(o.response)
  return {
    type: "message_start",
    id: str(r.id) ?? s.ids("resp_"),
    model: str(r.model) ?? "",
    ...(num(r.created_at) !== undefined ? { created: num(r.created_at)! } : {}),
  }
}

const decodeItemAdded = (s: DecoderState, o: JsonObject, out: Array<StreamEvent>) => {
  const item = asObject(o.item)
  if (item.type === "function_call") {
    s.sawToolCall = true
    start(
      s,
      str(item.id) ?? "",
      { type: "tool_use", id: str(item.call_id) ?? s.ids("call_"), name: str(item.name) ?? "" },
      out,
    )
  } else if (item.type === "reasoning") start(s, str(item.id) ?? "", { type: "reasoning" }, out)
}

/** An item's end: the arguments or encrypted reasoning it carries whole, then its block's stop. */
const decodeItemDone = (s: DecoderState, o: JsonObject, out: Array<StreamEvent>) => {
  const item = asObject(o.item)
  const index = s.blockOf.get(str(item.id) ?? "")
  if (index === undefined) return
  if (
    item.type === "function_call" &&
    !s.argsSeen.has(index) &&
    typeof item.arguments === "string" &&
    item.arguments !== ""
  )
    out.push({ type: "tool_input_delta", index, partialJson: item.arguments })
  if (item.type === "reasoning" && typeof item.encrypted_content === "string")
    out.push({ type: "signature", index, signature: { origin: "openai", value: item.encrypted_content } })
  stop(s, index, out)
}

/** response.completed / response.incomplete: open blocks stop, then usage, the stop reason and the end. */
const decodeCompleted = (s: DecoderState, o: JsonObject, out: Array<StreamEvent>) => {
  const r = asObject(o.response)
  for (const index of [...s.open]) stop(s, index, out)
  const usage = decodeUsage(r.usage)
  if (usage) out.push({ type: "usage", usage })
  out.push({
    type: "stop",
    reason: stopFromStatus(str(r.status), str(asObject(r.incomplete_details).reason), s.sawToolCall),
  })
  out.push({ type: "end" })
  s.finished = true
}

/** Block starts without fields: one object each serves every stream. */
const TEXT: BlockStart = { type: "text" }
const REASONING: BlockStart = { type: "reasoning" }

/** A text or reasoning delta, in the block of its part or item. */
const decodeDelta = (
  s: DecoderState,
  key: string,
  kind: "text" | "reasoning",
  delta: unknown,
  out: Array<StreamEvent>,
) => {
  const index = start(s, key, kind === "text" ? TEXT : REASONING, out)
  if (typeof delta === "string" && delta !== "")
    out.push(
      kind === "text" ? { type: "text_delta", index, text: delta } : { type: "reasoning_delta", index, text: delta },
    )
}

/** One event's canonical events, by its type (unknown types carry none). */
const decodeEvent = (s: DecoderState, type: string | undefined, o: JsonObject): ReadonlyArray<StreamEvent> => {
  const out: Array<StreamEvent> = []
  const itemId = str(o.item_id) ?? ""
  switch (type) {
    case "response.created":
      out.push(decodeCreated(s, o))
      break
    case "response.output_item.added":
      decodeItemAdded(s, o, out)
      break
    case "response.content_part.added":
      start(s, partKey(itemId, o), TEXT, out)
      break
    case "response.output_text.delta":
    case "response.refusal.delta":
      decodeDelta(s, partKey(itemId, o), "text", o.delta, out)
      break
    case "response.content_part.done":
      stop(s, s.blockOf.get(partKey(itemId, o)), out)
      break
    case "response.reasoning_summary_text.delta":
    case "response.reasoning_text.delta":
      decodeDelta(s, itemId, "reasoning", o.delta, out)
      break
    case "response.function_call_arguments.delta": {
      const index = s.blockOf.get(itemId)
      if (index !== undefined && typeof o.delta === "string") {
        s.argsSeen.add(index)
        out.push({ type: "tool_input_delta", index, partialJson: o.delta })
      }
      break
    }
    case "response.output_item.done":
      decodeItemDone(s, o, out)
      break
    case "response.completed":
    case "response.incomplete":
      decodeCompleted(s, o, out)
      break
    case "response.failed":
      s.finished = true
      out.push({
        type: "error",
        error: decodeErrorBody(0, { error: asObject(o.response).error }, "The upstream response failed"),
      })
      break
    case "error":
      s.finished = true
      out.push({ type: "error", error: decodeErrorBody(0, { error: o }) })
      break
  }
  return out
}

const steps: DecoderSteps<DecoderState> = {
  decode: (s, o, ev) => decodeEvent(s, eventName(ev.event) ?? str(o.type), o),
  completeWithoutMarker: () => false,
}

export const makeDecoder = (ids: IdGenerator): StreamDecoder =>
  decoderOf<DecoderState>(
    { ids, blockOf: new Map(), argsSeen: new Set(), open: new Set(), next: 0, sawToolCall: false, finished: false },
    steps,
  )

type Item =
  | { kind: "text"; outputIndex: number; id: string; text: string; done: boolean }
  | {
      kind: "reasoning"
      outputIndex: number
      id: string
      text: string
      redacted: boolean
      encrypted?: string | undefined
      partOpen: boolean
      done: boolean
    }
  | { kind: "tool"; outputIndex: number; id: string; callId: string; name: string; args: string; done: boolean }

/** One stream's encoding state. */
interface EncoderState {
  readonly ctx: EncodeContext
  readonly id: string
  readonly createdAt: number
  /** Items are kept for the final response.completed object, which repeats the whole output (bounded by the answer itself). */
  readonly items: Array<Item>
  readonly byBlock: Map<number, Item>
  seq: number
  started: boolean
  usage: UsageDelta
  stop: StopReason | undefined
  done: boolean
}

const emit = (s: EncoderState, type: string, body: JsonObject): string =>
  sseJson({ type, ...body, sequence_number: s.seq++ }, type)

const itemJson = (it: Item): JsonObject => {
  const status = it.done ? "completed" : "in_progress"
  return it.kind === "text"
    ? messageItem(it.id, it.text, status)
    : it.kind === "tool"
      ? functionCallItem(it.id, it.callId, it.name, it.args, status)
      : reasoningItem(it.id, it.text, it.encrypted)
}

const ensureStarted = (s: EncoderState, out: Array<string>) => {
  if (s.started) return
  s.started = true
  const response = responseObject({ id: s.id, createdAt: s.createdAt, status: "in_progress", output: [] }, s.ctx)
  out.push(emit(s, "response.created", { response }))
  out.push(emit(s, "response.in_progress", { response }))
}

/** The events that finish an item's content, then output_item.done (once). */
const closeItem = (s: EncoderState, it: Item, out: Array<string>) => {
  if (it.done) return
  const base = { item_id: it.id, output_index: it.outputIndex }
  if (it.kind === "text") {
    const part = { type: "output_text", text: it.text, annotations: [], logprobs: [] }
    out.push(emit(s, "response.output_text.done", { ...base, content_index: 0, text: it.text, logprobs: [] }))
    out.push(emit(s, "response.content_part.done", { ...base, content_index: 0, part }))
  } else if (it.kind === "tool") {
    out.push(emit(s, "response.function_call_arguments.done", { ...base, name: it.name, arguments: it.args }))
  } else if (it.partOpen) {
    out.push(emit(s, "response.reasoning_summary_text.done", { ...base, summary_index: 0, text: it.text }))
    out.push(
      emit(s, "response.reasoning_summary_part.done", {
        ...base,
        summary_index: 0,
        part: { type: "summary_text", text: it.text },
      }),
    )
  }
  it.done = true
  out.push(emit(s, "response.output_item.done", { output_index: it.outputIndex, item: itemJson(it) }))
}

/** The in-band failure: response.failed with the output so far, then an error event. */
const errorFrames = (s: EncoderState, e: ErrorInfo): ReadonlyArray<string> => {
  const out: Array<string> = []
  ensureStarted(s, out)
  out.push(
    emit(s, "response.failed", {
      response: responseObject(
        {
          id: s.id,
          createdAt: s.createdAt,
          status: "failed",
          output: s.items.map(itemJson),
          error: e,
          usage: completeUsage(s.usage),
        },
        s.ctx,
      ),
    }),
  )
  out.push(emit(s, "error", { code: responseErrorCode(e), message: e.message, param: e.param ?? null }))
  return out
}

const newItem = (ctx: EncodeContext, outputIndex: number, b: BlockStart): Item =>
  b.type === "text"
    ? { kind: "text", outputIndex, id: ctx.ids("msg_"), text: "", done: false }
    : b.type === "tool_use"
      ? { kind: "tool", outputIndex, id: ctx.ids("fc_"), callId: b.id, name: b.name, args: "", done: false }
      : {
          kind: "reasoning",
          outputIndex,
          id: ctx.ids("rs_"),
          text: "",
          redacted: b.redacted === true,
          partOpen: false,
          done: false,
        }

/** A block is an output item (a message's text also opens its content part). */
const openItem = (s: EncoderState, index: number, b: BlockStart, out: Array<string>) => {
  ensureStarted(s, out)
  const it = newItem(s.ctx, s.items.length, b)
  s.items.push(it)
  s.byBlock.set(index, it)
  out.push(emit(s, "response.output_item.added", { output_index: it.outputIndex, item: itemJson(it) }))
  if (it.kind === "text")
    out.push(
      emit(s, "response.content_part.added", {
        item_id: it.id,
        output_index: it.outputIndex,
        content_index: 0,
        part: { type: "output_text", text: "", annotations: [], logprobs: [] },
      }),
    )
}

const appendReasoning = (
  s: EncoderState,
  it: Extract<Item, { kind: "reasoning" }>,
  text: string,
  out: Array<string>,
) => {
  if (!it.partOpen) {
    it.partOpen = true
    out.push(
      emit(s, "response.reasoning_summary_part.added", {
        item_id: it.id,
        output_index: it.outputIndex,
        summary_index: 0,
        part: { type: "summary_text", text: "" },
      }),
    )
  }
  it.text += text
  out.push(
    emit(s, "response.reasoning_summary_text.delta", {
      item_id: it.id,
      output_index: it.outputIndex,
      summary_index: 0,
      delta: text,
    }),
  )
}

/** Every item closes, then response.completed (or .incomplete) repeats the whole output. */
const complete = (s: EncoderState, out: Array<string>) => {
  ensureStarted(s, out)
  for (const it of s.items) closeItem(s, it, out)
  const reason = s.stop ?? "end_turn"
  const status = statusOf(reason)
  const response = responseObject(
    {
      id: s.id,
      createdAt: s.createdAt,
      status,
      output: s.items.map(itemJson),
      stopReason: reason,
      usage: completeUsage(s.usage),
    },
    s.ctx,
  )
  out.push(emit(s, status === "completed" ? "response.completed" : "response.incomplete", { response }))
  s.done = true
}

const encodeEvent = (s: EncoderState, ev: EncodableEvent): ReadonlyArray<string> => {
  const out: Array<string> = []
  switch (ev.type) {
    case "block_start":
      openItem(s, ev.index, ev.block, out)
      break
    case "text_delta": {
      const it = s.byBlock.get(ev.index)
      if (it?.kind !== "text" || it.done || ev.text === "") break
      it.text += ev.text
      out.push(
        emit(s, "response.output_text.delta", {
          item_id: it.id,
          output_index: it.outputIndex,
          content_index: 0,
          delta: ev.text,
          logprobs: [],
        }),
      )
      break
    }
    case "reasoning_delta": {
      const it = s.byBlock.get(ev.index)
      if (it?.kind === "reasoning" && !it.done && ev.text !== "") appendReasoning(s, it, ev.text, out)
      break
    }
    case "signature": {
      const it = s.byBlock.get(ev.index)
      // Another provider's signed (or redacted) thinking travels in encrypted_content (ReasoningCarrier).
      if (it?.kind === "reasoning") it.encrypted = encryptedContentOf(ev.signature, it.redacted)
      break
    }
    case "tool_input_delta": {
      const it = s.byBlock.get(ev.index)
      if (it?.kind !== "tool" || it.done || ev.partialJson === "") break
      it.args += ev.partialJson
      out.push(
        emit(s, "response.function_call_arguments.delta", {
          item_id: it.id,
          output_index: it.outputIndex,
          delta: ev.partialJson,
        }),
      )
      break
    }
    case "block_stop": {
      const it = s.byBlock.get(ev.index)
      if (it) closeItem(s, it, out)
      break
    }
    case "stop":
      s.stop = ev.reason
      break
    case "end":
      complete(s, out)
      break
  }
  return out
}

export const makeEncoder = (ctx: EncodeContext): StreamEncoder =>
  encoderOf<EncoderState>(
    {
      ctx,
      id: ctx.ids("resp_"),
      createdAt: ctx.now(),
      items: [],
      byBlock: new Map(),
      seq: 0,
      started: false,
      usage: {},
      stop: undefined,
      done: false,
    },
    { start: ensureStarted, encode: encodeEvent, errorFrames },
  )
