import { Sse } from "@effect/experimental"
import { HttpClient, HttpClientRequest, type HttpClientError, type HttpClientResponse } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Duration, Effect, Layer, Redacted, Stream } from "effect"
import { Agent } from "undici"
import { AppConfig } from "../config/AppConfig.js"
import { UpstreamStatusError, UpstreamTransportError } from "../gateway/GatewayError.js"
import type { Provider, ProviderKey } from "../registry/Provider.js"
import { redactText } from "../http/Logging.js"
import { parseRetryAfter } from "../routing/RetryPolicy.js"
import { parseUpstreamError } from "./UpstreamErrorBody.js"
import { upstreamHeaders } from "./UpstreamHeaders.js"

export interface UpstreamRequest {
  readonly provider: Provider
  readonly key: ProviderKey
  /** The provider's own model id, for error reports. */
  readonly model: string
  readonly url: string
  readonly method?: "GET" | "POST"
  readonly body?: string
  readonly stream: boolean
  /** Browser mask headers; off for discovery calls. */
  readonly masked?: boolean
}

export interface UpstreamResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  /** The whole body as text (non-streaming answers). */
  readonly text: Effect.Effect<string, UpstreamTransportError>
  /** The body decoded as server-sent events. */
  readonly events: Stream.Stream<Sse.Event, UpstreamTransportError>
}

const transportReason = (error: unknown): "connect" | "reset" => {
  const text = String((error as { cause?: unknown })?.cause ?? error)
  const code = (error as { cause?: { code?: string; cause?: { code?: string } } })?.cause
  const codes = [code?.code, code?.cause?.code, text].join(" ")
  return /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|CONNECT_TIMEOUT|EHOSTUNREACH|ENETUNREACH/.test(codes) ? "connect" : "reset"
}

const describe = (error: HttpClientError.HttpClientError): string => {
  const cause = (error as { cause?: { message?: string; cause?: { message?: string; code?: string } } }).cause
  return cause?.cause?.code ?? cause?.cause?.message ?? cause?.message ?? error.message
}

/**
 * Splits decoded text after every line feed. `Sse.makeParser` rescans its buffer from the start
 * for every line it finds in one `feed`, so a network read carrying many SSE frames costs
 * quadratic time (≈ 0.85 ms for a 7 KB, 34-frame answer read at once); fed one line at a time it
 * is linear. Where a frame ends is unchanged: the parser accepts input cut anywhere.
 */
const splitLines = (text: string): ReadonlyArray<string> => {
  let nl = text.indexOf("\n")
  if (nl < 0 || nl === text.length - 1) return [text]
  const out: Array<string> = []
  let start = 0
  while (nl >= 0) {
    out.push(text.slice(start, nl + 1))
    start = nl + 1
    nl = text.indexOf("\n", start)
  }
  if (start < text.length) out.push(text.slice(start))
  return out
}

export class UpstreamClient extends Effect.Service<UpstreamClient>()("gateway/upstream/UpstreamClient", {
  effect: Effect.gen(function* () {
    const config = yield* AppConfig
    const client = yield* HttpClient.HttpClient
    const scopedClient = HttpClient.withScope(client)

    const toTransport = (request: UpstreamRequest, reason: UpstreamTransportError["reason"], message: string) =>
      new UpstreamTransportError({ provider: request.provider.id, model: request.model, reason, message })

    // `text` and `events` are built on first use: a request reads one or the other, never both,
    // and building the unused pipeline (a Stream with an SSE channel) costs on every request.
    const wrap = (request: UpstreamRequest, response: HttpClientResponse.HttpClientResponse): UpstreamResponse => {
      let text: UpstreamResponse["text"] | undefined
      let events: UpstreamResponse["events"] | undefined
      return {
        status: response.status,
        headers: response.headers,
        get text() {
          return (text ??= response.text.pipe(
            Effect.mapError((e) => toTransport(request, "reset", `upstream body could not be read: ${describe(e)}`)),
          ))
        },
        get events() {
          return (events ??= response.stream.pipe(
            Stream.decodeText(),
            Stream.mapConcat(splitLines),
            Stream.pipeThroughChannel(Sse.makeChannel()),
            Stream.mapError((e) => toTransport(request, "reset", `upstream stream broke: ${describe(e)}`)),
          ))
        },
      }
    }

    /**
     * Sends one request. Succeeds with a 2xx response tied to the current scope (closing the
     * scope aborts the upstream call); fails with the upstream's status and message otherwise.
     */
    const send = Effect.fn("UpstreamClient.send")(function* (request: UpstreamRequest) {
      const headers = upstreamHeaders(request.provider, request.key, config.mask, {
        stream: request.stream,
        masked: request.masked ?? true,
      })
      const base = request.method === "GET" ? HttpClientRequest.get(request.url) : HttpClientRequest.post(request.url)
      const httpRequest = HttpClientRequest.setHeaders(
        request.body === undefined ? base : HttpClientRequest.bodyText(base, request.body, "application/json"),
        headers,
      )
      const response = yield* scopedClient.execute(httpRequest).pipe(
        Effect.mapError((e) => toTransport(request, transportReason(e), `upstream unreachable: ${describe(e)}`)),
        Effect.timeoutFail({
          duration: config.upstream.headersTimeout,
          onTimeout: () =>
            toTransport(
              request,
              "headers_timeout",
              `upstream did not answer within ${Duration.format(config.upstream.headersTimeout)}`,
            ),
        }),
      )
      if (response.status >= 200 && response.status < 300) return wrap(request, response)
      const body = yield* response.text.pipe(Effect.orElseSucceed(() => ""))
      const parsed = parseUpstreamError(body, response.status)
      return yield* new UpstreamStatusError({
        provider: request.provider.id,
        model: request.model,
        status: response.status,
        // Some providers echo the key they were sent: it must never reach a client or a log.
        message: redactText(parsed.message.split(Redacted.value(request.key.secret)).join("[redacted]")),
        errorType: parsed.type,
        errorCode: parsed.code,
        errorParam: parsed.param,
        retryAfterMs: parseRetryAfter((name) => response.headers[name], Date.now()),
      })
    })

    return { send } as const
  }),
}) {}

/** A pooled keep-alive undici dispatcher with the configured connect timeout. */
export const UpstreamHttpLive = Layer.unwrapScoped(
  Effect.gen(function* () {
    const config = yield* AppConfig
    const dispatcher = yield* Effect.acquireRelease(
      Effect.sync(
        () =>
          new Agent({
            connect: { timeout: Duration.toMillis(config.upstream.connectTimeout) },
            keepAliveTimeout: 30_000,
            headersTimeout: 0,
            bodyTimeout: 0,
          }),
      ),
      (agent) => Effect.promise(() => agent.destroy()),
    )
    return NodeHttpClient.layerUndiciWithoutDispatcher.pipe(Layer.provide(Layer.succeed(NodeHttpClient.Dispatcher, dispatcher)))
  }),
)
