import { Either } from "effect"
import type { Provider } from "../registry/Provider.js"
import { joinUrl } from "../upstream/UpstreamHeaders.js"
import { openAiChatPassthrough, openAiResponsesPassthrough } from "./OpenAiPassthroughCodecs.js"
import type { StreamCodec, Usage } from "./StreamCodec.js"

/** The API a client called, which is also the dialect it expects back. */
export type InboundApi = "openai-chat" | "openai-responses" | "anthropic-messages" | "gemini"

/** What the gateway must send upstream for one attempt and how to read the answer. */
export interface Exchange {
  readonly url: string
  readonly body: string
  /** Turns the upstream's JSON answer into the client's, or explains why it is unusable. */
  readonly translateJson: (text: string) => Either.Either<{ readonly body: string; readonly usage?: Usage }, string>
  readonly streamCodec: () => StreamCodec
}

export interface ExchangeInput {
  readonly api: InboundApi
  readonly body: Record<string, unknown>
  readonly stream: boolean
  readonly provider: Provider
  /** The provider's own model id. */
  readonly model: string
}

const usageOf = (json: { usage?: Record<string, unknown> }): Usage | undefined => {
  const u = json.usage as
    | { prompt_tokens?: number; completion_tokens?: number; input_tokens?: number; output_tokens?: number }
    | undefined
  if (!u) return undefined
  return { inputTokens: u.prompt_tokens ?? u.input_tokens ?? 0, outputTokens: u.completion_tokens ?? u.output_tokens ?? 0 }
}

/** A 2xx JSON answer is relayed byte for byte once it is known to be a real answer. */
const passthroughJson = (text: string): Either.Either<{ readonly body: string; readonly usage?: Usage }, string> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return Either.left("upstream answered 2xx with a body that is not JSON")
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) return Either.left("upstream answered 2xx with an unexpected JSON body")
  const answer = json as { error?: unknown; usage?: Record<string, unknown> }
  if (answer.error != null && !("choices" in answer) && !("output" in answer)) {
    return Either.left(`upstream answered 2xx with an error: ${JSON.stringify(answer.error).slice(0, 300)}`)
  }
  const usage = usageOf(answer)
  return Either.right(usage ? { body: text, usage } : { body: text })
}

/**
 * Plans the wire exchange for one candidate. Same dialect on both sides: passthrough with only
 * `model` replaced (and stream usage requested). Returns `undefined` when this candidate cannot
 * serve the inbound API (then the next candidate is tried).
 */
export const planExchange = (input: ExchangeInput): Exchange | undefined => {
  const { provider } = input
  if (provider.protocol !== "openai") return undefined
  if (input.api === "openai-chat") {
    const clientWantsUsage = (input.body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true
    const forwarded: Record<string, unknown> = { ...input.body, model: input.model }
    if (input.stream) {
      forwarded.stream = true
      forwarded.stream_options = { ...(input.body.stream_options as object | undefined), include_usage: true }
    }
    return {
      url: joinUrl(provider.baseUrl, provider.paths.chat),
      body: JSON.stringify(forwarded),
      translateJson: passthroughJson,
      streamCodec: () => openAiChatPassthrough({ clientWantsUsage }),
    }
  }
  if (input.api === "openai-responses") {
    if (provider.paths.responses === null) return undefined
    const forwarded: Record<string, unknown> = { ...input.body, model: input.model }
    if (input.stream) forwarded.stream = true
    return {
      url: joinUrl(provider.baseUrl, provider.paths.responses),
      body: JSON.stringify(forwarded),
      translateJson: passthroughJson,
      streamCodec: openAiResponsesPassthrough,
    }
  }
  return undefined
}
