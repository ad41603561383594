import { Readable } from "node:stream"
import { Duration, Effect, Layer } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { type UpstreamFailure, UpstreamStatusError, UpstreamTransportError } from "../shared/UpstreamFailure.js"
import {
  isWithinBaseUrl,
  LEAVES_BASE_URL,
  statusErrorOf,
  UpstreamClient,
  type UpstreamClientService,
  type UpstreamRequest,
  type UpstreamResponse,
  type UpstreamStream,
} from "./UpstreamClient.js"

/**
 * The in-memory `UpstreamClient` for tests: every request goes to a handler that scripts the
 * provider's answer, and no socket is opened. It keeps the client's contract as the live layer
 * (`UpstreamUndici`) does — base-URL check, error answers turned into `UpstreamStatusError` with
 * the key redacted, transport failures and broken bodies into `UpstreamTransportError` with the
 * same reasons and messages — and hands a stream over as the same `UpstreamStream` (a Node
 * `Readable` of bytes, `abort`, `bodyError`), so `gateway/StreamCommit` runs unchanged over it.
 */

/** A scripted body: the whole text, or the chunks it arrives in (each a `data` event). */
export type MemoryBody = string | Iterable<string> | AsyncIterable<string>

/**
 * How a body that has started breaks after its chunks: the connection reset, or silence past
 * the idle timeout (scripted, not waited for: the memory layer runs no timers).
 */
export type MemoryCut = "reset" | "idle_timeout"

/** What the provider does with one request. */
export type MemoryAnswer =
  | {
      readonly _tag: "Answer"
      readonly status: number
      /** Lower-case names, as undici reports them. */
      readonly headers: Readonly<Record<string, string>>
      readonly body: MemoryBody
      readonly cut?: MemoryCut | undefined
    }
  | {
      /** No answer at all: refused, reset before any byte, or no headers within the timeout. */
      readonly _tag: "Unreachable"
      readonly reason: "connect" | "reset" | "headers_timeout"
    }

/**
 * The script: the answer to `request`, or an effect that produces it (which may take time on
 * the Effect clock: past the request's headers timeout it fails as undici's would).
 */
export type MemoryHandler = (request: UpstreamRequest) => MemoryAnswer | Effect.Effect<MemoryAnswer>

const lowerCase = (headers: Readonly<Record<string, string>> | undefined): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const name in headers) out[name.toLowerCase()] = headers[name]!
  return out
}

/** A 2xx JSON answer (`body` is sent as is when a string, else serialised). */
export const json = (
  body: unknown,
  options: { readonly status?: number; readonly headers?: Record<string, string> } = {},
): MemoryAnswer => ({
  _tag: "Answer",
  status: options.status ?? 200,
  headers: { "content-type": "application/json", ...lowerCase(options.headers) },
  body: typeof body === "string" ? body : JSON.stringify(body),
})

/** An error answer: `status` with the provider's error body (e.g. a 429 with `retry-after`). */
export const status = (code: number, body: unknown = "", headers?: Record<string, string>): MemoryAnswer => ({
  _tag: "Answer",
  status: code,
  headers: { "content-type": "application/json", ...lowerCase(headers) },
  body: typeof body === "string" ? body : JSON.stringify(body),
})

/** A 200 `text/event-stream` answer arriving in `chunks`, optionally broken after the last one. */
export const sse = (
  chunks: Iterable<string> | AsyncIterable<string>,
  options: { readonly cut?: MemoryCut; readonly headers?: Record<string, string> } = {},
): MemoryAnswer => ({
  _tag: "Answer",
  status: 200,
  headers: { "content-type": "text/event-stream", ...lowerCase(options.headers) },
  body: chunks,
  cut: options.cut,
})

/** No answer: the connection refused (`connect`), reset before a byte, or headers never came. */
export const unreachable = (reason: "connect" | "reset" | "headers_timeout" = "connect"): MemoryAnswer => ({
  _tag: "Unreachable",
  reason,
})

/** The error a scripted cut breaks a body with; `bodyError` reads its reason. */
class MemoryBodyCut extends Error {
  constructor(readonly reason: MemoryCut) {
    super(reason === "reset" ? "ECONNRESET" : "body timeout")
  }
}

async function* chunksOf(body: MemoryBody, cut: MemoryCut | undefined): AsyncGenerator<Buffer> {
  if (typeof body === "string") {
    if (body.length > 0) yield Buffer.from(body)
  } else {
    for await (const chunk of body) yield Buffer.from(chunk)
  }
  if (cut !== undefined) throw new MemoryBodyCut(cut)
}

const readAll = (body: MemoryBody, cut: MemoryCut | undefined): Effect.Effect<string, unknown> =>
  Effect.tryPromise({
    try: async () => {
      let text = ""
      for await (const chunk of chunksOf(body, cut)) text += chunk.toString("utf8")
      return text
    },
    catch: (cause) => cause,
  })

