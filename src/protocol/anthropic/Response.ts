/** Anthropic message object ⇄ canonical response. */
import {
  type CanonicalResponse,
  type ContentBlock,
  decodedResponse,
  type EncodeContext,
  type Usage,
  type UsageDelta,
} from "../Canonical.js"
import { asObject, compact, type JsonObject, num, str } from "../Json.js"
import { idWithPrefix } from "../openai-chat/Response.js"
import { fromAnthropicStop, toAnthropicStop } from "../StopReasons.js"
import { decodeBlocks, encodeImage } from "./Request.js"

/**
 * Anthropic `input_tokens` excludes cache reads and writes; canonical input counts them.
 * When `input_tokens` is absent (a message_delta that only reports output) only output is returned.
 */
export const decodeUsage = (u: unknown): UsageDelta | undefined => {
  const o = asObject(u)
  const input = num(o.input_tokens)
  const output = num(o.output_tokens)
  const read = num(o.cache_read_input_tokens)
  const write = num(o.cache_creation_input_tokens)
  if (input === undefined && output === undefined) return undefined
  return compact({
    inputTokens: input !== undefined ? input + (read ?? 0) + (write ?? 0) : undefined,
    outputTokens: output,
    cachedInputTokens: input !== undefined ? read : undefined,
    cacheCreationTokens: input !== undefined ? write : undefined,
  })
}

export const encodeUsage = (u: Usage): JsonObject => ({
  input_tokens: Math.max(0, u.inputTokens - (u.cachedInputTokens ?? 0) - (u.cacheCreationTokens ?? 0)),
  output_tokens: u.outputTokens,
  cache_creation_input_tokens: u.cacheCreationTokens ?? 0,
  cache_read_input_tokens: u.cachedInputTokens ?? 0,
})

export const decodeResponse = (json: unknown): CanonicalResponse => {
  const o = asObject(json)
  return decodedResponse({
    id: str(o.id),
    model: str(o.model),
    content: decodeBlocks(o.content),
    stopReason: fromAnthropicStop(str(o.stop_reason)),
    stopSequence: str(o.stop_sequence) ?? null,
    usage: decodeUsage(o.usage),
  })
}

/** Blocks for a client: foreign reasoning is shown as thinking with an empty signature (it can never be replayed to Anthropic). */
export const encodeResponseBlocks = (content: ReadonlyArray<ContentBlock>): Array<JsonObject> => {
  const out: Array<JsonObject> = []
  for (const b of content) {
    switch (b.type) {
      case "text":
        out.push({ type: "text", text: b.text })
        break
      case "image":
        out.push(encodeImage(b))
        break
      case "tool_use":
        out.push({ type: "tool_use", id: b.id, name: b.name, input: b.input ?? {} })
        break
      case "reasoning": {
        const sig = b.signature?.origin === "anthropic" ? b.signature.value : ""
        if (b.redacted) {
          if (sig !== "") out.push({ type: "redacted_thinking", data: sig })
        } else out.push({ type: "thinking", thinking: b.text, signature: sig })
        break
      }
      case "tool_result":
        break
    }
  }
  return out
}

export const encodeResponse = (resp: CanonicalResponse, ctx: EncodeContext): JsonObject => ({
  id: idWithPrefix(resp.id, "msg_", ctx),
  type: "message",
  role: "assistant",
  model: ctx.model,
  content: encodeResponseBlocks(resp.content),
  stop_reason: toAnthropicStop(resp.stopReason),
  stop_sequence: resp.stopSequence ?? null,
  usage: encodeUsage(resp.usage),
})
