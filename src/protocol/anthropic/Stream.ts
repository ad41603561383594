/** Anthropic Messages SSE (message_start … message_stop) ⇄ canonical stream events. */
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
import { anthropicErrorBody, decodeErrorBody } from "../Errors.js"
import { asObject, isObject, num, parseJson, str, type JsonObject } from "../Json.js"
import { eventName, sseJson } from "../Sse.js"
import { fromAnthropicStop, toAnthropicStop } from "../StopReasons.js"
import { malformedFrame, truncatedStream } from "../openai-chat/Stream.js"
import { decodeUsage, encodeUsage } from "./Response.js"

export const makeDecoder = (ids: IdGenerator): StreamDecoder => {
  // Anthropic block index → canonical index (they coincide, but a foreign server may skip indexes).
  const indexMap = new Map<number, number>()
  let next = 0
  let ended = false
  let failed = false

  const push = (ev: SseEvent): ReadonlyArray<StreamEvent> => {
    if (ended || failed) return []
    const data = ev.data.trim()
    if (data === "" || data === "[DONE]") return []
    const parsed = parseJson(data)
    if (!parsed.ok || !isObject(parsed.value)) {
      // One unreadable frame: the stream goes on (the caller decides whether to skip it).
      return [{ type: "error", error: malformedFrame(parsed.ok ? "not an object" : parsed.error) }]
    }
    const o = parsed.value
    // Data-only frames (some SDK bridges) still carry `type`.
    const type = eventName(ev.event) ?? str(o.type)
    const out: Array<StreamEvent> = []
    switch (type) {
      case "message_start": {
        const m = asObject(o.message)
        const usage = decodeUsage(m.usage)
        out.push({ type: "message_start", id: str(m.id) ?? ids("msg_"), model: str(m.model) ?? "", ...(usage ? { usage } : {}) })
        break
      }
      case "content_block_start": {
        const b = asObject(o.content_block)
        const wire = num(o.index) ?? next
        // Server-side tool blocks (web search …) and their results are Anthropic-internal: a client
        // in another dialect must not try to execute them, so they are not mapped.
        if (b.type !== "text" && b.type !== "tool_use" && b.type !== "thinking" && b.type !== "redacted_thinking") break
        const index = next++
        indexMap.set(wire, index)
        if (b.type === "text") {
          out.push({ type: "block_start", index, block: { type: "text" } })
          if (typeof b.text === "string" && b.text !== "") out.push({ type: "text_delta", index, text: b.text })
        } else if (b.type === "tool_use") {
          out.push({ type: "block_start", index, block: { type: "tool_use", id: str(b.id) ?? ids("toolu_"), name: str(b.name) ?? "" } })
          if (isObject(b.input) && Object.keys(b.input).length > 0) out.push({ type: "tool_input_delta", index, partialJson: JSON.stringify(b.input) })
        } else if (b.type === "thinking") {
          out.push({ type: "block_start", index, block: { type: "reasoning" } })
          if (typeof b.thinking === "string" && b.thinking !== "") out.push({ type: "reasoning_delta", index, text: b.thinking })
        } else {
          out.push({ type: "block_start", index, block: { type: "reasoning", redacted: true } })
          out.push({ type: "signature", index, signature: { origin: "anthropic", value: str(b.data) ?? "" } })
        }
        break
      }
      case "content_block_delta": {
        const index = indexMap.get(num(o.index) ?? -1)
        if (index === undefined) break
        const d = asObject(o.delta)
        if (d.type === "text_delta" && typeof d.text === "string") out.push({ type: "text_delta", index, text: d.text })
        else if (d.type === "input_json_delta" && typeof d.partial_json === "string") out.push({ type: "tool_input_delta", index, partialJson: d.partial_json })
        else if (d.type === "thinking_delta" && typeof d.thinking === "string") out.push({ type: "reasoning_delta", index, text: d.thinking })
        else if (d.type === "signature_delta" && typeof d.signature === "string") out.push({ type: "signature", index, signature: { origin: "anthropic", value: d.signature } })
        break
      }
      case "content_block_stop": {
        const index = indexMap.get(num(o.index) ?? -1)
        if (index !== undefined) out.push({ type: "block_stop", index })
        break
      }
      case "message_delta": {
        const d = asObject(o.delta)
        const usage = decodeUsage(o.usage)
        if (usage) out.push({ type: "usage", usage })
        if (typeof d.stop_reason === "string") out.push({ type: "stop", reason: fromAnthropicStop(d.stop_reason), stopSequence: str(d.stop_sequence) ?? null })
        break
      }
      case "message_stop":
        ended = true
        out.push({ type: "end" })
        break
      case "error":
        failed = true
        out.push({ type: "error", error: decodeErrorBody(0, o) })
        break
      case "ping":
      default:
        break
    }
    return out
  }

  return {
    push,
    finish: () => {
      if (ended || failed) return []
      ended = true
      return [{ type: "error", error: truncatedStream() }]
    },
  }
}

