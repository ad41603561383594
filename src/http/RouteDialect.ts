import type { ClientDialect } from "./ErrorEnvelope.js"

/**
 * The dialect a request's errors are answered in, from its path family (and, on the shared
 * `/v1/models` paths, the `anthropic-version` header the Anthropic SDK always sends):
 * `/v1/messages…` → Anthropic, `/v1beta/…` → Gemini, anything else → OpenAI. Used for the
 * answers no route handler gives: unknown path (404), wrong method (405), body too large (413).
 */
export const dialectOfPath = (path: string, anthropicVersion: unknown): ClientDialect => {
  if (path === "/v1/messages" || path.startsWith("/v1/messages/")) return "anthropic"
  if (path === "/v1beta" || path.startsWith("/v1beta/")) return "gemini"
  if ((path === "/v1/models" || path.startsWith("/v1/models/")) && anthropicVersion !== undefined) return "anthropic"
  return "openai"
}

/** The header each dialect's SDK sends its API key in, as error messages name it. */
const CREDENTIAL_HEADERS: { readonly [D in ClientDialect]: string } = {
  openai: "Authorization: Bearer <key>",
  anthropic: "x-api-key: <key>",
  gemini: "x-goog-api-key: <key>",
}

export const credentialHeader = (dialect: ClientDialect): string => CREDENTIAL_HEADERS[dialect]
