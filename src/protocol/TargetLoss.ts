/**
 * What one target dialect's encoder cannot carry of a canonical request, on top of what the
 * source body itself loses (ConversionLoss): settings the target has no field for. Named in the
 * client's own vocabulary, refused or dropped by the same rule:
 *
 *   refused   a JSON response format (`response_format`, `text.format`, `responseMimeType`) for
 *             an Anthropic upstream, which has no way to hold its answer to it
 *   dropped   sampling and bookkeeping knobs the target lacks (Anthropic: penalties, seed,
 *             metadata; OpenAI chat: top_k, a thinking budget; Gemini: user, metadata,
 *             parallel tool calls), and the reasoning setting when an Anthropic upstream's
 *             thinking cannot stay on (a final tool turn without its own signed thinking)
 */
import { thinkingWithheld } from "./anthropic/Request.js"
import type { CanonicalRequest, Dialect } from "./Canonical.js"
import type { ConversionLoss } from "./ConversionLoss.js"

type SettingName =
  | "topK"
  | "frequencyPenalty"
  | "presencePenalty"
  | "seed"
  | "user"
  | "metadata"
  | "parallelToolCalls"
  | "budget"
  | "jsonFormat"

/** A canonical setting some target cannot carry, and how each source dialect names it. */
interface Setting {
  readonly present: (request: CanonicalRequest) => boolean
  readonly names: { readonly [D in Dialect]?: string }
}

const SETTINGS: Record<SettingName, Setting> = {
  topK: {
    present: (r) => r.topK !== undefined,
    names: { anthropic: "top_k", "openai-chat": "top_k", gemini: "generationConfig.topK" },
  },
  frequencyPenalty: {
    present: (r) => r.frequencyPenalty !== undefined,
    names: { "openai-chat": "frequency_penalty", gemini: "generationConfig.frequencyPenalty" },
  },
  presencePenalty: {
    present: (r) => r.presencePenalty !== undefined,
    names: { "openai-chat": "presence_penalty", gemini: "generationConfig.presencePenalty" },
  },
  seed: { present: (r) => r.seed !== undefined, names: { "openai-chat": "seed", gemini: "generationConfig.seed" } },
  user: {
    present: (r) => r.user !== undefined,
    names: { "openai-chat": "user", "openai-responses": "user", anthropic: "metadata.user_id" },
  },
  metadata: {
    present: (r) => r.metadata !== undefined && Object.keys(r.metadata).length > 0,
    names: { "openai-chat": "metadata", "openai-responses": "metadata" },
  },
  parallelToolCalls: {
    present: (r) => r.parallelToolCalls !== undefined && r.tools.length > 0,
    names: {
      "openai-chat": "parallel_tool_calls",
      "openai-responses": "parallel_tool_calls",
      anthropic: "disable_parallel_tool_use",
    },
  },
  budget: {
    present: (r) => r.reasoning?.budgetTokens !== undefined && r.reasoning.effort === undefined,
    names: { anthropic: "thinking", gemini: "generationConfig.thinkingConfig" },
  },
  jsonFormat: {
    present: (r) => r.responseFormat !== undefined && r.responseFormat.type !== "text",
    names: {
      "openai-chat": "response_format",
      "openai-responses": "text.format",
      gemini: "generationConfig.responseMimeType",
    },
  },
}

/** What each target's encoder has no field for (a source never converts to its own dialect). */
const LACKS: { readonly [D in Dialect]: ReadonlyArray<SettingName> } = {
  anthropic: ["frequencyPenalty", "presencePenalty", "seed", "metadata"],
  "openai-chat": ["topK", "budget", "metadata"],
  "openai-responses": ["topK", "frequencyPenalty", "presencePenalty", "seed", "budget"],
  gemini: ["user", "metadata", "parallelToolCalls"],
}

/** How each dialect names its reasoning setting. */
const REASONING_SETTING: { readonly [D in Dialect]: string } = {
  "openai-chat": "reasoning_effort",
  "openai-responses": "reasoning.effort",
  anthropic: "thinking",
  gemini: "generationConfig.thinkingConfig",
}

/** `loss` (the source body's) together with what converting `request` for `target` loses on top. */
export const lossFor = (
  loss: ConversionLoss,
  source: Dialect,
  target: Dialect,
  request: CanonicalRequest,
): ConversionLoss => {
  if (source === target) return loss
  const refused: Array<string> = []
  const dropped: Array<string> = []
  for (const setting of LACKS[target]) {
    const name = SETTINGS[setting].names[source]
    if (name !== undefined && SETTINGS[setting].present(request)) dropped.push(name)
  }
  if (target === "anthropic") {
    const format = SETTINGS.jsonFormat.names[source]
    if (format !== undefined && SETTINGS.jsonFormat.present(request)) refused.push(`field '${format}'`)
    if (thinkingWithheld(request)) dropped.push(REASONING_SETTING[source])
  }
  if (refused.length === 0 && dropped.length === 0) return loss
  return { refused: [...loss.refused, ...refused], dropped: [...new Set([...loss.dropped, ...dropped])] }
}
