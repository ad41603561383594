import type { HttpServerRequest } from "@effect/platform"
import type { ClientDialect } from "./ErrorEnvelope.js"

/**
 * The client credential of a request, from the headers its SDK sends: `Authorization: Bearer`
 * and `X-API-Key` everywhere, `x-api-key` for Anthropic clients (the same header name) and
 * `x-goog-api-key` or `?key=` for Gemini clients.
 */
export const readCredential = (request: HttpServerRequest.HttpServerRequest, dialect: ClientDialect): string | undefined => {
  const headers = request.headers
  const authorization = headers["authorization"]
  if (authorization !== undefined) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim())
    if (match) return match[1]!.trim()
  }
  const apiKey = headers["x-api-key"]
  if (apiKey !== undefined && apiKey.trim() !== "") return apiKey.trim()
  if (dialect === "gemini") {
    const google = headers["x-goog-api-key"]
    if (google !== undefined && google.trim() !== "") return google.trim()
    const query = request.url.indexOf("?")
    if (query >= 0) {
      const key = new URLSearchParams(request.url.slice(query + 1)).get("key")
      if (key) return key
    }
  }
  return undefined
}
