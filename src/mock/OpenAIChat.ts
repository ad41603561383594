import { type Answer, contentText, type Prompt, planAnswer } from "./Answer.js"
import type { FinishReason } from "./Behaviour.js"
import { dataFrame, type Exchange, sendJson, sendSse } from "./Exchange.js"
import { openAIErrorBody } from "./OpenAIErrors.js"

/** The prompt of an OpenAI Chat Completions request. */
export const chatPrompt = (json: any, bodyLength: number): Prompt => {
  const messages: Array<any> = Array.isArray(json?.messages) ? json.messages : []
  const last = messages[messages.length - 1]
  let lastUserText = ""
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]?.role === "user") {
      lastUserText = contentText(messages[i].content)
      break
    }
  }
  const tools: Array<any> = Array.isArray(json?.tools) ? json.tools : []
  return {
    lastUserText,
    endsWithToolResult: last?.role === "tool" || last?.role === "function",
    toolNames: tools.map((t) => t?.function?.name ?? t?.name).filter((n): n is string => typeof n === "string"),
    promptChars: bodyLength,
  }
}

const finish = (r: FinishReason): string => r

const chatUsage = (a: Answer) => ({
  prompt_tokens: a.usage.inputTokens,
  completion_tokens: a.usage.outputTokens,
  total_tokens: a.usage.inputTokens + a.usage.outputTokens,
  prompt_tokens_details: { cached_tokens: a.usage.cachedTokens, audio_tokens: 0 },
  completion_tokens_details: {
    reasoning_tokens: a.usage.reasoningTokens,
    audio_tokens: 0,
    accepted_prediction_tokens: 0,
    rejected_prediction_tokens: 0,
  },
})

export const handleChatCompletions = (ex: Exchange, model: string): void => {
  const json = ex.json
  const a = planAnswer(ex.behaviour, chatPrompt(json, ex.bodyLength), ex.chunkCount, (i) => `call_mock${ex.seq}_${i}`)
  const id = `chatcmpl-mock${ex.seq}`
  const created = Math.floor(Date.now() / 1000)
  const headers = { "x-request-id": `req_mock${ex.seq}` }

  if (json?.stream !== true) {
    const message: Record<string, unknown> = {
      role: "assistant",
      content: a.text === "" && a.toolCalls.length > 0 ? null : a.text,
      refusal: null,
      annotations: [],
    }
    if (a.thinking !== undefined) message.reasoning_content = a.thinking
    if (a.toolCalls.length > 0)
      message.tool_calls = a.toolCalls.map((t) => ({
        id: t.id,
        type: "function",
        function: { name: t.name, arguments: t.arguments },
      }))
    sendJson(
      ex,
      200,
      {
        id,
        object: "chat.completion",
        created,
        model,
        choices: [{ index: 0, message, logprobs: null, finish_reason: finish(a.finishReason) }],
        usage: chatUsage(a),
        service_tier: "default",
        system_fingerprint: "fp_mock",
      },
      headers,
    )
    return
  }

  const includeUsage = json?.stream_options?.include_usage === true
  const chunk = (delta: Record<string, unknown>, finishReason: string | null) => {
    const c: Record<string, unknown> = {
      id,
      object: "chat.completion.chunk",
      created,
      model,
      service_tier: "default",
      system_fingerprint: "fp_mock",
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    }
    if (includeUsage) c.usage = null
    return dataFrame(c)
  }
  const frames: Array<string> = [chunk({ role: "assistant", content: "", refusal: null }, null)]
  if (a.thinking !== undefined) frames.push(chunk({ reasoning_content: a.thinking }, null))
  for (const text of a.chunks) frames.push(chunk({ content: text }, null))
  a.toolCalls.forEach((t, index) => {
    frames.push(
      chunk({ tool_calls: [{ index, id: t.id, type: "function", function: { name: t.name, arguments: "" } }] }, null),
    )
    for (const part of t.argumentChunks)
      frames.push(chunk({ tool_calls: [{ index, function: { arguments: part } }] }, null))
  })
  frames.push(chunk({}, finish(a.finishReason)))
  if (includeUsage)
    frames.push(
      dataFrame({
        id,
        object: "chat.completion.chunk",
        created,
        model,
        service_tier: "default",
        system_fingerprint: "fp_mock",
        choices: [],
        usage: chatUsage(a),
      }),
    )
  frames.push("data: [DONE]\n\n")
  sendSse(ex, {
    frames,
    terminalCount: 1,
    malformedFrame: "data: {not json\n\n",
    errorFrame: () => dataFrame(openAIErrorBody(500, "The server had an error while processing your request.")),
    headers,
  })
}
