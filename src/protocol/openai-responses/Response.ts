/** OpenAI Responses `response` object ⇄ canonical response. */

import {
  type CanonicalResponse,
  type ContentBlock,
  decodedResponse,
  type EncodeContext,
  type ErrorInfo,
  type StopReason,
  type Usage,
  type UsageDelta,
} from "../Canonical.js"
import { asArray, asObject, compact, type JsonObject, num, parseArguments, str, stringifyArguments } from "../Json.js"
import { idWithPrefix } from "../openai-chat/Response.js"
import { decodeReasoningItem, encryptedContentOf } from "./ReasoningCarrier.js"
import { encodeFormat, encodeToolChoice, encodeTools } from "./Request.js"

export const decodeUsage = (u: unknown): UsageDelta | undefined => {
  const o = asObject(u)
  const input = num(o.input_tokens)
  const output = num(o.output_tokens)
  if (input === undefined && output === undefined) return undefined
  return compact({
    inputTokens: input,
    outputTokens: output,
    cachedInputTokens: num(asObject(o.input_tokens_details).cached_tokens),
    cacheCreationTokens: num(asObject(o.input_tokens_details).cache_write_tokens),
    reasoningTokens: num(asObject(o.output_tokens_details).reasoning_tokens),
  })
}

/** Responses usage uses input_tokens / output_tokens, never the chat names (prompt_tokens / completion_tokens). */
export const encodeUsage = (u: Usage): JsonObject => ({
  input_tokens: u.inputTokens,
  input_tokens_details: { cached_tokens: u.cachedInputTokens ?? 0, cache_write_tokens: u.cacheCreationTokens ?? 0 },
  output_tokens: u.outputTokens,
  output_tokens_details: { reasoning_tokens: u.reasoningTokens ?? 0 },
  total_tokens: u.inputTokens + u.outputTokens,
})

export const decodeOutputItem = (item: unknown): Array<ContentBlock> => {
  const it = asObject(item)
  switch (it.type) {
    case "message":
      return asArray(it.content).flatMap((c0) => {
        const c = asObject(c0)
        if (c.type === "output_text" && typeof c.text === "string") return [{ type: "text" as const, text: c.text }]
        if (c.type === "refusal" && typeof c.refusal === "string") return [{ type: "text" as const, text: c.refusal }]
        return []
      })
    case "function_call":
      return [
        {
          type: "tool_use",
          id: str(it.call_id) ?? str(it.id) ?? "",
          name: str(it.name) ?? "",
          input: parseArguments(str(it.arguments)),
        },
      ]
    case "reasoning": {
      const summary = asArray(it.summary).map((s) => str(asObject(s).text) ?? "")
      const content = asArray(it.content).map((s) => str(asObject(s).text) ?? "")
      return [decodeReasoningItem(it, [...summary, ...content])]
    }
    default:
      return []
  }
}

export const stopFromStatus = (
  status: string | undefined,
  incompleteReason: string | undefined,
  sawToolCall: boolean,
): StopReason => {
  if (status === "incomplete") return incompleteReason === "content_filter" ? "content_filter" : "max_tokens"
  return sawToolCall ? "tool_use" : "end_turn"
}

export const decodeResponse = (json: unknown): CanonicalResponse => {
  const o = asObject(json)
  const content = asArray(o.output).flatMap(decodeOutputItem)
  return decodedResponse({
    id: str(o.id),
    model: str(o.model),
    created: num(o.created_at),
    content,
    stopReason: stopFromStatus(
      str(o.status),
      str(asObject(o.incomplete_details).reason),
      content.some((b) => b.type === "tool_use"),
    ),
    usage: decodeUsage(o.usage),
  })
}

export const messageItem = (id: string, text: string, status: "in_progress" | "completed"): JsonObject => ({
  id,
  type: "message",
  status,
  role: "assistant",
  content:
    status === "in_progress" && text === "" ? [] : [{ type: "output_text", text, annotations: [], logprobs: [] }],
})

export const functionCallItem = (
  id: string,
  callId: string,
  name: string,
  args: string,
  status: "in_progress" | "completed",
): JsonObject => ({
  id,
  type: "function_call",
  status,
  call_id: callId,
  name,
  arguments: args,
})

