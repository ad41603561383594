import type { Readable } from "node:stream"
import { Context, type Effect, Redacted } from "effect"
import type { Provider, ProviderKey } from "../registry/Provider.js"
import { parseRetryAfter } from "../routing/RetryPolicy.js"
import { redactText } from "../shared/Redaction.js"
import type { UpstreamFailure, UpstreamTransportError } from "../shared/UpstreamFailure.js"
import { UpstreamStatusError } from "../shared/UpstreamFailure.js"
import { parseUpstreamError } from "./UpstreamErrorBody.js"

/**
 * A request body that is streamed rather than held (a multipart upload): `open` gives the bytes
 * for one call. An upload read from the client as it arrives can be sent once only: `spent` says
 * when it was, and then no call may open it again (http/MultipartUpload).
 */
export interface UpstreamUpload {
  readonly contentType: string
  /** The body's length when known in advance (sent as `content-length`; chunked otherwise). */
  readonly contentLength?: number | undefined
  /**
   * The bytes for one call, pulled as the connection takes them: a chunk handed out may be reused
   * for the next one once it is asked for (undici asks only after the previous one was written).
   */
  readonly open: () => Readable | AsyncIterable<Uint8Array>
  /** Whether an earlier call took bytes that cannot be read again. */
  readonly spent: () => boolean
}

export interface UpstreamRequest {
  readonly provider: Provider
  readonly key: ProviderKey
  /** The provider's own model id, for error reports. */
  readonly model: string
  readonly url: string
  readonly method?: "GET" | "POST" | "DELETE"
  readonly body?: string | UpstreamUpload
  /** The client's provider feature headers (anthropic-beta, …), already checked by the edge. */
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly stream: boolean
  /** Browser mask headers; off for discovery calls. */
  readonly masked?: boolean
  /**
   * How long the answer's headers may take, instead of `UPSTREAM_HEADERS_TIMEOUT` (a stream's
   * wait for headers is part of its time to first token).
   */
  readonly headersTimeoutMs?: number
  /** Longest silence inside the body, instead of `UPSTREAM_IDLE_TIMEOUT` (a logical model's own). */
  readonly idleTimeoutMs?: number
}

/** A finished non-streaming answer: status, headers and the whole body. */
export interface UpstreamResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly text: string
}

/**
 * A 2xx streaming answer whose body has not been read yet. Whoever receives it owns the body:
 * read it to the end, or call `abort` (a body left alone would hold the pooled connection).
 */
export interface UpstreamStream {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: Readable
  readonly abort: () => void
  /** Classifies a body error (idle timeout or a broken connection). */
  readonly bodyError: (cause: unknown) => UpstreamTransportError
}

/** A provider base URL as upstream URLs are checked against it: its origin and path prefix. */
interface BaseScope {
  readonly origin: string
  /** The base path without a trailing `/` ("" for the root). */
  readonly path: string
}

const baseScopes = new Map<string, BaseScope | null>()

const baseScopeOf = (baseUrl: string): BaseScope | null => {
  let scope = baseScopes.get(baseUrl)
  if (scope === undefined) {
    try {
      const url = new URL(baseUrl)
      scope = { origin: url.origin, path: url.pathname.replace(/\/+$/, "") }
    } catch {
      scope = null
    }
    // Base URLs are few (one per provider); the bound only guards against endless edits.
    if (baseScopes.size >= 1_000) baseScopes.clear()
    baseScopes.set(baseUrl, scope)
  }
  return scope
}

/**
 * Whether `url` (already parsed, so dot segments are resolved) stays under the provider's base
 * URL: same origin, and a path that is the base path or continues it after a `/`. A request that
 * would leave it is never sent, whatever built its URL: nothing a client sends may point the
 * provider's key at another path of its host.
 */
export const isWithinBaseUrl = (baseUrl: string, url: URL): boolean => {
  const scope = baseScopeOf(baseUrl)
  if (scope === null || url.origin !== scope.origin) return false
  const path = url.pathname
  return (
    path.startsWith(scope.path) && (path.length === scope.path.length || path.charCodeAt(scope.path.length) === 0x2f)
  )
}

/**
 * How the gateway calls a provider: one request, one answer. `send` reads a whole 2xx answer,
 * `open` hands a 2xx stream over unread; any other status fails with `UpstreamStatusError` (the
 * provider's message, its key redacted, its Retry-After), a connection or timeout problem with
 * `UpstreamTransportError`. Neither ever sends a request outside the provider's base URL.
 */
export interface UpstreamClientService {
  readonly send: (request: UpstreamRequest) => Effect.Effect<UpstreamResponse, UpstreamFailure>
  readonly open: (request: UpstreamRequest) => Effect.Effect<UpstreamStream, UpstreamFailure>
}

/**
 * The upstream client, one tag with two layers: `UpstreamUndici.layer` (production: a pooled
 * undici dispatcher, the hot path) and `UpstreamMemory.layer(handler)` (tests: scripted answers,
 * no socket). The gateway, model discovery and the management API's provider checks all call
 * providers through it.
 */
export class UpstreamClient extends Context.Tag("gateway/upstream/UpstreamClient")<
  UpstreamClient,
  UpstreamClientService
>() {}

/** Why a request was refused before it was sent (see `isWithinBaseUrl`); answered as a 400. */
export const LEAVES_BASE_URL = "the upstream URL would leave the provider's base URL; the request was not sent"

/**
 * The upstream's own error answer as the error every layer fails with: its status and message,
 * never the key it was sent.
 */
export const statusErrorOf = (
  request: UpstreamRequest,
  status: number,
  headers: Readonly<Record<string, string>>,
  body: string,
): UpstreamStatusError => {
  const parsed = parseUpstreamError(body, status)
  return new UpstreamStatusError({
    provider: request.provider.id,
    model: request.model,
    status,
    // Some providers echo the key they were sent: it must never reach a client or a log.
    message: redactText(parsed.message.split(Redacted.value(request.key.secret)).join("[redacted]")),
    errorType: parsed.type,
    errorCode: parsed.code,
    errorParam: parsed.param,
    retryAfterMs: parseRetryAfter((name) => headers[name], Date.now()),
  })
}
