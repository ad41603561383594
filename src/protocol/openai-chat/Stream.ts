/** OpenAI chat completion chunk streams ⇄ canonical stream events. */
import {
  type BlockStart,
  completeUsage,
  type EncodeContext,
  type ErrorInfo,
  type IdGenerator,
  type SseEvent,
  type StopReason,
  type StreamDecoder,
  type StreamEncoder,
  type StreamEvent,
  type UsageDelta,
} from "../Canonical.js"
import { type DecoderSteps, decoderOf } from "../DecoderLifecycle.js"
import { type EncodableEvent, encoderOf } from "../EncoderLifecycle.js"
import { decodeErrorBody, makeError, openAiErrorBody } from "../Errors.js"
import { asArray, asObject, isObject, type JsonObject, num, parseJson, str } from "../Json.js"
import { SSE_DONE, sseJson } from "../Sse.js"
import { fromOpenAiFinish, toOpenAiFinish } from "../StopReasons.js"
import { decodeUsage, encodeUsage } from "./Response.js"

/**
 * Keeps canonical block indexes for a dialect that interleaves content kinds within one choice.
 * Blocks are sequential: opening a new block closes the previous one.
 */
export class BlockTracker {
  private readonly indexOf = new Map<string, number>()
  private open: number | undefined
  private next = 0
  /** Returns the canonical index of `key`, emitting block_stop/block_start when it changes; undefined if the block was already closed. */
  enter(key: string, start: (index: number) => StreamEvent, out: Array<StreamEvent>): number | undefined {
    const known = this.indexOf.get(key)
    if (known !== undefined) return known === this.open ? known : undefined
    this.close(out)
    const index = this.next++
    this.indexOf.set(key, index)
    this.open = index
    out.push(start(index))
    return index
  }
  /** Forget a key so the same kind can start a fresh block later (e.g. text after a tool call). */
  close(out: Array<StreamEvent>): void {
    if (this.open !== undefined) {
      out.push({ type: "block_stop", index: this.open })
      for (const [k, v] of this.indexOf) if (v === this.open && !k.startsWith("tool:")) this.indexOf.delete(k)
      this.open = undefined
    }
  }
  get count(): number {
    return this.next
  }
}

/** A tool call whose deltas arrive while another tool call's block is open: held until it can be emitted whole. */
interface HeldToolCall {
  id: string | undefined
  name: string | undefined
  args: string
}

/** One stream's decoding state. */
interface DecoderState {
  readonly ids: IdGenerator
  readonly blocks: BlockTracker
  // Canonical blocks are sequential, but OpenAI-compatible upstreams may interleave the argument
  // deltas of parallel tool calls. The first tool call streams live; the others are held and
  // emitted whole, in order, when the live one ends (finish, end of stream, or other content).
  liveTool: string | undefined
  readonly held: Map<string, HeldToolCall>
  started: boolean
  stopped: boolean
  /** [DONE], an error object or an unplaceable delta was seen: nothing more is decoded. */
  finished: boolean
}

const reasoningStart = (index: number): StreamEvent => ({ type: "block_start", index, block: { type: "reasoning" } })
const textStart = (index: number): StreamEvent => ({ type: "block_start", index, block: { type: "text" } })
const toolStart =
  (ids: IdGenerator, call: { readonly id: string | undefined; readonly name: string | undefined }) =>
  (index: number): StreamEvent => ({
    type: "block_start",
    index,
    block: { type: "tool_use", id: call.id ?? ids("call_"), name: call.name ?? "" },
  })

const releaseHeld = (s: DecoderState, out: Array<StreamEvent>) => {
  s.liveTool = undefined
  for (const [key, call] of s.held) {
    const index = s.blocks.enter(key, toolStart(s.ids, call), out)
    if (index !== undefined && call.args !== "") out.push({ type: "tool_input_delta", index, partialJson: call.args })
  }
  s.held.clear()
}

const startMessage = (s: DecoderState, o: JsonObject, out: Array<StreamEvent>) => {
  if (s.started) return
  s.started = true
  const created = num(o.created)
  out.push({
    type: "message_start",
    id: str(o.id) ?? s.ids("chatcmpl-"),
    model: str(o.model) ?? "",
    ...(created !== undefined ? { created } : {}),
  })
}

/** Reasoning and text deltas, each in its block (other content ends the live tool call). */
const decodeContent = (s: DecoderState, delta: JsonObject, out: Array<StreamEvent>) => {
  const reasoning = str(delta.reasoning_content) ?? str(delta.reasoning)
  if (reasoning) {
    releaseHeld(s, out)
    const i = s.blocks.enter("reasoning", reasoningStart, out)
    if (i !== undefined) out.push({ type: "reasoning_delta", index: i, text: reasoning })
  }
  const text = str(delta.content) ?? str(delta.refusal)
  if (text) {
    releaseHeld(s, out)
    const i = s.blocks.enter("text", textStart, out)
    if (i !== undefined) out.push({ type: "text_delta", index: i, text })
  }
}