/** The client over `handler`, with the configured headers and idle timeouts for its messages. */
export const make = (
  handler: MemoryHandler,
  timeouts: { readonly headersTimeout: Duration.Duration; readonly idleTimeout: Duration.Duration },
): UpstreamClientService => {
  const toTransport = (request: UpstreamRequest, reason: UpstreamTransportError["reason"], message: string) =>
    new UpstreamTransportError({ provider: request.provider.id, model: request.model, reason, message })
  const headersTimeoutOf = (request: UpstreamRequest) =>
    request.headersTimeoutMs === undefined ? timeouts.headersTimeout : Duration.millis(request.headersTimeoutMs)
  const headersTimeout = (request: UpstreamRequest) =>
    toTransport(
      request,
      "headers_timeout",
      `upstream did not answer within ${Duration.format(headersTimeoutOf(request))}`,
    )
  // The same classification, and messages, as the live layer's (the gateway reads "upstream unreachable").
  const bodyError = (request: UpstreamRequest) => (cause: unknown) =>
    cause instanceof MemoryBodyCut && cause.reason === "idle_timeout"
      ? toTransport(
          request,
          "idle_timeout",
          `upstream sent nothing for ${Duration.format(request.idleTimeoutMs === undefined ? timeouts.idleTimeout : Duration.millis(request.idleTimeoutMs))}`,
        )
      : toTransport(request, "reset", `upstream body broke: ${cause instanceof Error ? cause.message : String(cause)}`)

  /** The scripted answer when it is 2xx; an error answer or no answer fails as the live client does. */
  const answer = (
    request: UpstreamRequest,
  ): Effect.Effect<Extract<MemoryAnswer, { _tag: "Answer" }>, UpstreamFailure> =>
    Effect.suspend(() => {
      let url: URL
      try {
        url = new URL(request.url)
      } catch (error) {
        return Effect.fail(
          toTransport(
            request,
            "connect",
            `upstream request could not be sent: ${error instanceof Error ? error.message : String(error)}`,
          ),
        )
      }
      if (!isWithinBaseUrl(request.provider.baseUrl, url)) {
        return Effect.fail(
          new UpstreamStatusError({
            provider: request.provider.id,
            model: request.model,
            status: 400,
            message: LEAVES_BASE_URL,
          }),
        )
      }
      const scripted = handler(request)
      const answered = Effect.isEffect(scripted)
        ? Effect.timeoutFail(scripted, {
            duration: headersTimeoutOf(request),
            onTimeout: () => headersTimeout(request),
          })
        : Effect.succeed(scripted)
      return Effect.flatMap(
        answered,
        (a): Effect.Effect<Extract<MemoryAnswer, { _tag: "Answer" }>, UpstreamFailure> => {
          if (a._tag === "Unreachable") {
            return Effect.fail(
              a.reason === "headers_timeout"
                ? headersTimeout(request)
                : toTransport(
                    request,
                    a.reason,
                    `upstream unreachable: ${a.reason === "connect" ? "ECONNREFUSED" : "ECONNRESET"}`,
                  ),
            )
          }
          if (a.status >= 200 && a.status < 300) return Effect.succeed(a)
          const headers = lowerCase(a.headers)
          return readAll(a.body, a.cut).pipe(
            Effect.orElseSucceed(() => ""),
            Effect.flatMap((text) => Effect.fail(statusErrorOf(request, a.status, headers, text))),
          )
        },
      )
    })

  const send = (request: UpstreamRequest): Effect.Effect<UpstreamResponse, UpstreamFailure> =>
    Effect.flatMap(answer(request), (a) =>
      readAll(a.body, a.cut).pipe(
        Effect.mapError(bodyError(request)),
        Effect.map((text) => ({ status: a.status, headers: lowerCase(a.headers), text })),
      ),
    )

  const open = (request: UpstreamRequest): Effect.Effect<UpstreamStream, UpstreamFailure> =>
    Effect.map(answer(request), (a) => {
      // Bytes, not objects, as undici's body: StreamCommit decodes Buffers.
      const body = Readable.from(chunksOf(a.body, a.cut), { objectMode: false })
      // As the live client: a body error after its reader let go is nobody's to handle.
      body.on("error", () => {})
      return {
        status: a.status,
        headers: lowerCase(a.headers),
        body,
        abort: () => {
          // Stops the script's iterator too (its `finally` runs), as an abort closes the connection.
          if (!body.readableEnded) body.destroy(new Error("aborted"))
        },
        bodyError: bodyError(request),
      }
    })

  return { send, open }
}

/** `UpstreamClient` answered by `handler`, with the configured timeouts (see `make`). */
export const layer = (handler: MemoryHandler): Layer.Layer<UpstreamClient, never, AppConfig> =>
  Layer.effect(
    UpstreamClient,
    Effect.map(AppConfig, (config) =>
      make(handler, { headersTimeout: config.upstream.headersTimeout, idleTimeout: config.upstream.idleTimeout }),
    ),
  )
