import { type Answer, contentText, type Prompt, planAnswer } from "./Answer.js"
import { type Exchange, eventFrame, sendJson, sendSse } from "./Exchange.js"
import { historyOf, keep, type MockResponsesStore } from "./ResponsesStore.js"

/** The prompt of an OpenAI Responses request (`input` is a string or a list of items). */
export const responsesPrompt = (json: any, bodyLength: number): Prompt => {
  const input = json?.input
  const items: Array<any> =
    typeof input === "string" ? [{ role: "user", content: input }] : Array.isArray(input) ? input : []
  const last = items[items.length - 1]
  let lastUserText = ""
  for (let i = items.length - 1; i >= 0; i--) {
    const it = items[i]
    if (it?.role === "user" && (it.type === undefined || it.type === "message")) {
      lastUserText = contentText(it.content)
      break
    }
  }
  const tools: Array<any> = Array.isArray(json?.tools) ? json.tools : []
  return {
    lastUserText,
    endsWithToolResult: last?.type === "function_call_output",
    toolNames: tools.filter((t) => t?.type === "function" && typeof t.name === "string").map((t) => t.name as string),
    promptChars: bodyLength,
  }
}

const responsesUsage = (a: Answer) => ({
  input_tokens: a.usage.inputTokens,
  input_tokens_details: { cached_tokens: a.usage.cachedTokens },
  output_tokens: a.usage.outputTokens,
  output_tokens_details: { reasoning_tokens: a.usage.reasoningTokens },
  total_tokens: a.usage.inputTokens + a.usage.outputTokens,
})

export const handleResponses = (ex: Exchange, model: string, store: MockResponsesStore): void => {
  const json = ex.json
  const history = historyOf(ex, store)
  if (history === undefined) return
  const a = planAnswer(
    ex.behaviour,
    responsesPrompt(json, ex.bodyLength),
    ex.chunkCount,
    (i) => `call_mock${ex.seq}_${i}`,
  )
  const id = `resp_mock${ex.seq}`
  const msgId = `msg_mock${ex.seq}`
  const createdAt = Math.floor(Date.now() / 1000)
  const incomplete = a.finishReason === "length"

  const messageItem = (status: string, text: string | undefined) => ({
    id: msgId,
    type: "message",
    status,
    role: "assistant",
    content: text === undefined ? [] : [{ type: "output_text", text, annotations: [], logprobs: [] }],
  })
  const callItem = (i: number, status: string, args: string) => {
    const t = a.toolCalls[i]!
    return { id: `fc_mock${ex.seq}_${i}`, type: "function_call", status, arguments: args, call_id: t.id, name: t.name }
  }
  const hasMessage = a.text !== "" || a.toolCalls.length === 0
  const rsId = `rs_mock${ex.seq}`
  const reasoningItem = (summary: string | undefined) => ({
    id: rsId,
    type: "reasoning",
    summary: summary === undefined ? [] : [{ type: "summary_text", text: summary }],
  })
  const finalOutput = [
    ...(a.thinking !== undefined ? [reasoningItem(a.thinking)] : []),
    ...(hasMessage ? [messageItem(incomplete ? "incomplete" : "completed", a.text)] : []),
    ...a.toolCalls.map((t, i) => callItem(i, "completed", t.arguments)),
  ]
  const response = (status: string, output: Array<unknown>, usage: unknown) => ({
    id,
    object: "response",
    created_at: createdAt,
    status,
    background: false,
    error: null,
    incomplete_details: status === "incomplete" ? { reason: "max_output_tokens" } : null,
    instructions: json?.instructions ?? null,
    max_output_tokens: json?.max_output_tokens ?? null,
    model,
    output,
    parallel_tool_calls: json?.parallel_tool_calls ?? true,
    previous_response_id: json?.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    service_tier: "default",
    store: json?.store ?? true,
    temperature: json?.temperature ?? 1,
    text: json?.text ?? { format: { type: "text" } },
    tool_choice: json?.tool_choice ?? "auto",
    tools: json?.tools ?? [],
    top_p: json?.top_p ?? 1,
    truncation: json?.truncation ?? "disabled",
    usage,
    user: null,
    metadata: json?.metadata ?? {},
  })
  const headers = { "x-request-id": `req_mock${ex.seq}` }
  const finalStatus = incomplete ? "incomplete" : "completed"

  keep(ex, store, history, response(finalStatus, finalOutput, responsesUsage(a)))
  if (json?.stream !== true) {
    sendJson(ex, 200, response(finalStatus, finalOutput, responsesUsage(a)), headers)
    return
  }

  const frames: Array<string> = []
  let seq = 0
  const emit = (type: string, fields: Record<string, unknown>) =>
    frames.push(eventFrame(type, { type, ...fields, sequence_number: seq++ }))
  emit("response.created", { response: response("in_progress", [], null) })
  emit("response.in_progress", { response: response("in_progress", [], null) })
  let outputIndex = 0
  if (a.thinking !== undefined) {
    const o = outputIndex++
    const loc = { item_id: rsId, output_index: o, summary_index: 0 }
    emit("response.output_item.added", { output_index: o, item: reasoningItem(undefined) })
    emit("response.reasoning_summary_part.added", { ...loc, part: { type: "summary_text", text: "" } })
    emit("response.reasoning_summary_text.delta", { ...loc, delta: a.thinking })
    emit("response.reasoning_summary_text.done", { ...loc, text: a.thinking })
    emit("response.reasoning_summary_part.done", { ...loc, part: { type: "summary_text", text: a.thinking } })
    emit("response.output_item.done", { output_index: o, item: finalOutput[o] })
  }
  if (hasMessage) {
    const o = outputIndex++
    const loc = { item_id: msgId, output_index: o, content_index: 0 }
    emit("response.output_item.added", { output_index: o, item: messageItem("in_progress", undefined) })
    emit("response.content_part.added", {
      ...loc,
      part: { type: "output_text", text: "", annotations: [], logprobs: [] },
    })
    for (const delta of a.chunks) emit("response.output_text.delta", { ...loc, delta, logprobs: [] })
    emit("response.output_text.done", { ...loc, text: a.text, logprobs: [] })
    emit("response.content_part.done", {
      ...loc,
      part: { type: "output_text", text: a.text, annotations: [], logprobs: [] },
    })
    emit("response.output_item.done", { output_index: o, item: finalOutput[o] })
  }
  a.toolCalls.forEach((t, i) => {
    const o = outputIndex++
    const itemId = `fc_mock${ex.seq}_${i}`
    emit("response.output_item.added", { output_index: o, item: callItem(i, "in_progress", "") })
    for (const delta of t.argumentChunks)
      emit("response.function_call_arguments.delta", { item_id: itemId, output_index: o, delta })
    emit("response.function_call_arguments.done", {
      item_id: itemId,
      output_index: o,
      name: t.name,
      arguments: t.arguments,
    })
    emit("response.output_item.done", { output_index: o, item: finalOutput[o] })
  })
  emit(incomplete ? "response.incomplete" : "response.completed", {
    response: response(finalStatus, finalOutput, responsesUsage(a)),
  })
  sendSse(ex, {
    frames,
    terminalCount: 1,
    malformedFrame: "event: response.output_text.delta\ndata: {not json\n\n",
    errorFrame: (index) =>
      eventFrame("error", {
        type: "error",
        code: "server_error",
        message: "The server had an error while processing your request.",
        param: null,
        sequence_number: index,
      }),
    headers,
  })
}
