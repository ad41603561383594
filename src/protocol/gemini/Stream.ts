/** Gemini streamGenerateContent?alt=sse (data-only frames of GenerateContentResponse) ⇄ canonical stream events. */
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
import { decodeErrorBody, geminiErrorBody } from "../Errors.js"
import { asArray, asObject, compact, isObject, parseArguments, parseJson, str, type JsonObject } from "../Json.js"
import { sseJson } from "../Sse.js"
import { fromGeminiFinish, toGeminiFinish } from "../StopReasons.js"
import { malformedFrame, truncatedStream } from "../StreamFailures.js"
import { decodeUsage, encodeUsage } from "./Response.js"

export const makeDecoder = (ids: IdGenerator): StreamDecoder => {
  let started = false
  let next = 0
  let open: { index: number; kind: "text" | "reasoning" } | undefined
  let sawToolCall = false
  let stopped = false
  let ended = false

  const close = (out: Array<StreamEvent>) => {
    if (open) out.push({ type: "block_stop", index: open.index })
    open = undefined
  }
  const enter = (kind: "text" | "reasoning", out: Array<StreamEvent>): number => {
    if (open?.kind === kind) return open.index
    close(out)
    const index = next++
    out.push({ type: "block_start", index, block: { type: kind } })
    open = { index, kind }
    return index
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
    if (isObject(o.error)) {
      ended = true
      return [{ type: "error", error: decodeErrorBody(0, o) }]
    }
    const out: Array<StreamEvent> = []
    if (!started) {
      started = true
      out.push({ type: "message_start", id: str(o.responseId) ?? ids("resp_"), model: str(o.modelVersion) ?? "" })
    }
    const cand = asObject(asArray(o.candidates)[0])
    for (const p0 of asArray(asObject(cand.content).parts)) {
      const p = asObject(p0)
      const sig = str(p.thoughtSignature)
      if (typeof p.text === "string") {
        const kind = p.thought === true ? "reasoning" : "text"
        if (p.text === "" && sig === undefined) continue
        const index = enter(kind, out)
        if (p.text !== "") out.push(kind === "text" ? { type: "text_delta", index, text: p.text } : { type: "reasoning_delta", index, text: p.text })
        if (sig !== undefined) out.push({ type: "signature", index, signature: { origin: "gemini", value: sig } })
      } else if (isObject(p.functionCall)) {
        close(out)
        sawToolCall = true
        const index = next++
        const f = p.functionCall
        out.push({ type: "block_start", index, block: { type: "tool_use", id: str(f.id) ?? ids("call_"), name: str(f.name) ?? "" } })
        out.push({ type: "tool_input_delta", index, partialJson: JSON.stringify(f.args ?? {}) })
        if (sig !== undefined) out.push({ type: "signature", index, signature: { origin: "gemini", value: sig } })
        out.push({ type: "block_stop", index })
      }
    }
    const usage = decodeUsage(o.usageMetadata)
    if (usage) out.push({ type: "usage", usage })
    const finish = str(cand.finishReason)
    const blocked = str(asObject(o.promptFeedback).blockReason)
    if ((finish !== undefined || blocked !== undefined) && !stopped) {
      stopped = true
      close(out)
      out.push({ type: "stop", reason: blocked !== undefined && finish === undefined ? "content_filter" : fromGeminiFinish(finish, sawToolCall) })
    }
    return out
  }

  return {
    push,
    finish: () => {
      if (ended) return []
      ended = true
      // Gemini has no end marker: a finishReason is what marks a complete stream.
      return stopped ? [{ type: "end" }] : [{ type: "error", error: truncatedStream() }]
    },
  }
}

export const errorFrame = (e: ErrorInfo): string => sseJson(geminiErrorBody(e))

export const makeEncoder = (ctx: EncodeContext): StreamEncoder => {
  let responseId = ""
  let usage: UsageDelta = {}
  let stop: StopReason | undefined
  let done = false
  // Gemini sends a function call whole, so its arguments are buffered until the block ends.
  const tools = new Map<number, { id: string; name: string; args: string; signature?: string }>()
  const kinds = new Map<number, "text" | "reasoning" | "tool_use">()

  const chunk = (parts: ReadonlyArray<JsonObject>, extra: JsonObject = {}): string =>
    sseJson({
      candidates: [{ content: { role: "model", parts }, ...extra, index: 0 }],
      ...(extra.finishReason !== undefined ? { usageMetadata: encodeUsage(completeUsage(usage)) } : {}),
      modelVersion: ctx.model,
      responseId,
    })

  const error = (e: ErrorInfo): ReadonlyArray<string> => {
    if (done) return []
    done = true
    return [errorFrame(e)]
  }

  const push = (ev: StreamEvent): ReadonlyArray<string> => {
    if (done) return []
    switch (ev.type) {
      case "message_start":
        responseId = ctx.ids("")
        if (ev.usage) usage = mergeUsage(usage, ev.usage)
        return []
      case "block_start":
        kinds.set(ev.index, ev.block.type)
        if (ev.block.type === "tool_use") tools.set(ev.index, { id: ev.block.id, name: ev.block.name, args: "" })
        return []
      case "text_delta":
        return ev.text === "" ? [] : [chunk([{ text: ev.text }])]
      case "reasoning_delta":
        return ev.text === "" ? [] : [chunk([{ text: ev.text, thought: true }])]
      case "signature": {
        if (ev.signature.origin !== "gemini") return []
        const t = tools.get(ev.index)
        if (t) {
          t.signature = ev.signature.value
          return []
        }
        return [chunk([{ text: "", thought: kinds.get(ev.index) === "reasoning" ? true : undefined, thoughtSignature: ev.signature.value }].map((p) => compact(p)))]
      }
      case "tool_input_delta": {
        const t = tools.get(ev.index)
        if (t) t.args += ev.partialJson
        return []
      }
      case "block_stop": {
        const t = tools.get(ev.index)
        if (!t) return []
        tools.delete(ev.index)
        return [chunk([compact({ functionCall: { id: t.id, name: t.name, args: parseArguments(t.args) }, thoughtSignature: t.signature })])]
      }
      case "usage":
        usage = mergeUsage(usage, ev.usage)
        return []
      case "stop":
        stop = ev.reason
        return []
      case "end":
        done = true
        return [chunk([{ text: "" }], { finishReason: toGeminiFinish(stop ?? "end_turn") })]
      case "error":
        return error(ev.error)
    }
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