/** One tool call delta: streamed live, held behind the live one, or (false) unplaceable. */
const decodeToolCall = (s: DecoderState, tc: JsonObject, pos: number, out: Array<StreamEvent>): boolean => {
  const f = asObject(tc.function)
  const key = `tool:${num(tc.index) ?? pos}`
  const args = str(f.arguments) ?? ""
  const heldCall = s.held.get(key)
  if (heldCall !== undefined) {
    heldCall.id ??= str(tc.id)
    heldCall.name ??= str(f.name)
    heldCall.args += args
    return true
  }
  if (s.liveTool !== undefined && key !== s.liveTool) {
    s.held.set(key, { id: str(tc.id), name: str(f.name), args })
    return true
  }
  const i = s.blocks.enter(key, toolStart(s.ids, { id: str(tc.id), name: str(f.name) }), out)
  // A delta for a tool call whose block was closed by other content: it cannot be placed.
  if (i === undefined) return false
  s.liveTool = key
  if (args !== "") out.push({ type: "tool_input_delta", index: i, partialJson: args })
  return true
}

/** Choice 0 of a chunk; false when the stream failed on it. */
const decodeChoice = (s: DecoderState, choice: JsonObject, out: Array<StreamEvent>): boolean => {
  const delta = asObject(choice.delta)
  decodeContent(s, delta, out)
  for (const [pos, tc] of asArray(delta.tool_calls).entries()) {
    if (decodeToolCall(s, asObject(tc), pos, out)) continue
    s.finished = true
    // Readable, but impossible to place: a broken answer, not a frame to skip.
    out.push({
      type: "error",
      error: makeError("server", "Upstream stream error: a tool call continued after other content", {
        status: 502,
        code: "upstream_stream_error",
      }),
    })
    return false
  }
  const finish = str(choice.finish_reason)
  if (finish !== undefined && !s.stopped) {
    s.stopped = true
    releaseHeld(s, out)
    s.blocks.close(out)
    out.push({ type: "stop", reason: fromOpenAiFinish(finish) })
  }
  return true
}

const decodeChunk = (s: DecoderState, o: JsonObject): ReadonlyArray<StreamEvent> => {
  if (isObject(o.error)) {
    s.finished = true
    return [{ type: "error", error: decodeErrorBody(0, o) }]
  }
  const out: Array<StreamEvent> = []
  startMessage(s, o, out)
  const choice = asArray(o.choices)
    .map(asObject)
    .find((c) => (num(c.index) ?? 0) === 0)
  if (choice && !decodeChoice(s, choice, out)) return out
  const usage = decodeUsage(o.usage)
  if (usage) out.push({ type: "usage", usage })
  return out
}

/** [DONE]: held tool calls and the open block end; a stream without finish_reason ends as end_turn. */
const decodeDone = (s: DecoderState): ReadonlyArray<StreamEvent> => {
  const out: Array<StreamEvent> = []
  s.finished = true
  releaseHeld(s, out)
  s.blocks.close(out)
  if (!s.stopped) out.push({ type: "stop", reason: "end_turn" })
  out.push({ type: "end" })
  return out
}

const steps: DecoderSteps<DecoderState> = {
  decode: (s, o) => decodeChunk(s, o),
  // Some compatible servers omit [DONE]; a finish_reason is enough to call it complete.
  completeWithoutMarker: (s) => s.stopped,
  done: decodeDone,
}

export const makeDecoder = (ids: IdGenerator): StreamDecoder =>
  decoderOf<DecoderState>(
    {
      ids,
      blocks: new BlockTracker(),
      liveTool: undefined,
      held: new Map(),
      started: false,
      stopped: false,
      finished: false,
    },
    steps,
  )

/** In-band error frame for chat clients: a data frame with an `error` object, and no [DONE]. */
export const errorFrame = (e: ErrorInfo): string => sseJson(openAiErrorBody(e))

/** One stream's encoding state. */
interface EncoderState {
  readonly ctx: EncodeContext
  readonly id: string
  readonly created: number
  /** The client asked for a usage chunk (`stream_options.include_usage`). */
  readonly includeUsage: boolean
  /** Canonical block index → the tool call's index in `tool_calls`. */
  readonly toolIndex: Map<number, number>
  usage: UsageDelta
  started: boolean
  stop: StopReason | undefined
  done: boolean
}

