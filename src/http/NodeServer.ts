import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Context, Deferred, Effect, Layer, Schema } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { AppConfig } from "../config/AppConfig.js"
import type { NodeHandler } from "./GenerationEdge.js"

/** Where the server listens, for tests and logs. */
export class ServerAddress extends Context.Tag("gateway/http/ServerAddress")<
  ServerAddress,
  { readonly host: string; readonly port: number; readonly url: string }
>() {}

/**
 * The Node HTTP server with a graceful shutdown: when the layer is released it stops accepting
 * connections, lets in-flight requests finish until `SHUTDOWN_GRACE`, then closes what is left.
 * `fastPath` serves the requests it claims (the generation routes) straight on Node; the Effect
 * HTTP app serves everything else.
 */
export const serve = <E, R, R2>(app: HttpApp.Default<E, R>, fastPath: Effect.Effect<NodeHandler, never, R2>) =>
  Layer.scopedContext(
    Effect.gen(function* () {
      const config = yield* AppConfig
      const server = Http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 })
      let inFlight = 0
      let closing = false
      const drained = yield* Deferred.make<void>()

      // No span exporter is configured, so per-request tracing (the server span with its header
      // attributes, the client span and its propagation headers, every Effect.fn span) would only
      // cost CPU on the hot path: the handler's runtime runs with the tracer off.
      const handler = yield* NodeHttpServer.makeHandler(app).pipe(
        HttpMiddleware.withTracerDisabledWhenEffect(() => true),
        Effect.withTracerEnabled(false),
      )
      const fast = yield* fastPath
      server.on("request", (req, res) => {
        inFlight++
        if (closing) res.setHeader("connection", "close")
        res.once("close", () => {
          inFlight--
          if (closing && inFlight === 0) Deferred.unsafeDone(drained, Effect.void)
        })
        if (!fast(req, res)) handler(req, res)
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
          (error) => new ListenError({ message: `could not listen on ${config.host}:${config.port}: ${error.message}` }),
        ),
      )

      yield* Effect.addFinalizer(() =>
        Effect.gen(function* () {
          closing = true
          server.close()
          server.closeIdleConnections()
          if (inFlight > 0) {
            yield* Deferred.await(drained).pipe(Effect.timeout(config.shutdownGrace), Effect.ignore)
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
