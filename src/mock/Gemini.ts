import { type Answer, type Prompt, planAnswer } from "./Answer.js"
import type { FinishReason } from "./Behaviour.js"
import { type Exchange, sendJson, sendSse } from "./Exchange.js"

/** The prompt of a Gemini generateContent request. */
export const geminiPrompt = (json: any, bodyLength: number): Prompt => {
  const contents: Array<any> = Array.isArray(json?.contents) ? json.contents : []
  const last = contents[contents.length - 1]
  let lastUserText = ""
  for (let i = contents.length - 1; i >= 0; i--) {
    const c = contents[i]
    if (c?.role !== undefined && c.role !== "user") continue
    const parts: Array<any> = Array.isArray(c?.parts) ? c.parts : []
    const text = parts
      .filter((p) => typeof p?.text === "string")
      .map((p) => p.text as string)
      .join("\n")
    if (text !== "") {
      lastUserText = text
      break
    }
  }
  const toolNames: Array<string> = []
  for (const t of Array.isArray(json?.tools) ? json.tools : [])
    for (const f of Array.isArray(t?.functionDeclarations) ? t.functionDeclarations : [])
      if (typeof f?.name === "string") toolNames.push(f.name)
  return {
    lastUserText,
    endsWithToolResult: Array.isArray(last?.parts) && last.parts.some((p: any) => p?.functionResponse !== undefined),
    toolNames,
    promptChars: bodyLength,
  }
}

const finishReason = (r: FinishReason): string =>
  r === "length" ? "MAX_TOKENS" : r === "content_filter" ? "SAFETY" : "STOP"

const STATUS_NAMES: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  409: "ABORTED",
  429: "RESOURCE_EXHAUSTED",
  499: "CANCELLED",
  500: "INTERNAL",
  501: "NOT_IMPLEMENTED",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
}
const MESSAGES: Record<string, string> = {
  RESOURCE_EXHAUSTED: "Resource has been exhausted (e.g. check quota).",
  UNAVAILABLE: "The model is overloaded. Please try again later.",
  UNAUTHENTICATED: "API key not valid. Please pass a valid API key.",
  INTERNAL: "An internal error has occurred.",
  NOT_FOUND: "Requested entity was not found.",
  DEADLINE_EXCEEDED: "Deadline expired before operation could complete.",
}

/** `{"error":{"code","message","status"}}` for a status. */
export const geminiErrorBody = (status: number, message?: string) => {
  const name = STATUS_NAMES[status] ?? (status >= 500 ? "INTERNAL" : "INVALID_ARGUMENT")
  return {
    error: {
      code: status,
      message: message ?? MESSAGES[name] ?? "Request contains an invalid argument.",
      status: name,
    },
  }
}

const displayName = (id: string) =>
  id
    .split("-")
    .map((w) => (w ? w[0]!.toUpperCase() + w.slice(1) : w))
    .join(" ")

export const geminiModel = (id: string) => ({
  name: `models/${id}`,
  version: "001",
  displayName: displayName(id),
  description: `Mock model ${id}`,
  inputTokenLimit: 1_048_576,
  outputTokenLimit: 65_536,
  // As Gemini lists them: an embedding model embeds and does not generate.
  supportedGenerationMethods: /embed/.test(id)
    ? ["embedContent", "countTextTokens", "countTokens"]
    : ["generateContent", "countTokens"],
})

export const geminiModels = (ids: ReadonlyArray<string>) => ({ models: ids.map(geminiModel) })

const usageOf = (a: Answer, final: boolean) => {
  const u: Record<string, unknown> = {
    promptTokenCount: a.usage.inputTokens,
    totalTokenCount: a.usage.inputTokens + (final ? a.usage.outputTokens : 0),
    promptTokensDetails: [{ modality: "TEXT", tokenCount: a.usage.inputTokens }],
  }
  if (final) {
    u.candidatesTokenCount = a.usage.outputTokens - a.usage.reasoningTokens
    if (a.usage.reasoningTokens > 0) u.thoughtsTokenCount = a.usage.reasoningTokens
    if (a.usage.cachedTokens > 0) u.cachedContentTokenCount = a.usage.cachedTokens
  }
  return u
}

export const handleGenerateContent = (ex: Exchange, model: string, stream: boolean): void => {
  const a = planAnswer(
    ex.behaviour,
    geminiPrompt(ex.json, ex.bodyLength),
    ex.chunkCount,
    (i) => `call_mock${ex.seq}_${i}`,
  )
  const responseId = `mock${ex.seq}`
  const reason = finishReason(a.finishReason)
  const thought = a.thinking !== undefined ? [{ text: a.thinking, thought: true }] : []
  const calls = a.toolCalls.map((t) => ({ functionCall: { name: t.name, args: t.args } }))
  const response = (parts: Array<unknown>, final: boolean) => {
    const candidate: Record<string, unknown> = { content: { role: "model", parts }, index: 0 }
    if (final) candidate.finishReason = reason
    return { candidates: [candidate], usageMetadata: usageOf(a, final), modelVersion: model, responseId }
  }

  if (!stream) {
    const text = a.text !== "" || calls.length === 0 ? [{ text: a.text }] : []
    sendJson(ex, 200, response([...thought, ...text, ...calls], true))
    return
  }
  // Each SSE event is a partial GenerateContentResponse; the last carries finishReason and full usage.
  const partsPerEvent: Array<Array<unknown>> = []
  if (thought.length > 0) partsPerEvent.push(thought)
  for (const text of a.chunks) partsPerEvent.push([{ text }])
  if (calls.length > 0) partsPerEvent.push(calls)
  if (partsPerEvent.length === 0) partsPerEvent.push([{ text: "" }])
  const frames = partsPerEvent.map(
    (parts, i) => `data: ${JSON.stringify(response(parts, i === partsPerEvent.length - 1))}\r\n\r\n`,
  )
  sendSse(ex, {
    frames,
    // Gemini has no terminal marker: `omitDone` drops the final event (finishReason + usage).
    terminalCount: 1,
    malformedFrame: "data: {not json\r\n\r\n",
    errorFrame: () => `data: ${JSON.stringify(geminiErrorBody(503))}\r\n\r\n`,
    headers: { "content-type": "text/event-stream" },
  })
}