export const reasoningItem = (id: string, text: string, encrypted: string | undefined): JsonObject =>
  compact({
    id,
    type: "reasoning",
    summary: text === "" ? [] : [{ type: "summary_text", text }],
    encrypted_content: encrypted,
  })

const RESPONSE_ERROR_CODES = new Set(["server_error", "rate_limit_exceeded", "invalid_prompt"])

export const responseErrorCode = (e: ErrorInfo): string =>
  e.code && RESPONSE_ERROR_CODES.has(e.code)
    ? e.code
    : e.kind === "rate_limit"
      ? "rate_limit_exceeded"
      : e.kind === "invalid_request"
        ? "invalid_prompt"
        : "server_error"

export interface ResponseShell {
  readonly id: string
  readonly createdAt: number
  readonly status: "in_progress" | "completed" | "incomplete" | "failed"
  readonly output: ReadonlyArray<JsonObject>
  readonly stopReason?: StopReason
  readonly usage?: Usage
  readonly error?: ErrorInfo
}

/** The full `response` object, echoing request settings the spec requires. */
export const responseObject = (s: ResponseShell, ctx: EncodeContext): JsonObject => {
  const req = ctx.request
  const outputText = s.output
    .flatMap((i) => (i.type === "message" ? asArray(i.content).map((c) => str(asObject(c).text) ?? "") : []))
    .join("")
  return compact({
    id: s.id,
    object: "response",
    created_at: s.createdAt,
    status: s.status,
    completed_at: s.status === "completed" ? ctx.now() : null,
    background: false,
    error: s.error ? { code: responseErrorCode(s.error), message: s.error.message } : null,
    incomplete_details:
      s.status === "incomplete"
        ? {
            reason:
              s.stopReason === "content_filter" || s.stopReason === "refusal" ? "content_filter" : "max_output_tokens",
          }
        : null,
    instructions: req && req.system.length > 0 ? req.system.map((b) => b.text).join("\n\n") : null,
    max_output_tokens: req?.maxTokens ?? null,
    model: ctx.model,
    output: s.output,
    output_text: s.status === "in_progress" ? undefined : outputText,
    parallel_tool_calls: req?.parallelToolCalls ?? true,
    previous_response_id: null,
    reasoning: { effort: req?.reasoning?.effort ?? null, summary: null },
    store: false,
    temperature: req?.temperature ?? 1,
    text: { format: req?.responseFormat ? encodeFormat(req.responseFormat) : { type: "text" } },
    tool_choice: encodeToolChoice(req?.toolChoice),
    tools: req ? encodeTools(req) : [],
    top_p: req?.topP ?? 1,
    truncation: "disabled",
    usage: s.usage ? encodeUsage(s.usage) : undefined,
    user: req?.user,
    metadata: req?.metadata ?? {},
  })
}

export const statusOf = (r: StopReason): "completed" | "incomplete" =>
  r === "max_tokens" || r === "content_filter" || r === "refusal" ? "incomplete" : "completed"

export const encodeResponse = (resp: CanonicalResponse, ctx: EncodeContext): JsonObject => {
  const output: Array<JsonObject> = []
  for (const b of resp.content) {
    if (b.type === "text") output.push(messageItem(ctx.ids("msg_"), b.text, "completed"))
    else if (b.type === "tool_use")
      output.push(functionCallItem(ctx.ids("fc_"), b.id, b.name, stringifyArguments(b.input), "completed"))
    else if (b.type === "reasoning") {
      // Another provider's signed (or redacted) thinking travels in encrypted_content (ReasoningCarrier).
      const encrypted = encryptedContentOf(b.signature, b.redacted === true)
      if (b.redacted !== true || encrypted !== undefined)
        output.push(reasoningItem(ctx.ids("rs_"), b.redacted === true ? "" : b.text, encrypted))
    }
  }
  return responseObject(
    {
      id: idWithPrefix(resp.id, "resp_", ctx),
      createdAt: resp.created ?? ctx.now(),
      status: statusOf(resp.stopReason),
      output,
      stopReason: resp.stopReason,
      usage: resp.usage,
    },
    ctx,
  )
}