export const errorFrame = (e: ErrorInfo): string => sseJson(anthropicErrorBody(e), "error")

export const makeEncoder = (ctx: EncodeContext): StreamEncoder => {
  const id = ctx.ids("msg_")
  const wireIndex = new Map<number, number>()
  let nextWire = 0
  let open: number | undefined
  let openKind: "text" | "reasoning" | "tool_use" | "redacted" | undefined
  let redactedData: string | undefined
  let started = false
  let pinged = false
  let usage: UsageDelta = {}
  let stop: StopReason | undefined
  let stopSequence: string | null = null
  let done = false

  const frame = (type: string, body: JsonObject) => sseJson({ type, ...body }, type)

  const ensureStarted = (out: Array<string>) => {
    if (started) return
    started = true
    const u = completeUsage(usage)
    out.push(
      frame("message_start", {
        message: {
          id,
          type: "message",
          role: "assistant",
          model: ctx.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { ...encodeUsage(u), output_tokens: usage.outputTokens ?? 0 },
        },
      }),
    )
  }

  const closeOpen = (out: Array<string>) => {
    if (open === undefined) return
    const w = wireIndex.get(open)!
    if (openKind === "redacted") {
      if (redactedData) {
        out.push(frame("content_block_start", { index: w, content_block: { type: "redacted_thinking", data: redactedData } }))
        out.push(frame("content_block_stop", { index: w }))
      } else nextWire-- // nothing was sent for it: free the wire index
    } else out.push(frame("content_block_stop", { index: w }))
    open = undefined
    openKind = undefined
    redactedData = undefined
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
        if (ev.usage) usage = mergeUsage(usage, ev.usage)
        ensureStarted(out)
        break
      case "block_start": {
        ensureStarted(out)
        closeOpen(out)
        const w = nextWire++
        wireIndex.set(ev.index, w)
        open = ev.index
        const b = ev.block
        if (b.type === "reasoning" && b.redacted) {
          openKind = "redacted"
          break
        }
        openKind = b.type
        const block =
          b.type === "text"
            ? { type: "text", text: "" }
            : b.type === "tool_use"
              ? { type: "tool_use", id: b.id, name: b.name, input: {} }
              : { type: "thinking", thinking: "", signature: "" }
        out.push(frame("content_block_start", { index: w, content_block: block }))
        if (!pinged) {
          pinged = true
          out.push(frame("ping", {}))
        }
        break
      }
      case "text_delta":
        if (ev.index === open && openKind === "text" && ev.text !== "")
          out.push(frame("content_block_delta", { index: wireIndex.get(ev.index)!, delta: { type: "text_delta", text: ev.text } }))
        break
      case "reasoning_delta":
        if (ev.index === open && openKind === "reasoning" && ev.text !== "")
          out.push(frame("content_block_delta", { index: wireIndex.get(ev.index)!, delta: { type: "thinking_delta", thinking: ev.text } }))
        break
      case "signature":
        if (ev.index !== open || ev.signature.origin !== "anthropic") break
        if (openKind === "redacted") redactedData = ev.signature.value
        else if (openKind === "reasoning")
          out.push(frame("content_block_delta", { index: wireIndex.get(ev.index)!, delta: { type: "signature_delta", signature: ev.signature.value } }))
        break
      case "tool_input_delta":
        if (ev.index === open && openKind === "tool_use" && ev.partialJson !== "")
          out.push(frame("content_block_delta", { index: wireIndex.get(ev.index)!, delta: { type: "input_json_delta", partial_json: ev.partialJson } }))
        break
      case "block_stop":
        if (ev.index === open) closeOpen(out)
        break
      case "usage":
        usage = mergeUsage(usage, ev.usage)
        break
      case "stop":
        stop = ev.reason
        stopSequence = ev.stopSequence ?? null
        break
      case "end": {
        ensureStarted(out)
        closeOpen(out)
        const u = completeUsage(usage)
        out.push(
          frame("message_delta", {
            delta: { stop_reason: toAnthropicStop(stop ?? "end_turn"), stop_sequence: stopSequence },
            usage: encodeUsage(u),
          }),
        )
        out.push(frame("message_stop", {}))
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
