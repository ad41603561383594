/** Gemini GenerateContentResponse ⇄ canonical response. */
import {
  type CanonicalResponse,
  type ContentBlock,
  decodedResponse,
  type EncodeContext,
  type Usage,
  type UsageDelta,
} from "../Canonical.js"
import { asArray, asObject, compact, type JsonObject, num, str } from "../Json.js"
import { fromGeminiFinish, toGeminiFinish } from "../StopReasons.js"
import { decodeParts } from "./Request.js"

/** Gemini's candidatesTokenCount excludes thoughts; canonical output includes them. */
export const decodeUsage = (u: unknown): UsageDelta | undefined => {
  const o = asObject(u)
  const prompt = num(o.promptTokenCount)
  const candidates = num(o.candidatesTokenCount)
  const thoughts = num(o.thoughtsTokenCount)
  if (prompt === undefined && candidates === undefined && thoughts === undefined) return undefined
  return compact({
    inputTokens: prompt !== undefined ? prompt + (num(o.toolUsePromptTokenCount) ?? 0) : undefined,
    outputTokens: candidates !== undefined || thoughts !== undefined ? (candidates ?? 0) + (thoughts ?? 0) : undefined,
    cachedInputTokens: num(o.cachedContentTokenCount),
    reasoningTokens: thoughts,
  })
}

export const encodeUsage = (u: Usage): JsonObject =>
  compact({
    promptTokenCount: u.inputTokens,
    candidatesTokenCount: Math.max(0, u.outputTokens - (u.reasoningTokens ?? 0)),
    totalTokenCount: u.inputTokens + u.outputTokens,
    cachedContentTokenCount: u.cachedInputTokens,
    thoughtsTokenCount: u.reasoningTokens,
  })

export const decodeResponse = (json: unknown): CanonicalResponse => {
  const o = asObject(json)
  const cand = asObject(asArray(o.candidates)[0])
  const content = decodeParts(asObject(cand.content).parts, { calls: new Map(), results: new Map() })
  const blocked = asArray(o.candidates).length === 0 && str(asObject(o.promptFeedback).blockReason) !== undefined
  return decodedResponse({
    id: str(o.responseId),
    model: str(o.modelVersion),
    content,
    stopReason: blocked
      ? "content_filter"
      : fromGeminiFinish(
          str(cand.finishReason),
          content.some((b) => b.type === "tool_use"),
        ),
    usage: decodeUsage(o.usageMetadata),
  })
}

export const encodeResponseParts = (content: ReadonlyArray<ContentBlock>): Array<JsonObject> => {
  const parts: Array<JsonObject> = []
  for (const b of content) {
    const sig = "signature" in b && b.signature?.origin === "gemini" ? b.signature.value : undefined
    switch (b.type) {
      case "text":
        parts.push({ text: b.text })
        break
      case "reasoning":
        if (!b.redacted) parts.push(compact({ text: b.text, thought: true, thoughtSignature: sig }))
        break
      case "tool_use":
        parts.push(compact({ functionCall: { id: b.id, name: b.name, args: b.input ?? {} }, thoughtSignature: sig }))
        break
      case "image":
        if (b.source.kind === "base64")
          parts.push({ inlineData: { mimeType: b.source.mediaType, data: b.source.data } })
        break
      case "tool_result":
        break
    }
  }
  return parts
}

export const encodeResponse = (resp: CanonicalResponse, ctx: EncodeContext): JsonObject => ({
  candidates: [
    {
      content: { role: "model", parts: encodeResponseParts(resp.content) },
      finishReason: toGeminiFinish(resp.stopReason),
      index: 0,
    },
  ],
  usageMetadata: encodeUsage(resp.usage),
  modelVersion: ctx.model,
  responseId: resp.id !== "" ? resp.id : ctx.ids(""),
})
