import type { Provider } from "../registry/Provider.js"
import { joinUrl } from "./UpstreamHeaders.js"

/** The API-version root of a Gemini provider: `/v1beta` from `/v1beta/models`. */
const geminiRoot = (provider: Provider): string => provider.paths.models.replace(/\/models\/?$/, "")

/** A Gemini method URL: `path` is `models/{model}:{method}` (the model already one encoded segment). */
export const geminiUrl = (provider: Provider, path: string): string =>
  joinUrl(provider.baseUrl, `${geminiRoot(provider)}/${path}`)

/** The OpenAI endpoints beside chat that the gateway reaches (embeddings and the pass-through ones). */
export type OpenAiEndpoint =
  | "embeddings"
  | "completions"
  | "moderations"
  | "images/generations"
  | "audio/speech"
  | "audio/transcriptions"
  | "audio/translations"

/**
 * An OpenAI-protocol provider's URL for `endpoint`: next to its chat path (`/v1/chat/completions`
 * → `/v1/embeddings`), so a provider whose API lives under another root (`/openai/v1`, or none)
 * is reached there too.
 */
export const openAiUrl = (provider: Provider, endpoint: OpenAiEndpoint): string => {
  const chat = provider.paths.chat
  const root = chat.endsWith("/chat/completions") ? chat.slice(0, -"/chat/completions".length) : "/v1"
  return joinUrl(provider.baseUrl, `${root}/${endpoint}`)
}
