import { EventEmitter } from "node:events"
import { Duration, Effect, Layer } from "effect"
import { Agent, type Dispatcher } from "undici"
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
import { upstreamHeaders } from "./UpstreamHeaders.js"

/**
 * The live `UpstreamClient`: provider calls on a pooled undici dispatcher. This is the data
 * plane's hot path (bench/RESULTS.md): keep it callback-driven, one `Effect.async` per call.
 */

const transportReason = (error: unknown): "connect" | "reset" => {
  const text = String((error as { cause?: unknown })?.cause ?? error)
  const code = (error as { cause?: { code?: string; cause?: { code?: string } } })?.cause
  const codes = [code?.code, code?.cause?.code, text].join(" ")
  return /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|CONNECT_TIMEOUT|EHOSTUNREACH|ENETUNREACH/.test(codes) ? "connect" : "reset"
}

/** The most specific description of an undici error: its cause's code or message, else its own message. */
const describe = (error: unknown): string => {
  const e = error as { message?: string; cause?: { message?: string; code?: string } } | undefined
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(error)
}

const codeOf = (error: unknown): string | undefined => {
  const e = error as { code?: unknown; cause?: { code?: unknown } } | undefined
  const code = e?.code ?? e?.cause?.code
  return typeof code === "string" ? code : undefined
}
const isHeadersTimeout = (error: unknown) => codeOf(error) === "UND_ERR_HEADERS_TIMEOUT"
const isBodyTimeout = (error: unknown) => codeOf(error) === "UND_ERR_BODY_TIMEOUT"

/** undici's raw header record (lower-case names) with repeated headers joined. */
const flattenHeaders = (raw: Dispatcher.ResponseData["headers"]): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const name in raw) {
    const value = raw[name]
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : String(value)
  }
  return out
}

/**
 * The client over `dispatcher`, with the configured header and idle timeouts (a request may carry
 * its own). Exposed apart from `layer` so a caller with its own dispatcher (a test's `MockAgent`,
 * a benchmark) gets exactly the production code path.
 */
