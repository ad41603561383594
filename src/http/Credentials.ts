import type { ClientDialect } from "./ErrorEnvelope.js"

/** The parts of a request a credential is read from (an Effect `HttpServerRequest` or a Node request). */
export interface CredentialSource {
  readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  readonly url: string
}

const header = (source: CredentialSource, name: string): string | undefined => {
  const value = source.headers[name]
  const text = typeof value === "string" ? value : value?.[0]
  return text === undefined || text.trim() === "" ? undefined : text.trim()
}

/**
 * The client credential of a request, from the headers its SDK sends: `Authorization: Bearer`
 * and `X-API-Key` everywhere, `x-api-key` for Anthropic clients (the same header name) and
 * `x-goog-api-key` or `?key=` for Gemini clients.
 */
export const readCredential = (source: CredentialSource, dialect: ClientDialect): string | undefined => {
  const authorization = header(source, "authorization")
  if (authorization !== undefined) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization)
    if (match) return match[1]!.trim()
  }
  const apiKey = header(source, "x-api-key")
  if (apiKey !== undefined) return apiKey
  if (dialect === "gemini") {
    const google = header(source, "x-goog-api-key")
    if (google !== undefined) return google
    const query = source.url.indexOf("?")
    if (query >= 0) {
      const key = new URLSearchParams(source.url.slice(query + 1)).get("key")
      if (key) return key
    }
  }
  return undefined
}
