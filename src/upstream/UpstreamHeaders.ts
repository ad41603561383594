import { Redacted } from "effect"
import type { AppConfigShape } from "../config/AppConfig.js"
import type { Provider, ProviderKey } from "../registry/Provider.js"

export const ANTHROPIC_VERSION = "2023-06-01"

/** Headers a client's header may never replace, whatever list it came through. */
const CREDENTIAL_HEADERS = new Set(["authorization", "x-api-key", "x-goog-api-key", "content-type", "accept"])

/** Credentials in the form each upstream dialect expects. */
const authHeaders = (provider: Provider, key: ProviderKey): Record<string, string> => {
  const secret = Redacted.value(key.secret)
  switch (provider.protocol) {
    case "openai":
      return { authorization: `Bearer ${secret}` }
    case "anthropic":
      return { "x-api-key": secret, "anthropic-version": ANTHROPIC_VERSION }
    case "gemini":
      return { "x-goog-api-key": secret }
  }
}

/** Browser-like headers some aggregators require (MASK_AS_BROWSER); never sent to a vendor's official host. */
const maskHeaders = (mask: AppConfigShape["mask"]): Record<string, string> => {
  if (!mask.asBrowser) return {}
  const headers: Record<string, string> = { "user-agent": mask.userAgent }
  if (mask.origin._tag === "Some") headers.origin = mask.origin.value
  if (mask.referer._tag === "Some") headers.referer = mask.referer.value
  return headers
}

/**
 * Headers for one upstream call: content type, browser mask, the provider key, the client's
 * feature headers (`anthropic-beta`, `anthropic-version`, `openai-beta`: an allow-list checked at
 * the edge, http/FeatureHeaders, and sent only to an upstream of the client's own dialect), then
 * the provider's custom headers, which win. Nothing else from the client's own request.
 */
export const upstreamHeaders = (
  provider: Provider,
  key: ProviderKey,
  mask: AppConfigShape["mask"],
  options: {
    readonly stream: boolean
    readonly masked: boolean
    readonly client?: Readonly<Record<string, string>> | undefined
    /** A streamed upload's own (multipart) type; JSON otherwise. */
    readonly contentType?: string | undefined
    /** A streamed upload's length, when known (chunked otherwise). */
    readonly contentLength?: number | undefined
  },
): Record<string, string> => {
  const headers: Record<string, string> = {
    "content-type": options.contentType ?? "application/json",
    accept: options.stream ? "text/event-stream" : "application/json",
    ...(options.masked && provider.officialHost !== true ? maskHeaders(mask) : {}),
    ...authHeaders(provider, key),
  }
  if (options.client !== undefined)
    for (const [name, value] of Object.entries(options.client)) if (!CREDENTIAL_HEADERS.has(name)) headers[name] = value
  for (const [name, value] of Object.entries(provider.headers)) headers[name.toLowerCase()] = value
  // The body's own framing: no configured header may contradict it.
  if (options.contentLength !== undefined) headers["content-length"] = String(options.contentLength)
  return headers
}

/** Joins a base URL and a path without doubling or losing the slash. */
export const joinUrl = (baseUrl: string, path: string): string =>
  baseUrl.endsWith("/")
    ? path.startsWith("/")
      ? baseUrl + path.slice(1)
      : baseUrl + path
    : path.startsWith("/")
      ? baseUrl + path
      : `${baseUrl}/${path}`
