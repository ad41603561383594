/**
 * OpenAI Responses streaming events ⇄ canonical stream events. The encoder emits the official
 * event set: `event:` lines, `sequence_number`, `item_id`, resp_/msg_/fc_/rs_ ids consistent
 * between events and the final `response.completed` object.
 */
import {
  completeUsage,
  type BlockStart,
  mergeUsage,
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
import { decodeErrorBody } from "../Errors.js"
import { asObject, isObject, num, parseJson, str, type JsonObject } from "../Json.js"
import { eventName, sseJson } from "../Sse.js"
import { malformedFrame, truncatedStream } from "../StreamFailures.js"
import { decodeUsage, functionCallItem, messageItem, reasoningItem, responseErrorCode, responseObject, statusOf, stopFromStatus } from "./Response.js"

export const makeDecoder = (ids: IdGenerator): StreamDecoder => {
  const blockOf = new Map<string, number>()
  const argsSeen = new Set<number>()
  const open = new Set<number>()
  let next = 0
  let sawToolCall = false
  let ended = false

  const start = (key: string, block: BlockStart, out: Array<StreamEvent>) => {
    let index = blockOf.get(key)
    if (index === undefined) {
      index = next++
      blockOf.set(key, index)
      open.add(index)
      out.push(mk(index, block))
    }
    return index
  }
  function mk(index: number, block: BlockStart): StreamEvent {
    return { type: "block_start", index, block }
  }
  const stop = (index: number | undefined, out: Array<StreamEvent>) => {
    if (index !== undefined && open.delete(index)) out.push({ type: "block_stop", index })
  }

  const push = (ev: SseEvent): ReadonlyArray<StreamEvent> => {
    if (ended) return []
    const data = ev.data.trim()
    if (data === "" || data === "[DONE]") return []
    const parsed = parseJson(data)
    if (!parsed.ok || !isObject(parsed.value)) {
      // One unreadable frame: the stream goes on (the caller decides whether to skip it).
      return [{ type: "error", error: malformedFrame(parsed.ok ? "not an object" : parsed.error) }]
    }
    const o = parsed.value
    const type = eventName(ev.event) ?? str(o.type)
    const out: Array<StreamEvent> = []
    const itemId = str(o.item_id) ?? ""
    switch (type) {
      case "response.created": {
        const r = asObject(o.response)
        out.push({ type: "message_start", id: str(r.id) ?? ids("resp_"), model: str(r.model) ?? "", ...(num(r.created_at) !== undefined ? { created: num(r.created_at)! } : {}) })
        break
      }
      case "response.output_item.added": {
        const item = asObject(o.item)
        if (item.type === "function_call") {
          sawToolCall = true
          start(str(item.id) ?? "", { type: "tool_use", id: str(item.call_id) ?? ids("call_"), name: str(item.name) ?? "" }, out)
        } else if (item.type === "reasoning") start(str(item.id) ?? "", { type: "reasoning" }, out)
        break
      }
      case "response.content_part.added":
        start(`${itemId}:${num(o.content_index) ?? 0}`, { type: "text" }, out)
        break
      case "response.output_text.delta":
      case "response.refusal.delta": {
        const index = start(`${itemId}:${num(o.content_index) ?? 0}`, { type: "text" }, out)
        if (typeof o.delta === "string" && o.delta !== "") out.push({ type: "text_delta", index, text: o.delta })
        break
      }
      case "response.content_part.done":
        stop(blockOf.get(`${itemId}:${num(o.content_index) ?? 0}`), out)
        break
      case "response.reasoning_summary_text.delta":
      case "response.reasoning_text.delta": {
        const index = start(itemId, { type: "reasoning" }, out)
        if (typeof o.delta === "string" && o.delta !== "") out.push({ type: "reasoning_delta", index, text: o.delta })
        break
      }
      case "response.function_call_arguments.delta": {
        const index = blockOf.get(itemId)
        if (index !== undefined && typeof o.delta === "string") {
          argsSeen.add(index)
          out.push({ type: "tool_input_delta", index, partialJson: o.delta })
        }
        break
      }
      case "response.output_item.done": {
        const item = asObject(o.item)
        const index = blockOf.get(str(item.id) ?? "")
        if (index === undefined) break
        if (item.type === "function_call" && !argsSeen.has(index) && typeof item.arguments === "string" && item.arguments !== "")
          out.push({ type: "tool_input_delta", index, partialJson: item.arguments })
        if (item.type === "reasoning" && typeof item.encrypted_content === "string")
          out.push({ type: "signature", index, signature: { origin: "openai", value: item.encrypted_content } })
        stop(index, out)
        break
      }
      case "response.completed":
      case "response.incomplete": {
        const r = asObject(o.response)
        for (const index of [...open]) stop(index, out)
        const usage = decodeUsage(r.usage)
        if (usage) out.push({ type: "usage", usage })
        out.push({ type: "stop", reason: stopFromStatus(str(r.status), str(asObject(r.incomplete_details).reason), sawToolCall) })
        out.push({ type: "end" })
        ended = true
        break
      }
      case "response.failed": {
        const r = asObject(o.response)
        ended = true
        out.push({ type: "error", error: decodeErrorBody(0, { error: r.error }, "The upstream response failed") })
        break
      }
      case "error":
        ended = true
        out.push({ type: "error", error: decodeErrorBody(0, { error: o }) })
        break
      default:
        break
    }
    return out
  }

  return {
    push,
    finish: () => {
      if (ended) return []
      ended = true
      return [{ type: "error", error: truncatedStream() }]
    },
  }
}

type Item =
  | { kind: "text"; outputIndex: number; id: string; text: string; done: boolean }
  | { kind: "reasoning"; outputIndex: number; id: string; text: string; encrypted?: string; partOpen: boolean; done: boolean }
  | { kind: "tool"; outputIndex: number; id: string; callId: string; name: string; args: string; done: boolean }

export const makeEncoder = (ctx: EncodeContext): StreamEncoder => {
  const id = ctx.ids("resp_")
  const createdAt = ctx.now()
  // Items are kept for the final response.completed object, which repeats the whole output (bounded by the answer itself).
  const items: Array<Item> = []
  const byBlock = new Map<number, Item>()
  let seq = 0
  let started = false
  let usage: UsageDelta = {}
  let stop: StopReason | undefined
  let done = false

  const emit = (type: string, body: JsonObject): string => sseJson({ type, ...body, sequence_number: seq++ }, type)

  const itemJson = (it: Item): JsonObject => {
    const status = it.done ? "completed" : "in_progress"
    return it.kind === "text"
      ? messageItem(it.id, it.text, status)
      : it.kind === "tool"
        ? functionCallItem(it.id, it.callId, it.name, it.args, status)
        : reasoningItem(it.id, it.text, it.encrypted)
  }

  const ensureStarted = (out: Array<string>) => {
    if (started) return
    started = true
    const response = responseObject({ id, createdAt, status: "in_progress", output: [] }, ctx)
    out.push(emit("response.created", { response }))
    out.push(emit("response.in_progress", { response }))
  }

  const closeItem = (it: Item, out: Array<string>) => {
    if (it.done) return
    const base = { item_id: it.id, output_index: it.outputIndex }
    if (it.kind === "text") {
      const part = { type: "output_text", text: it.text, annotations: [], logprobs: [] }
      out.push(emit("response.output_text.done", { ...base, content_index: 0, text: it.text, logprobs: [] }))
      out.push(emit("response.content_part.done", { ...base, content_index: 0, part }))
    } else if (it.kind === "tool") {
      out.push(emit("response.function_call_arguments.done", { ...base, name: it.name, arguments: it.args }))
    } else if (it.partOpen) {
      out.push(emit("response.reasoning_summary_text.done", { ...base, summary_index: 0, text: it.text }))
      out.push(emit("response.reasoning_summary_part.done", { ...base, summary_index: 0, part: { type: "summary_text", text: it.text } }))
    }
    it.done = true
    out.push(emit("response.output_item.done", { output_index: it.outputIndex, item: itemJson(it) }))
  }

  const error = (e: ErrorInfo): ReadonlyArray<string> => {
    if (done) return []
    done = true
    const out: Array<string> = []
    ensureStarted(out)
    out.push(
      emit("response.failed", {
        response: responseObject({ id, createdAt, status: "failed", output: items.map(itemJson), error: e, usage: completeUsage(usage) }, ctx),
      }),
    )
    out.push(emit("error", { code: responseErrorCode(e), message: e.message, param: e.param ?? null }))
    return out
  }

  const push = (ev: StreamEvent): ReadonlyArray<string> => {
    if (done) return []
    const out: Array<string> = []
    switch (ev.type) {
      case "message_start":
        if (ev.usage) usage = mergeUsage(usage, ev.usage)
        ensureStarted(out)
        break
      case "block_start": {
        ensureStarted(out)
        const outputIndex = items.length
        const b = ev.block
        // Redacted (encrypted) thinking from another provider has nothing a Responses client can use.
        if (b.type === "reasoning" && b.redacted) break
        const it: Item =
          b.type === "text"
            ? { kind: "text", outputIndex, id: ctx.ids("msg_"), text: "", done: false }
            : b.type === "tool_use"
              ? { kind: "tool", outputIndex, id: ctx.ids("fc_"), callId: b.id, name: b.name, args: "", done: false }
              : { kind: "reasoning", outputIndex, id: ctx.ids("rs_"), text: "", partOpen: false, done: false }
        items.push(it)
        byBlock.set(ev.index, it)
        out.push(emit("response.output_item.added", { output_index: outputIndex, item: itemJson(it) }))
        if (it.kind === "text")
          out.push(emit("response.content_part.added", { item_id: it.id, output_index: outputIndex, content_index: 0, part: { type: "output_text", text: "", annotations: [], logprobs: [] } }))
        break
      }
      case "text_delta": {
        const it = byBlock.get(ev.index)
        if (it?.kind !== "text" || it.done || ev.text === "") break
        it.text += ev.text
        out.push(emit("response.output_text.delta", { item_id: it.id, output_index: it.outputIndex, content_index: 0, delta: ev.text, logprobs: [] }))
        break
      }
      case "reasoning_delta": {
        const it = byBlock.get(ev.index)
        if (it?.kind !== "reasoning" || it.done || ev.text === "") break
        if (!it.partOpen) {
          it.partOpen = true
          out.push(emit("response.reasoning_summary_part.added", { item_id: it.id, output_index: it.outputIndex, summary_index: 0, part: { type: "summary_text", text: "" } }))
        }
        it.text += ev.text
        out.push(emit("response.reasoning_summary_text.delta", { item_id: it.id, output_index: it.outputIndex, summary_index: 0, delta: ev.text }))
        break
      }
      case "signature": {
        const it = byBlock.get(ev.index)
        if (it?.kind === "reasoning" && ev.signature.origin === "openai") it.encrypted = ev.signature.value
        break
      }
      case "tool_input_delta": {
        const it = byBlock.get(ev.index)
        if (it?.kind !== "tool" || it.done || ev.partialJson === "") break
        it.args += ev.partialJson
        out.push(emit("response.function_call_arguments.delta", { item_id: it.id, output_index: it.outputIndex, delta: ev.partialJson }))
        break
      }
      case "block_stop": {
        const it = byBlock.get(ev.index)
        if (it) closeItem(it, out)
        break
      }
      case "usage":
        usage = mergeUsage(usage, ev.usage)
        break
      case "stop":
        stop = ev.reason
        break
      case "end": {
        ensureStarted(out)
        for (const it of items) closeItem(it, out)
        const reason = stop ?? "end_turn"
        const status = statusOf(reason)
        const response = responseObject({ id, createdAt, status, output: items.map(itemJson), stopReason: reason, usage: completeUsage(usage) }, ctx)
        out.push(emit(status === "completed" ? "response.completed" : "response.incomplete", { response }))
        done = true
        break
      }
      case "error":
        return error(ev.error)
    }
    return out
  }

  return {
    push,
    finish: () => (done ? [] : error(truncatedStream())),
    error,
    get done() {
      return done
    },
  }
}
