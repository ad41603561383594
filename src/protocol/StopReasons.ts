/**
 * Stop / finish reasons, both ways, per dialect (stop↔end_turn↔STOP, length↔max_tokens↔MAX_TOKENS,
 * tool_calls↔tool_use): a converted answer says why it stopped in the client's own words.
 */
import type { StopReason } from "./Canonical.js"

export const fromOpenAiFinish = (r: string | null | undefined): StopReason => {
  switch (r) {
    case "stop":
      return "end_turn"
    case "length":
      return "max_tokens"
    case "tool_calls":
    case "function_call":
      return "tool_use"
    case "content_filter":
      return "content_filter"
    default:
      return r == null ? "end_turn" : "other"
  }
}

export type OpenAiFinish = "stop" | "length" | "tool_calls" | "content_filter"

export const toOpenAiFinish = (r: StopReason): OpenAiFinish => {
  switch (r) {
    case "max_tokens":
      return "length"
    case "tool_use":
      return "tool_calls"
    case "content_filter":
    case "refusal":
      return "content_filter"
    default:
      return "stop"
  }
}

export const fromAnthropicStop = (r: string | null | undefined): StopReason => {
  switch (r) {
    case "end_turn":
    case "max_tokens":
    case "stop_sequence":
    case "tool_use":
    case "refusal":
      return r
    case "pause_turn":
      return "other"
    default:
      return r == null ? "end_turn" : "other"
  }
}

export type AnthropicStop = "end_turn" | "max_tokens" | "stop_sequence" | "tool_use" | "refusal"

export const toAnthropicStop = (r: StopReason): AnthropicStop => {
  switch (r) {
    case "max_tokens":
    case "stop_sequence":
    case "tool_use":
    case "refusal":
      return r
    case "content_filter":
      return "refusal"
    default:
      return "end_turn"
  }
}

/** Gemini reports STOP even when it called a function; `sawToolCall` turns that into tool_use. */
export const fromGeminiFinish = (r: string | null | undefined, sawToolCall: boolean): StopReason => {
  switch (r) {
    case undefined:
    case null:
    case "STOP":
      return sawToolCall ? "tool_use" : "end_turn"
    case "MAX_TOKENS":
      return "max_tokens"
    case "SAFETY":
    case "RECITATION":
    case "BLOCKLIST":
    case "PROHIBITED_CONTENT":
    case "SPII":
    case "IMAGE_SAFETY":
      return "content_filter"
    default:
      return "other"
  }
}

export const toGeminiFinish = (r: StopReason): "STOP" | "MAX_TOKENS" | "SAFETY" | "OTHER" => {
  switch (r) {
    case "max_tokens":
      return "MAX_TOKENS"
    case "content_filter":
    case "refusal":
      return "SAFETY"
    case "other":
      return "OTHER"
    default:
      return "STOP"
  }
}
