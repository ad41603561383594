import * as Http from "node:http"
import type { AddressInfo, Socket } from "node:net"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Context, Duration, Effect, Layer, Schema } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { endRelayWithError } from "../gateway/StreamCommit.js"
import { beginRequest } from "./AccessLog.js"
import { Draining } from "./Draining.js"
import { apiError, errorBody } from "./ErrorEnvelope.js"
import type { NodeHandler } from "./GenerationEdge.js"
import { HeldRequest } from "./HeldRequest.js"
import { LogLinesTag } from "./Logging.js"
import { dialectOfPath } from "./RouteDialect.js"

/** Where the server listens, for tests and logs. */
export class ServerAddress extends Context.Tag("gateway/http/ServerAddress")<
  ServerAddress,
  { readonly host: string; readonly port: number; readonly url: string }
>() {}

const hasBody = (request: Http.IncomingMessage): boolean =>
  request.headers["transfer-encoding"] !== undefined || Number(request.headers["content-length"] ?? "0") > 0

/**
 * 413 for a body over `limit`, in the shape of the route (its dialect's for `/v1…`, RouteDialect; the management
 * API's otherwise), with `connection: close`: the connection closes once the client stopped
 * sending (or after a short linger); the body never reaches a handler.
 */
const refuseTooLarge = (request: HeldRequest, response: Http.ServerResponse, limit: number): void => {
  request.linger(limit)
  if (response.headersSent) return void request.socket.destroy()
  const message = `Request body exceeds the limit of ${limit} bytes`
  const path = (request.url ?? "").split("?", 1)[0]!
  const body = JSON.stringify(
    path.startsWith("/v1")
      ? errorBody(
          dialectOfPath(path, request.headers["anthropic-version"]),
          apiError(413, message, { code: "request_too_large" }),
        )
      : { _tag: "PayloadTooLarge", message },
  )
  response.writeHead(413, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    connection: "close",
  })
  response.end(body)
}

/**
 * Node's own slow-client limits: `headersTimeout` until a request's headers are complete,
 * `requestTimeout` until the whole request (headers and body) is received — a response streamed
 * for longer is not cut. A request past either gets 408 and its connection is closed. Node checks
 * them every `connectionsCheckingInterval` (30 s by default): a quarter of the shorter one here.
 */
const clientTimeouts = (config: {
  readonly headersTimeout: Duration.Duration
  readonly requestTimeout: Duration.Duration
}) => {
  const requestTimeout = Duration.toMillis(config.requestTimeout)
  const headers = Duration.toMillis(config.headersTimeout)
  // Node refuses a headers timeout longer than a (non-zero) request timeout.
  const headersTimeout = requestTimeout > 0 && (headers === 0 || headers > requestTimeout) ? requestTimeout : headers
  const shortest = Math.min(...[headersTimeout, requestTimeout].filter((ms) => ms > 0))
  const connectionsCheckingInterval = Number.isFinite(shortest)
    ? Math.min(5_000, Math.max(100, Math.floor(shortest / 4)))
    : 30_000
  return { headersTimeout, requestTimeout, connectionsCheckingInterval }
}

/**
 * At most `max` open connections per client (socket) address: one more is destroyed as it opens,
 * before a byte is read — no answer, nothing for it to hold. (Behind a proxy, with TRUST_PROXY,
 * every connection comes from the proxy: the limit is then the proxy's job and is not applied.)
 */
const limitConnectionsPerClient = (server: Http.Server, max: number): void => {
  const open = new Map<string, number>()
  server.on("connection", (socket: Socket) => {
    const address = socket.remoteAddress ?? "unknown"
    const count = (open.get(address) ?? 0) + 1
    if (count > max) return void socket.destroy()
    open.set(address, count)
    socket.once("close", () => {
      const left = (open.get(address) ?? 1) - 1
      if (left === 0) open.delete(address)
      else open.set(address, left)
    })
  })
}

const SHUTDOWN_MESSAGE = "The gateway is shutting down: the answer was cut off"
/** After the grace, how long the in-band error frames get to reach the clients. */
const FLUSH_AFTER_GRACE = Duration.millis(300)

/**
 * The Node HTTP server with a graceful shutdown: when the layer is released it stops accepting
 * connections, lets in-flight requests finish until `SHUTDOWN_GRACE`, then ends the streams still
 * relayed with an in-band error and closes what is left (within the grace + 0.3 s).
 * `fastPath` serves the requests it claims (the generation routes) straight on Node; the Effect
 * HTTP app serves everything else.
 */
