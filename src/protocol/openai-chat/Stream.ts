/** OpenAI chat completion chunk streams ⇄ canonical stream events. */
import {
  completeUsage,
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
import { decodeErrorBody, makeError, openAiErrorBody } from "../Errors.js"
import { asArray, asObject, isObject, num, parseJson, str, type JsonObject } from "../Json.js"
import { SSE_DONE, sseJson } from "../Sse.js"
import { fromOpenAiFinish, toOpenAiFinish } from "../StopReasons.js"
import { decodeUsage, encodeUsage } from "./Response.js"

export const malformedFrame = (detail: string): ErrorInfo =>
  makeError("server", `Malformed upstream stream frame: ${detail}`, { status: 502, code: "upstream_malformed_frame" })

export const truncatedStream = (): ErrorInfo =>
  makeError("server", "The upstream stream ended before the response was complete", { status: 502, code: "upstream_truncated" })

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

export const makeDecoder = (ids: IdGenerator): StreamDecoder => {
  const blocks = new BlockTracker()
  // Canonical blocks are sequential, but OpenAI-compatible upstreams may interleave the argument
  // deltas of parallel tool calls. The first tool call streams live; the others are held and
  // emitted whole, in order, when the live one ends (finish, end of stream, or other content).
  let liveTool: string | undefined
  const held = new Map<string, HeldToolCall>()
  const toolStart = (call: { readonly id: string | undefined; readonly name: string | undefined }) =>
    (index: number): StreamEvent => ({ type: "block_start", index, block: { type: "tool_use", id: call.id ?? ids("call_"), name: call.name ?? "" } })
  const releaseHeld = (out: Array<StreamEvent>) => {
    liveTool = undefined
    for (const [key, call] of held) {
      const index = blocks.enter(key, toolStart(call), out)
      if (index !== undefined && call.args !== "") out.push({ type: "tool_input_delta", index, partialJson: call.args })
    }
    held.clear()
  }
  let started = false
  let stopped = false
  let ended = false
  let failed = false

  const start = (o: JsonObject, out: Array<StreamEvent>) => {
    if (started) return
    started = true
    const created = num(o.created)
    out.push({ type: "message_start", id: str(o.id) ?? ids("chatcmpl-"), model: str(o.model) ?? "", ...(created !== undefined ? { created } : {}) })
  }

  const push = (ev: SseEvent): ReadonlyArray<StreamEvent> => {
    if (ended || failed) return []
    const data = ev.data.trim()
    if (data === "") return []
    const out: Array<StreamEvent> = []
    if (data === "[DONE]") {
      ended = true
      releaseHeld(out)
      blocks.close(out)
      if (!stopped) out.push({ type: "stop", reason: "end_turn" })
      out.push({ type: "end" })
      return out
    }
    const parsed = parseJson(data)
    if (!parsed.ok || !isObject(parsed.value)) {
      // One unreadable frame: the stream goes on (the caller decides whether to skip it).
      return [{ type: "error", error: malformedFrame(parsed.ok ? "not an object" : parsed.error) }]
    }
    const o = parsed.value
    if (isObject(o.error)) {
      failed = true
      return [{ type: "error", error: decodeErrorBody(0, o) }]
    }
    start(o, out)
    const choice = asArray(o.choices).map(asObject).find((c) => (num(c.index) ?? 0) === 0)
    if (choice) {
      const delta = asObject(choice.delta)
      const reasoning = str(delta.reasoning_content) ?? str(delta.reasoning)
      if (reasoning) {
        releaseHeld(out)
        const i = blocks.enter("reasoning", (index) => ({ type: "block_start", index, block: { type: "reasoning" } }), out)
        if (i !== undefined) out.push({ type: "reasoning_delta", index: i, text: reasoning })
      }
      const text = str(delta.content) ?? str(delta.refusal)
      if (text) {
        releaseHeld(out)
        const i = blocks.enter("text", (index) => ({ type: "block_start", index, block: { type: "text" } }), out)
        if (i !== undefined) out.push({ type: "text_delta", index: i, text })
      }
      for (const [pos, tc0] of asArray(delta.tool_calls).entries()) {
        const tc = asObject(tc0)
        const f = asObject(tc.function)
        const key = `tool:${num(tc.index) ?? pos}`
        const args = str(f.arguments) ?? ""
        const heldCall = held.get(key)
        if (heldCall !== undefined) {
          heldCall.id ??= str(tc.id)
          heldCall.name ??= str(f.name)
          heldCall.args += args
          continue
        }
        if (liveTool !== undefined && key !== liveTool) {
          held.set(key, { id: str(tc.id), name: str(f.name), args })
          continue
        }
        const i = blocks.enter(key, toolStart({ id: str(tc.id), name: str(f.name) }), out)
        if (i === undefined) {
          // A delta for a tool call whose block was closed by other content: it cannot be placed.
          failed = true
          // Readable, but impossible to place: a broken answer, not a frame to skip.
          out.push({
            type: "error",
            error: makeError("server", "Upstream stream error: a tool call continued after other content", { status: 502, code: "upstream_stream_error" }),
          })
          return out
        }
        liveTool = key
        if (args !== "") out.push({ type: "tool_input_delta", index: i, partialJson: args })
      }
      const finish = str(choice.finish_reason)
      if (finish !== undefined && !stopped) {
        stopped = true
        releaseHeld(out)
        blocks.close(out)
        out.push({ type: "stop", reason: fromOpenAiFinish(finish) })
      }
    }
    const usage = decodeUsage(o.usage)
    if (usage) out.push({ type: "usage", usage })
    return out
  }

  const finish = (): ReadonlyArray<StreamEvent> => {
    if (ended || failed) return []
    ended = true
    // Some compatible servers omit [DONE]; a finish_reason is enough to call it complete.
    return stopped ? [{ type: "end" }] : [{ type: "error", error: truncatedStream() }]
  }

  return { push, finish }
}

/** In-band error frame for chat clients: a data frame with an `error` object, and no [DONE]. */
export const errorFrame = (e: ErrorInfo): string => sseJson(openAiErrorBody(e))

export const makeEncoder = (ctx: EncodeContext): StreamEncoder => {
  const id = ctx.ids("chatcmpl-")
  const created = ctx.now()
  const includeUsage = ctx.request?.streamUsage ?? false
  const toolIndex = new Map<number, number>()
  let usage: UsageDelta = {}
  let started = false
  let stop: StopReason | undefined
  let done = false

  const chunk = (delta: JsonObject, finishReason: string | null = null): string =>
    sseJson({
      id,
      object: "chat.completion.chunk",
      created,
      model: ctx.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...(includeUsage ? { usage: null } : {}),
    })

  const ensureStarted = (out: Array<string>) => {
    if (started) return
    started = true
    out.push(chunk({ role: "assistant", content: "", refusal: null }))
  }

  const terminal = (out: Array<string>) => {
    ensureStarted(out)
    if (stop === undefined) out.push(chunk({}, "stop"))
    if (includeUsage)
      out.push(sseJson({ id, object: "chat.completion.chunk", created, model: ctx.model, choices: [], usage: encodeUsage(completeUsage(usage)) }))
    out.push(SSE_DONE)
    done = true
  }

  const error = (e: ErrorInfo): ReadonlyArray<string> => {
    if (done) return []
    done = true
    return [errorFrame(e)]
  }

  const push = (ev: StreamEvent): ReadonlyArray<string> => {
    if (done) return []
    const out: Array<string> = []
    switch (ev.type) {
      case "message_start":
        ensureStarted(out)
        if (ev.usage) usage = mergeUsage(usage, ev.usage)
        break
      case "block_start":
        ensureStarted(out)
        if (ev.block.type === "tool_use") {
          const k = toolIndex.size
          toolIndex.set(ev.index, k)
          out.push(chunk({ tool_calls: [{ index: k, id: ev.block.id, type: "function", function: { name: ev.block.name, arguments: "" } }] }))
        }
        break
      case "text_delta":
        ensureStarted(out)
        if (ev.text !== "") out.push(chunk({ content: ev.text }))
        break
      case "reasoning_delta":
        ensureStarted(out)
        if (ev.text !== "") out.push(chunk({ reasoning_content: ev.text }))
        break
      case "tool_input_delta": {
        const k = toolIndex.get(ev.index)
        if (k !== undefined && ev.partialJson !== "") out.push(chunk({ tool_calls: [{ index: k, function: { arguments: ev.partialJson } }] }))
        break
      }
      case "usage":
        usage = mergeUsage(usage, ev.usage)
        break
      case "stop":
        ensureStarted(out)
        if (stop === undefined) {
          stop = ev.reason
          out.push(chunk({}, toOpenAiFinish(ev.reason)))
        }
        break
      case "end":
        terminal(out)
        break
      case "error":
        return error(ev.error)
      case "signature":
      case "block_stop":
        break
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

/**
 * Same-dialect passthrough (OpenAI upstream → OpenAI chat client): frames are forwarded untouched,
 * except that the usage-only chunk the gateway asked for is dropped when the client did not ask.
 * Returns the frame text to forward ("" to drop) and any usage seen, for metering.
 */
export const makePassthroughFilter = (clientWantsUsage: boolean) => (ev: SseEvent, alreadyParsed?: JsonObject): { frame: string; usage?: UsageDelta } => {
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
