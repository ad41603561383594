import { Cause, Effect, Either, Exit, FiberId, Option, Runtime } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import { AppConfig } from "../config/AppConfig.js"
import { Gateway, type GatewayAnswer } from "../gateway/Gateway.js"
import { ApiKeyAuth, AuthError } from "../identity/ApiKeyAuth.js"
import { RateLimit } from "../identity/RateLimit.js"
import { requestIdOf, writeAccessLine } from "./AccessLog.js"
import { readCredential } from "./Credentials.js"
import { type ApiError, type ClientDialect, errorBody, retryAfterSeconds } from "./ErrorEnvelope.js"
import { toApiError } from "./ErrorMapping.js"
import { type GenerationRoute, generationRouteOf, toGeneration } from "./Generation.js"
import { LogLinesTag } from "./Logging.js"
import { type BodyProblem, parseJsonObject, readBody } from "./RequestBody.js"

/** Serves the request and returns true, or returns false when the request is not its to serve. */
export type NodeHandler = (request: IncomingMessage, response: ServerResponse) => boolean

/** What the edge knows of a request when its body has been read. */
interface EdgeInput {
  readonly route: GenerationRoute
  readonly path: string
  readonly credential: string | undefined
  readonly read: Either.Either<string, BodyProblem>
  readonly accept: string | undefined
  readonly sessionId: string | undefined
  readonly requestId: string
}

/** nginx's convention for "the client closed the connection before it was answered". */
const CLIENT_CLOSED = 499

const servedHeaders = (answer: GatewayAnswer) => ({
  "x-apiproxy-provider": answer.served.provider,
  "x-apiproxy-model": answer.served.model,
  "x-apiproxy-attempts": String(answer.served.attempts),
})

const writeAnswer = (response: ServerResponse, answer: GatewayAnswer) => {
  if (answer._tag === "Json") {
    response.writeHead(200, {
      ...servedHeaders(answer),
      "content-type": "application/json",
      "content-length": Buffer.byteLength(answer.body),
    })
    response.end(answer.body)
    return
  }
  response.writeHead(200, {
    ...servedHeaders(answer),
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
  })
  // Also fires after a finished stream, when cancelling is a no-op.
  response.once("close", answer.stream.cancel)
  answer.stream.relayTo(response)
}

const writeError = (response: ServerResponse, dialect: ClientDialect, error: ApiError, closeConnection: boolean) => {
  const body = JSON.stringify(errorBody(dialect, error))
  response.writeHead(error.status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    ...(error.retryAfterMs === undefined ? {} : { "retry-after": retryAfterSeconds(error.retryAfterMs) }),
    // A body that was not read to the end cannot be followed by another request.
    ...(closeConnection ? { connection: "close" } : {}),
  })
  response.end(body)
}

/**
 * The generation routes (chat completions, Responses, Messages, Gemini), served straight on the
 * Node server rather than through the Effect HTTP router: this is the hot path, and the generic
 * server costs more per request than a whole minimal proxy (bench/RESULTS.md). What happens here
 * is the HTTP edge only: read the body, run one Effect program (authenticate, rate-limit, the
 * gateway) on the application runtime, write its answer or its error in the client's dialect, and
 * write the access line. A client that goes away interrupts the program (which aborts the upstream
 * call) or cancels the stream being relayed.
 */
export const makeGenerationEdge = Effect.gen(function* () {
  const config = yield* AppConfig
  const auth = yield* ApiKeyAuth
  const rateLimit = yield* RateLimit
  const gateway = yield* Gateway
  const log = yield* LogLinesTag
  const run = Runtime.runFork(yield* Effect.runtime<never>())

  // One generator function for every request: a generator closure made per request gets a fresh
  // hidden class whose old-space map keeps that request alive past young collections (bench/RESULTS.md).
  const serve = Effect.fnUntraced(function* (input: EdgeInput) {
    if (input.credential === undefined) {
      return yield* new AuthError({ status: 401, message: "Missing API key: send 'Authorization: Bearer <key>'" })
    }
    const principal = yield* auth.verify(input.credential)
    yield* rateLimit.checkRequest(principal)
    const generation = toGeneration(input.route, input.path, Either.flatMap(input.read, parseJsonObject), input.accept)
    if (Either.isLeft(generation)) return yield* generation.left
    return yield* gateway.handle({ ...generation.right, principal, sessionId: input.sessionId, requestId: input.requestId })
  })

  const handler: NodeHandler = (request, response) => {
    const url = request.url ?? "/"
    const query = url.indexOf("?")
    const path = query < 0 ? url : url.slice(0, query)
    const route = generationRouteOf(request.method, path)
    if (route === undefined) return false

    const startedMs = performance.now()
    const requestId = requestIdOf(request.headers["x-request-id"])
    response.setHeader("x-request-id", requestId)
    response.once("close", () =>
      writeAccessLine(log, {
        requestId,
        method: "POST",
        path,
        status: response.headersSent ? response.statusCode : CLIENT_CLOSED,
        startedMs,
      }),
    )
    const credential = readCredential({ headers: request.headers, url }, route.errors)
    const session = request.headers["x-session-id"]
    const sessionId = typeof session === "string" ? session : undefined

    readBody(request, config.bodyLimitBytes, (read) => {
      const program = serve({ route, path, credential, read, accept: request.headers["accept"], sessionId, requestId })
      const fiber = run(program)
      let settled = false
      response.once("close", () => {
        if (!settled) fiber.unsafeInterruptAsFork(FiberId.none)
      })
      fiber.addObserver((exit) => {
        settled = true
        if (Exit.isSuccess(exit)) {
          if (response.destroyed) {
            if (exit.value._tag === "Stream") exit.value.stream.cancel()
            return
          }
          return writeAnswer(response, exit.value)
        }
        if (response.destroyed) return
        const failure = Cause.failureOption(exit.cause)
        if (Option.isSome(failure)) {
          const error = failure.value as unknown as { readonly _tag: string } & Record<string, unknown>
          return writeError(response, route.errors, toApiError(error), error._tag === "RequestTooLarge")
        }
        if (Cause.isInterruptedOnly(exit.cause)) return void response.destroy()
        run(Effect.logError("unexpected failure while handling a request", exit.cause).pipe(Effect.annotateLogs("request_id", requestId)))
        writeError(response, route.errors, toApiError({ _tag: "Defect" }), false)
      })
    })
    return true
  }
  return handler
})
