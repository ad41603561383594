/** OpenAI chat completion object ⇄ canonical response, and usage in OpenAI's field names. */
import {
  type CanonicalResponse,
  type ContentBlock,
  decodedResponse,
  type EncodeContext,
  type StopReason,
  type Usage,
  type UsageDelta,
} from "../Canonical.js"
import { asArray, asObject, compact, type JsonObject, num, parseArguments, str, stringifyArguments } from "../Json.js"
import { fromOpenAiFinish, toOpenAiFinish } from "../StopReasons.js"
import { partsToBlocks } from "./Request.js"

/** `usage` of chat completions / chunks → canonical (prompt_tokens already includes cached tokens). */
export const decodeUsage = (u: unknown): UsageDelta | undefined => {
  const o = asObject(u)
  const input = num(o.prompt_tokens)
  const output = num(o.completion_tokens)
  if (input === undefined && output === undefined) return undefined
  const pd = asObject(o.prompt_tokens_details)
  const cd = asObject(o.completion_tokens_details)
  return compact({
    inputTokens: input,
    outputTokens: output,
    cachedInputTokens: num(pd.cached_tokens),
    cacheCreationTokens: num(pd.cache_write_tokens),
    reasoningTokens: num(cd.reasoning_tokens),
  })
}

export const encodeUsage = (u: Usage): JsonObject => ({
  prompt_tokens: u.inputTokens,
  completion_tokens: u.outputTokens,
  total_tokens: u.inputTokens + u.outputTokens,
  prompt_tokens_details: compact({
    cached_tokens: u.cachedInputTokens ?? 0,
    audio_tokens: 0,
    cache_write_tokens: u.cacheCreationTokens,
  }),
  completion_tokens_details: {
    reasoning_tokens: u.reasoningTokens ?? 0,
    audio_tokens: 0,
    accepted_prediction_tokens: 0,
    rejected_prediction_tokens: 0,
  },
})

export const decodeResponse = (json: unknown): CanonicalResponse => {
  const o = asObject(json)
  const choice = asObject(asArray(o.choices)[0])
  const msg = asObject(choice.message)
  const content: Array<ContentBlock> = []
  const reasoning = str(msg.reasoning_content) ?? str(msg.reasoning)
  if (reasoning) content.push({ type: "reasoning", text: reasoning })
  if (msg.content !== null && msg.content !== undefined)
    content.push(...partsToBlocks(msg.content).filter((b) => b.type !== "text" || b.text !== ""))
  const refusal = str(msg.refusal)
  if (refusal) content.push({ type: "text", text: refusal })
  for (const tc of asArray(msg.tool_calls)) {
    const t = asObject(tc)
    const f = asObject(t.function)
    content.push({
      type: "tool_use",
      id: str(t.id) ?? "",
      name: str(f.name) ?? "",
      input: parseArguments(str(f.arguments)),
    })
  }
  let stopReason: StopReason = fromOpenAiFinish(str(choice.finish_reason))
  if (refusal && stopReason === "end_turn") stopReason = "refusal"
  return decodedResponse({
    id: str(o.id),
    model: str(o.model),
    created: num(o.created),
    content,
    stopReason,
    usage: decodeUsage(o.usage),
  })
}

/** Reuses the upstream id when it already has the dialect's prefix, else mints one. */
export const idWithPrefix = (id: string | undefined, prefix: string, ctx: EncodeContext) =>
  id?.startsWith(prefix) ? id : ctx.ids(prefix)

export const encodeResponse = (resp: CanonicalResponse, ctx: EncodeContext): JsonObject => {
  const text = resp.content.flatMap((b) => (b.type === "text" ? [b.text] : [])).join("")
  const reasoning = resp.content.flatMap((b) => (b.type === "reasoning" ? [b.text] : [])).join("")
  const toolCalls = resp.content.flatMap((b) =>
    b.type === "tool_use"
      ? [{ id: b.id, type: "function", function: { name: b.name, arguments: stringifyArguments(b.input) } }]
      : [],
  )
  const message = compact({
    role: "assistant",
    content: text === "" && toolCalls.length > 0 ? null : text,
    refusal: null,
    annotations: [],
    tool_calls: toolCalls.length > 0 ? toolCalls : undefined,
    // Non-standard but widely used (DeepSeek, vLLM, OpenRouter): carries reasoning to chat clients.
    reasoning_content: reasoning !== "" ? reasoning : undefined,
  })
  return {
    id: idWithPrefix(resp.id, "chatcmpl-", ctx),
    object: "chat.completion",
    created: resp.created ?? ctx.now(),
    model: ctx.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: toOpenAiFinish(resp.stopReason) }],
    usage: encodeUsage(resp.usage),
  }
}