export const serve = <E, R, R2>(app: HttpApp.Default<E, R>, fastPath: Effect.Effect<NodeHandler, never, R2>) =>
  Layer.scopedContext(
    Effect.gen(function* () {
      const config = yield* AppConfig
      const draining = yield* Draining
      const lines = yield* LogLinesTag
      const server = Http.createServer({
        IncomingMessage: HeldRequest,
        keepAliveTimeout: 65_000,
        ...clientTimeouts(config),
      })
      if (config.maxConnectionsPerClient > 0 && !config.trustProxy)
        limitConnectionsPerClient(server, config.maxConnectionsPerClient)
      const bodyLimit = config.managementBodyLimitBytes
      /** Responses not closed yet (in flight). */
      const open = new Set<Http.ServerResponse>()
      let closing = false
      /** Called once the last response in flight has closed, while closing. */
      let onDrained: () => void = () => {}

      // No span exporter is configured, so per-request tracing (the server span with its header
      // attributes, the client span and its propagation headers, every Effect.fn span) would only
      // cost CPU on the hot path: the handler's runtime runs with the tracer off.
      const handler = yield* NodeHttpServer.makeHandler(app).pipe(
        HttpMiddleware.withTracerDisabledWhenEffect(() => true),
        Effect.withTracerEnabled(false),
      )
      const fast = yield* fastPath
      server.on("request", (req, res) => {
        beginRequest(req, res, lines)
        open.add(res)
        if (closing || draining.isDraining()) res.setHeader("connection", "close")
        res.once("close", () => {
          open.delete(res)
          if (closing && open.size === 0) onDrained()
        })
        if (fast(req, res)) return
        // Every other route gets its body whole and bounded: the Effect app reads bodies unbounded.
        if (!hasBody(req)) return handler(req, res)
        const held = req as HeldRequest
        if (Number(req.headers["content-length"] ?? "0") > bodyLimit) return refuseTooLarge(held, res, bodyLimit)
        held.bodyLimit = bodyLimit
        held.onOverLimit = () => refuseTooLarge(held, res, bodyLimit)
        held.onComplete = () => handler(req, res)
      })

      yield* Effect.async<void, Error>((resume) => {
        const onError = (error: Error) => resume(Effect.fail(error))
        server.once("error", onError)
        server.listen({ port: config.port, host: config.host }, () => {
          server.off("error", onError)
          resume(Effect.void)
        })
      }).pipe(
        Effect.mapError(
          (error) =>
            new ListenError({ message: `could not listen on ${config.host}:${config.port}: ${error.message}` }),
        ),
      )

      // The finalizer runs uninterruptibly, and on SIGTERM its fiber is already interrupted: an
      // `Effect.interruptible` wait there ends at once (no drain, no grace), and `Effect.timeout`
      // cannot cut an uninterruptible one short. So the waits are callbacks that end themselves.
      const wait = (duration: Duration.Duration, whenDrained: boolean) =>
        Effect.async<void>((resume) => {
          const done = () => {
            clearTimeout(timer)
            onDrained = () => {}
            resume(Effect.void)
          }
          const timer = setTimeout(done, Duration.toMillis(duration))
          if (whenDrained) onDrained = done
        })
      yield* Effect.addFinalizer(() =>
        Effect.gen(function* () {
          if (Duration.toMillis(config.shutdownDrain) > 0) {
            draining.begin()
            yield* Effect.logInfo("draining: /health answers 503 until the listener closes").pipe(
              Effect.annotateLogs({ drain_ms: Duration.toMillis(config.shutdownDrain) }),
            )
            yield* wait(config.shutdownDrain, false)
          }
          closing = true
          server.close()
          server.closeIdleConnections()
          if (open.size > 0) yield* wait(config.shutdownGrace, true)
          if (open.size > 0) {
            // Grace is over: every stream still relayed ends with an in-band error in its dialect
            // (never a silent cut, never a `[DONE]`); the rest of the connections are closed.
            let streams = 0
            for (const response of open) if (endRelayWithError(response, SHUTDOWN_MESSAGE)) streams++
            yield* Effect.logWarning("shutdown grace over: closing what is still in flight").pipe(
              Effect.annotateLogs({ streams_ended: streams, other_requests: open.size - streams }),
            )
            // A moment for the error frames to reach the clients.
            if (streams > 0) yield* wait(FLUSH_AFTER_GRACE, true)
          }
          server.closeAllConnections()
        }),
      )

      const address = server.address() as AddressInfo
      const host = address.address === "::" || address.address === "0.0.0.0" ? "127.0.0.1" : address.address
      yield* Effect.logInfo(`APIProxy listening on http://${config.host}:${address.port}`)
      return Context.make(ServerAddress, { host, port: address.port, url: `http://${host}:${address.port}` })
    }),
  )

export class ListenError extends Schema.TaggedError<ListenError>()("ListenError", { message: Schema.String }) {}