const chunk = (s: EncoderState, delta: JsonObject, finishReason: string | null = null): string =>
  sseJson({
    id: s.id,
    object: "chat.completion.chunk",
    created: s.created,
    model: s.ctx.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(s.includeUsage ? { usage: null } : {}),
  })

const ensureStarted = (s: EncoderState, out: Array<string>) => {
  if (s.started) return
  s.started = true
  out.push(chunk(s, { role: "assistant", content: "", refusal: null }))
}

/** The end: a finish chunk if no stop came, the usage chunk if asked for, and [DONE]. */
const terminal = (s: EncoderState, out: Array<string>) => {
  ensureStarted(s, out)
  if (s.stop === undefined) out.push(chunk(s, {}, "stop"))
  if (s.includeUsage)
    out.push(
      sseJson({
        id: s.id,
        object: "chat.completion.chunk",
        created: s.created,
        model: s.ctx.model,
        choices: [],
        usage: encodeUsage(completeUsage(s.usage)),
      }),
    )
  out.push(SSE_DONE)
  s.done = true
}

/** Only tool calls open anything on the wire: text and reasoning are bare deltas. */
const openToolCall = (s: EncoderState, index: number, block: BlockStart, out: Array<string>) => {
  ensureStarted(s, out)
  if (block.type !== "tool_use") return
  const k = s.toolIndex.size
  s.toolIndex.set(index, k)
  out.push(
    chunk(s, {
      tool_calls: [{ index: k, id: block.id, type: "function", function: { name: block.name, arguments: "" } }],
    }),
  )
}

const encodeEvent = (s: EncoderState, ev: EncodableEvent): ReadonlyArray<string> => {
  const out: Array<string> = []
  switch (ev.type) {
    case "block_start":
      openToolCall(s, ev.index, ev.block, out)
      break
    case "text_delta":
      ensureStarted(s, out)
      if (ev.text !== "") out.push(chunk(s, { content: ev.text }))
      break
    case "reasoning_delta":
      ensureStarted(s, out)
      if (ev.text !== "") out.push(chunk(s, { reasoning_content: ev.text }))
      break
    case "tool_input_delta": {
      const k = s.toolIndex.get(ev.index)
      if (k !== undefined && ev.partialJson !== "")
        out.push(chunk(s, { tool_calls: [{ index: k, function: { arguments: ev.partialJson } }] }))
      break
    }
    case "stop":
      ensureStarted(s, out)
      if (s.stop === undefined) {
        s.stop = ev.reason
        out.push(chunk(s, {}, toOpenAiFinish(ev.reason)))
      }
      break
    case "end":
      terminal(s, out)
      break
    case "signature":
    case "block_stop":
      break
  }
  return out
}

const inBandError = (_: EncoderState, e: ErrorInfo): ReadonlyArray<string> => [errorFrame(e)]

export const makeEncoder = (ctx: EncodeContext): StreamEncoder =>
  encoderOf<EncoderState>(
    {
      ctx,
      id: ctx.ids("chatcmpl-"),
      created: ctx.now(),
      includeUsage: ctx.request?.streamUsage ?? false,
      toolIndex: new Map(),
      usage: {},
      started: false,
      stop: undefined,
      done: false,
    },
    { start: ensureStarted, encode: encodeEvent, errorFrames: inBandError },
  )

/**
 * Same-dialect passthrough (OpenAI upstream → OpenAI chat client): frames are forwarded untouched,
 * except that the usage-only chunk the gateway asked for is dropped when the client did not ask.
 * Returns the frame text to forward ("" to drop) and any usage seen, for metering.
 */
export const makePassthroughFilter =
  (clientWantsUsage: boolean) =>
  (ev: SseEvent, alreadyParsed?: JsonObject): { frame: string; usage?: UsageDelta } => {
    const data = ev.data
    if (alreadyParsed === undefined && data.trim() === "[DONE]") return { frame: SSE_DONE }
    const parsed = alreadyParsed === undefined ? parseJson(data) : ({ ok: true, value: alreadyParsed } as const)
    if (!parsed.ok || !isObject(parsed.value)) return { frame: `data: ${data}\n\n` }
    const o = parsed.value
    const usage = decodeUsage(o.usage)
    if (clientWantsUsage) return { frame: `data: ${data}\n\n`, ...(usage ? { usage } : {}) }
    if (usage && asArray(o.choices).length === 0) return { frame: "", usage }
    if ("usage" in o) {
      const { usage: _u, ...rest } = o
      return { frame: sseJson(rest), ...(usage ? { usage } : {}) }
    }
    return { frame: `data: ${data}\n\n` }
  }