export const make = (dispatcher: Dispatcher): Effect.Effect<UpstreamClientService, never, AppConfig> =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const headersTimeoutMs = Duration.toMillis(config.upstream.headersTimeout)
    const idleTimeoutMs = Duration.toMillis(config.upstream.idleTimeout)

    const toTransport = (request: UpstreamRequest, reason: UpstreamTransportError["reason"], message: string) =>
      new UpstreamTransportError({ provider: request.provider.id, model: request.model, reason, message })
    const bodyError = (request: UpstreamRequest) => (cause: unknown) =>
      isBodyTimeout(cause)
        ? toTransport(
            request,
            "idle_timeout",
            `upstream sent nothing for ${Duration.format(request.idleTimeoutMs === undefined ? config.upstream.idleTimeout : Duration.millis(request.idleTimeoutMs))}`,
          )
        : toTransport(request, "reset", `upstream body broke: ${describe(cause)}`)

    /**
     * One call on the pooled undici dispatcher, as a single callback-driven `Effect.async`:
     * interrupting it aborts the call. `onAnswer` receives a 2xx answer and settles the effect;
     * any other status is read and fails with the upstream's status and message.
     *
     * The dispatcher is called directly: the generic `HttpClient` costs several times what
     * undici itself does per request, and scoped variants abort every request on scope close.
     */
    const call = <A>(
      request: UpstreamRequest,
      onAnswer: (
        data: Dispatcher.ResponseData,
        headers: Readonly<Record<string, string>>,
        abort: () => void,
        settle: (effect: Effect.Effect<A, UpstreamFailure>) => void,
      ) => void,
    ) =>
      Effect.async<A, UpstreamFailure>((resume) => {
        // undici takes an EventEmitter as the abort signal: an AbortSignal per call would cost more
        // (it outlives young collections; bench/RESULTS.md).
        const signal = new EventEmitter()
        const abort = () => void signal.emit("abort")
        let settled = false
        const settle = (effect: Effect.Effect<A, UpstreamFailure>) => {
          if (settled) return
          settled = true
          resume(effect)
        }
        // A URL or header undici refuses throws here: a transport failure, not a defect.
        try {
          const url = new URL(request.url)
          if (!isWithinBaseUrl(request.provider.baseUrl, url)) {
            settle(
              Effect.fail(
                new UpstreamStatusError({
                  provider: request.provider.id,
                  model: request.model,
                  status: 400,
                  message: LEAVES_BASE_URL,
                }),
              ),
            )
          } else
            dispatcher.request(
              {
                signal,
                method: request.method ?? "POST",
                headers: upstreamHeaders(request.provider, request.key, config.mask, {
                  stream: request.stream,
                  masked: request.masked ?? true,
                  client: request.headers,
                  contentType: typeof request.body === "object" ? request.body.contentType : undefined,
                  contentLength: typeof request.body === "object" ? request.body.contentLength : undefined,
                }),
                origin: url.origin,
                // A fragment never goes on the wire.
                path: url.pathname + url.search,
                // An upload's async iterable goes to undici as it is (its types omit what it takes):
                // a Readable around it would read ahead and break the upload's buffer reuse (UploadSpool).
                body: (typeof request.body === "object"
                  ? request.body.open()
                  : (request.body ?? null)) as Dispatcher.DispatchOptions["body"],
                // undici's own timers: an Effect timeout per call would fork a fiber and a timer
                // on every request. The body timeout is the stream idle timeout (docs/ARCHITECTURE.md, "Timeouts").
                headersTimeout: request.headersTimeoutMs ?? headersTimeoutMs,
                bodyTimeout: request.idleTimeoutMs ?? idleTimeoutMs,
              },
              // Runs on undici's stack: a throw here would be uncaught and end the process, so it
              // settles the call as a defect instead (the client gets a 500, the gateway keeps serving).
              (error, data) => {
                try {
                  onResponse(error, data)
                } catch (defect) {
                  settle(Effect.die(defect))
                }
              },
            )
          function onResponse(error: Error | null, data: Dispatcher.ResponseData) {
            if (error !== null) {
              return settle(
                Effect.fail(
                  isHeadersTimeout(error)
                    ? toTransport(
                        request,
                        "headers_timeout",
                        `upstream did not answer within ${Duration.format(request.headersTimeoutMs === undefined ? config.upstream.headersTimeout : Duration.millis(request.headersTimeoutMs))}`,
                      )
                    : toTransport(
                        request,
                        transportReason({ cause: error }),
                        `upstream unreachable: ${describe(error)}`,
                      ),
                ),
              )
            }
            data.body.on("error", () => {})
            const headers = flattenHeaders(data.headers)
            if (data.statusCode >= 200 && data.statusCode < 300) return onAnswer(data, headers, abort, settle)
            data.body.text().then(
              (body) => settle(Effect.fail(statusErrorOf(request, data.statusCode, headers, body))),
              () => settle(Effect.fail(statusErrorOf(request, data.statusCode, headers, ""))),
            )
          }
        } catch (error) {
          settle(Effect.fail(toTransport(request, "connect", `upstream request could not be sent: ${describe(error)}`)))
        }
        return Effect.sync(() => {
          if (!settled) abort()
        })
      })

    /** Sends one request and reads the whole 2xx answer. */
    const send = (request: UpstreamRequest): Effect.Effect<UpstreamResponse, UpstreamFailure> =>
      call<UpstreamResponse>(request, (data, headers, _abort, settle) => {
        data.body.text().then(
          (text) => settle(Effect.succeed({ status: data.statusCode, headers, text })),
          (cause) => settle(Effect.fail(bodyError(request)(cause))),
        )
      })

    /** Sends one streaming request; a 2xx answer is handed over unread (see `UpstreamStream`). */
    const open = (request: UpstreamRequest): Effect.Effect<UpstreamStream, UpstreamFailure> =>
      call<UpstreamStream>(request, (data, headers, abort, settle) =>
        settle(
          Effect.succeed({
            status: data.statusCode,
            headers,
            body: data.body,
            abort: () => {
              if (!data.body.readableEnded) abort()
            },
            bodyError: bodyError(request),
          }),
        ),
      )

    return { send, open } as const
  })

/**
 * A pooled keep-alive undici dispatcher with the configured connect timeout, idle connections
 * closed after UPSTREAM_KEEPALIVE_TIMEOUT, at most UPSTREAM_MAX_CONNECTIONS per provider origin.
 */
export const layer: Layer.Layer<UpstreamClient, never, AppConfig> = Layer.scoped(
  UpstreamClient,
  Effect.gen(function* () {
    const config = yield* AppConfig
    const dispatcher = yield* Effect.acquireRelease(
      Effect.sync(
        () =>
          new Agent({
            connect: { timeout: Duration.toMillis(config.upstream.connectTimeout) },
            // Idle connections close after a burst: a provider's `Keep-Alive: timeout=600` hint is
            // capped by the max (undici's default max is 10 minutes).
            keepAliveTimeout: Duration.toMillis(config.upstream.keepAliveTimeout),
            keepAliveMaxTimeout: Math.max(
              Duration.toMillis(config.upstream.keepAliveTimeout),
              Duration.toMillis(config.upstream.keepAliveMaxTimeout),
            ),
            ...(config.upstream.maxConnectionsPerOrigin > 0
              ? { connections: config.upstream.maxConnectionsPerOrigin }
              : {}),
            headersTimeout: 0,
            bodyTimeout: 0,
          }),
      ),
      (agent) => Effect.promise(() => agent.destroy()),
    )
    return yield* make(dispatcher)
  }),
)
