import type { GenerationRoute } from "./Generation.js"

/**
 * The `endpoint` label of a generation request (metrics): the route as a fixed template, never the
 * raw path — a Gemini path holds the model, and unbounded label values would open a series each.
 * `/chat/completions` and `/v1/chat/completions` are one endpoint.
 */
export const endpointLabelOf = (route: GenerationRoute, path: string): string => {
  switch (route.kind) {
    case "chat":
      return "/v1/chat/completions"
    case "embeddings":
      return "/v1/embeddings"
    case "native":
      if (route.dialect === "openai-responses") return "/v1/responses"
      return route.count === true ? "/v1/messages/count_tokens" : "/v1/messages"
    case "passthrough":
    case "upload":
      // Selected by an exact match on PassThrough's fixed paths: the path is one of them.
      return path
    case "gemini": {
      const method = path.slice(path.lastIndexOf(":") + 1)
      return GEMINI_ENDPOINTS.get(method) ?? "/v1beta/models/{model}:other"
    }
  }
}

const GEMINI_ENDPOINTS: ReadonlyMap<string, string> = new Map(
  ["generateContent", "streamGenerateContent", "countTokens", "embedContent", "batchEmbedContents"].map((method) => [
    method,
    `/v1beta/models/{model}:${method}`,
  ]),
)
