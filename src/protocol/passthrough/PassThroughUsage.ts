/**
 * Usage in the answers of OpenAI's pass-through endpoints (completions, images, audio), which the
 * gateway relays without decoding: a `usage` object counting `prompt_tokens`/`completion_tokens`
 * (completions) or `input_tokens`/`output_tokens` (images, audio). A usage in seconds (Whisper's
 * `{type: "duration"}`) is no token count.
 */
import type { UsageDelta } from "../Canonical.js"
import { isObject, type JsonObject, num } from "../Json.js"

/** The tokens an answer object (or one of its stream events) reports, if any. */
export const passThroughUsage = (json: JsonObject): UsageDelta | undefined => {
  const usage = json.usage
  if (!isObject(usage)) return undefined
  const input = num(usage.prompt_tokens) ?? num(usage.input_tokens)
  const output = num(usage.completion_tokens) ?? num(usage.output_tokens)
  if (input === undefined && output === undefined) return undefined
  return {
    ...(input !== undefined ? { inputTokens: input } : {}),
    ...(output !== undefined ? { outputTokens: output } : {}),
  }
}
