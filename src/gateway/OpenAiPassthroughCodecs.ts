import type { Sse } from "@effect/experimental"
import type { CodecStep, StreamCodec, Usage } from "./StreamCodec.js"

const dataFrame = (data: string) => `data: ${data}\n\n`

const namedFrame = (event: string, data: string) => `event: ${event}\ndata: ${data}\n\n`

const parse = (data: string): unknown => {
  try {
    return JSON.parse(data)
  } catch {
    return undefined
  }
}

const errorMessage = (error: unknown): string => {
  const message = (error as { message?: unknown } | null)?.message
  return typeof message === "string" ? message : JSON.stringify(error).slice(0, 500)
}

/**
 * OpenAI chat completions relayed to an OpenAI chat client. Frames pass through as they are;
 * the usage-only chunk the gateway asked for is withheld unless the client asked for it too.
 */
export const openAiChatPassthrough = (options: { readonly clientWantsUsage: boolean }): StreamCodec => {
  let usage: Usage | undefined
  let finished = false
  return {
    step: (event: Sse.Event): CodecStep => {
      if (event.data === "[DONE]") return { frames: [dataFrame("[DONE]")], done: true, meaningful: true }
      const chunk = parse(event.data) as
        | {
            error?: unknown
            choices?: ReadonlyArray<{ finish_reason?: string | null }>
            usage?: { prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number }; completion_tokens_details?: { reasoning_tokens?: number } } | null
          }
        | undefined
      if (chunk === undefined || typeof chunk !== "object" || chunk === null) {
        return { frames: [], failure: { message: "upstream sent a malformed stream chunk" } }
      }
      if (chunk.error !== undefined) return { frames: [], failure: { message: errorMessage(chunk.error) } }
      if (chunk.usage) {
        usage = {
          inputTokens: chunk.usage.prompt_tokens ?? 0,
          outputTokens: chunk.usage.completion_tokens ?? 0,
          cachedInputTokens: chunk.usage.prompt_tokens_details?.cached_tokens,
          reasoningTokens: chunk.usage.completion_tokens_details?.reasoning_tokens,
        }
      }
      const choices = chunk.choices ?? []
      if (choices.some((c) => c.finish_reason != null)) finished = true
      const usageOnly = choices.length === 0 && chunk.usage != null
      if (usageOnly && !options.clientWantsUsage) return { frames: [], meaningful: false }
      return { frames: [dataFrame(event.data)], meaningful: true }
    },
    end: () =>
      finished
        ? { frames: [dataFrame("[DONE]")], done: true }
        : { frames: [], failure: { message: "upstream stream ended before the answer was complete" } },
    errorFrames: (error) => [dataFrame(JSON.stringify({ error: { ...error, param: null } }))],
    usage: () => usage,
  }
}

/** OpenAI Responses relayed to a Responses client: event names and payloads kept. */
export const openAiResponsesPassthrough = (): StreamCodec => {
  let usage: Usage | undefined
  let completed = false
  let sequence = 0
  return {
    step: (event: Sse.Event): CodecStep => {
      if (event.data === "[DONE]") return { frames: [dataFrame("[DONE]")], done: completed, meaningful: true }
      const payload = parse(event.data) as
        | { type?: string; sequence_number?: number; response?: { usage?: { input_tokens?: number; output_tokens?: number; input_tokens_details?: { cached_tokens?: number }; output_tokens_details?: { reasoning_tokens?: number } }; error?: unknown }; message?: string }
        | undefined
      if (payload === undefined || typeof payload !== "object" || payload === null) {
        return { frames: [], failure: { message: "upstream sent a malformed stream event" } }
      }
      const type = payload.type ?? event.event
      if (typeof payload.sequence_number === "number") sequence = payload.sequence_number
      if (type === "error" || type === "response.failed") {
        return { frames: [], failure: { message: payload.message ?? errorMessage(payload.response?.error ?? payload) } }
      }
      const u = payload.response?.usage
      if (u) {
        usage = {
          inputTokens: u.input_tokens ?? 0,
          outputTokens: u.output_tokens ?? 0,
          cachedInputTokens: u.input_tokens_details?.cached_tokens,
          reasoningTokens: u.output_tokens_details?.reasoning_tokens,
        }
      }
      const frame = event.event && event.event !== "message" ? namedFrame(event.event, event.data) : dataFrame(event.data)
      if (type === "response.completed" || type === "response.incomplete") {
        completed = true
        return { frames: [frame], done: true, meaningful: true }
      }
      return { frames: [frame], meaningful: true }
    },
    end: () =>
      completed ? { frames: [], done: true } : { frames: [], failure: { message: "upstream stream ended before response.completed" } },
    errorFrames: (error) => [
      namedFrame("error", JSON.stringify({ type: "error", code: error.code, message: error.message, param: null, sequence_number: sequence + 1 })),
    ],
    usage: () => usage,
  }
}
