import { type Answer, contentText, type Prompt, planAnswer } from "./Answer.js"
import type { FinishReason } from "./Behaviour.js"
import { type Exchange, eventFrame, sendJson, sendSse } from "./Exchange.js"

/** The prompt of an Anthropic Messages request. */
export const anthropicPrompt = (json: any, bodyLength: number): Prompt => {
  const messages: Array<any> = Array.isArray(json?.messages) ? json.messages : []
  const last = messages[messages.length - 1]
  let lastUserText = ""
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]
    if (m?.role !== "user") continue
    const text = contentText(Array.isArray(m.content) ? m.content.filter((b: any) => b?.type === "text") : m.content)
    if (text !== "") {
      lastUserText = text
      break
    }
  }
  const tools: Array<any> = Array.isArray(json?.tools) ? json.tools : []
  return {
    lastUserText,
    endsWithToolResult:
      last?.role === "user" && Array.isArray(last.content) && last.content.some((b: any) => b?.type === "tool_result"),
    toolNames: tools.map((t) => t?.name).filter((n): n is string => typeof n === "string"),
    promptChars: bodyLength,
  }
}

const stopReason = (r: FinishReason): string =>
  r === "length" ? "max_tokens" : r === "tool_calls" ? "tool_use" : r === "content_filter" ? "refusal" : "end_turn"

const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  504: "timeout_error",
  529: "overloaded_error",
}
const ERROR_MESSAGES: Record<string, string> = {
  authentication_error: "invalid x-api-key",
  not_found_error: "Not found",
  rate_limit_error: "Number of request tokens has exceeded your per-minute rate limit",
  overloaded_error: "Overloaded",
  api_error: "Internal server error",
}

/** `{"type":"error","error":{"type","message"}}` for a status. */
export const anthropicErrorBody = (status: number, message?: string) => {
  const type = ERROR_TYPES[status] ?? (status >= 500 ? "api_error" : "invalid_request_error")
  return { type: "error", error: { type, message: message ?? ERROR_MESSAGES[type] ?? "Invalid request" } }
}

export const anthropicModels = (ids: ReadonlyArray<string>) => ({
  data: ids.map((id) => ({
    type: "model",
    id,
    display_name: id
      .split("-")
      .map((w) => (w ? w[0]!.toUpperCase() + w.slice(1) : w))
      .join(" "),
    created_at: "2025-01-01T00:00:00Z",
  })),
  has_more: false,
  first_id: ids[0] ?? null,
  last_id: ids[ids.length - 1] ?? null,
})

const usageOf = (a: Answer) => ({
  input_tokens: a.usage.inputTokens,
  cache_creation_input_tokens: a.usage.cacheCreationTokens,
  cache_read_input_tokens: a.usage.cachedTokens,
  output_tokens: a.usage.outputTokens,
  service_tier: "standard",
})

/** The signature of every thinking block this mock writes; it refuses any other, as Anthropic refuses one it did not sign. */
export const SIGNATURE = "bW9jay1zaWduYXR1cmU="

/**
 * What the Messages API refuses about thinking in a request: a thinking block it did not sign, or
 * thinking on while the final assistant message calls a tool without starting with its thinking.
 */
const thinkingProblem = (json: any): string | undefined => {
  const messages: Array<any> = Array.isArray(json?.messages) ? json.messages : []
  for (const [i, m] of messages.entries()) {
    const blocks: Array<any> = Array.isArray(m?.content) ? m.content : []
    const forged = blocks.findIndex((b) => b?.type === "thinking" && b.signature !== SIGNATURE)
    if (forged >= 0) return `messages.${i}.content.${forged}: Invalid \`signature\` in \`thinking\` block`
  }
  if (json?.thinking?.type !== "enabled") return undefined
  const last = messages.findLastIndex((m) => m?.role === "assistant")
  const content: Array<any> = Array.isArray(messages[last]?.content) ? messages[last].content : []
  if (
    !content.some((b) => b?.type === "tool_use") ||
    content[0]?.type === "thinking" ||
    content[0]?.type === "redacted_thinking"
  )
    return undefined
  return (
    `messages.${last}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${content[0]?.type}\`. ` +
    "When `thinking` is enabled, a final `assistant` message must start with a thinking block"
  )
}

export const handleMessages = (ex: Exchange, model: string): void => {
  const json = ex.json
  const problem = thinkingProblem(json)
  if (problem !== undefined) return sendJson(ex, 400, anthropicErrorBody(400, problem))
  const a = planAnswer(
    ex.behaviour,
    anthropicPrompt(json, ex.bodyLength),
    ex.chunkCount,
    (i) => `toolu_mock${ex.seq}_${i}`,
  )
  const id = `msg_mock${ex.seq}`
  const headers = { "request-id": `req_mock${ex.seq}` }
  const content: Array<Record<string, unknown>> = []
  if (a.thinking !== undefined) content.push({ type: "thinking", thinking: a.thinking, signature: SIGNATURE })
  if (a.text !== "" || a.toolCalls.length === 0) content.push({ type: "text", text: a.text })
  for (const t of a.toolCalls) content.push({ type: "tool_use", id: t.id, name: t.name, input: t.args })
  const stop = stopReason(a.finishReason)

  if (json?.stream !== true) {
    sendJson(
      ex,
      200,
      {
        id,
        type: "message",
        role: "assistant",
        model,
        content,
        stop_reason: stop,
        stop_sequence: null,
        usage: usageOf(a),
      },
      headers,
    )
    return
  }

  const frames: Array<string> = [
    eventFrame("message_start", {
      type: "message_start",
      message: {
        id,
        type: "message",
        role: "assistant",
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usageOf(a), output_tokens: 1 },
      },
    }),
  ]
  let index = 0
  const block = (start: unknown, deltas: Array<unknown>) => {
    frames.push(eventFrame("content_block_start", { type: "content_block_start", index, content_block: start }))
    if (index === 0) frames.push(eventFrame("ping", { type: "ping" }))
    for (const delta of deltas)
      frames.push(eventFrame("content_block_delta", { type: "content_block_delta", index, delta }))
    frames.push(eventFrame("content_block_stop", { type: "content_block_stop", index }))
    index++
  }
  if (a.thinking !== undefined)
    block({ type: "thinking", thinking: "", signature: "" }, [
      { type: "thinking_delta", thinking: a.thinking },
      { type: "signature_delta", signature: SIGNATURE },
    ])
  if (a.text !== "" || a.toolCalls.length === 0)
    block(
      { type: "text", text: "" },
      a.chunks.map((text) => ({ type: "text_delta", text })),
    )
  for (const t of a.toolCalls)
    block({ type: "tool_use", id: t.id, name: t.name, input: {} }, [
      { type: "input_json_delta", partial_json: "" },
      ...t.argumentChunks.map((p) => ({ type: "input_json_delta", partial_json: p })),
    ])
  frames.push(
    eventFrame("message_delta", {
      type: "message_delta",
      delta: { stop_reason: stop, stop_sequence: null },
      usage: { output_tokens: a.usage.outputTokens },
    }),
  )
  frames.push(eventFrame("message_stop", { type: "message_stop" }))
  sendSse(ex, {
    frames,
    terminalCount: 1,
    malformedFrame: "event: content_block_delta\ndata: {not json\n\n",
    errorFrame: () => eventFrame("error", anthropicErrorBody(529)),
    headers,
  })
}
