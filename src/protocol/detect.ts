/**
 * What the chat route (`/v1/chat/completions`) received. Claude-style and Gemini-style bodies are
 * decoded with their own dialect and answered in OpenAI chat form.
 */
import type { Dialect } from "./Canonical.js"
import { isObject } from "./Json.js"

/** The dialect to decode a `/v1/chat/completions` body with. */
export const detectChatBody = (body: unknown): Dialect => {
  if (!isObject(body)) return "openai-chat"
  if ("anthropic_version" in body || "max_tokens_to_sample" in body) return "anthropic"
  if (Array.isArray(body.system) && body.system.some((b) => isObject(b) && typeof b.type === "string"))
    return "anthropic"
  if (!("messages" in body)) {
    if (Array.isArray(body.contents)) return "gemini"
    // `input` without `messages` is a Responses body, whatever the route: the Responses decoder reads string or `{role, content}` items.
    if ("input" in body) return "openai-responses"
  }
  return "openai-chat"
}

/**
 * Streaming decision: an explicit `stream: false` wins; otherwise `stream: true` or an
 * `Accept: text/event-stream` header streams.
 */
export const wantsStream = (body: unknown, accept: string | undefined): boolean => {
  const s = isObject(body) ? body.stream : undefined
  if (s === false) return false
  if (s === true) return true
  return accept?.toLowerCase().includes("text/event-stream") === true
}
