import { Cause, Effect, Either, Exit, FiberId, Option, Runtime } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import { AppConfig } from "../config/AppConfig.js"
import { Gateway, type GatewayAnswer } from "../gateway/Gateway.js"
import { ApiKeyAuth } from "../identity/ApiKeyAuth.js"
import { RateLimit } from "../identity/RateLimit.js"
import { requestIdOf, writeAccessLine } from "./AccessLog.js"
import { readCredential } from "./Credentials.js"
import { type ApiError, apiError, type ClientDialect, errorBody, retryAfterSeconds } from "./ErrorEnvelope.js"
import { toApiError } from "./ErrorMapping.js"
import { type GenerationRoute, generationRouteOf, toGeneration } from "./Generation.js"
import { LogLinesTag } from "./Logging.js"
import { type BodyProblem, parseJsonObject, readBody } from "./RequestBody.js"

/** Serves the request and returns true, or returns false when the request is not its to serve. */
export type NodeHandler = (request: IncomingMessage, response: ServerResponse) => boolean

/** What the edge knows of a request; its body is read by the program, once the caller is known. */
interface EdgeInput {
  readonly request: IncomingMessage
  readonly route: GenerationRoute
  readonly path: string
  readonly credential: string
  readonly accept: string | undefined
  readonly sessionId: string | undefined
  readonly requestId: string
  /** Set once the whole body was read: until then a reply must close the connection. */
  bodyRead: boolean
}

/** nginx's convention for "the client closed the connection before it was answered". */
const CLIENT_CLOSED = 499

/** The longest header value built from a name the edge did not choose (model ids, provider ids). */
const HEADER_VALUE_MAX = 512

/** Printable ASCII: a header value that needs no encoding. */
const PLAIN_HEADER_VALUE = /^[\x20-\x7e]*$/

/**
 * `value` as a header value that is always valid (`http.validateHeaderValue` accepts it) and
 * always one line: printable ASCII passes unchanged; any other byte of its UTF-8 form (CR, LF,
 * controls, anything outside ASCII, e.g. `qwen-模型` → `qwen-%E6%A8%A1%E5%9E%8B`) and `%` itself
 * are percent-encoded; at most `HEADER_VALUE_MAX` characters. Every response header the edge
 * builds from a client's or a provider's data goes through here.
 */
export const safeHeaderValue = (value: string): string => {
  if (value.length <= HEADER_VALUE_MAX && PLAIN_HEADER_VALUE.test(value)) return value
  let out = ""
  // Buffer.from replaces a lone surrogate with U+FFFD (encodeURIComponent would throw on it).
  for (const byte of Buffer.from(value, "utf8")) {
    const encoded = byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte < 16 ? "0" : ""}${byte.toString(16).toUpperCase()}`
    if (out.length + encoded.length > HEADER_VALUE_MAX) break
    out += encoded
  }
  return out
}

const servedHeaders = (answer: GatewayAnswer) => ({
  "x-apiproxy-provider": safeHeaderValue(answer.served.provider),
  "x-apiproxy-model": safeHeaderValue(answer.served.model),
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
  // Registered first, so a response destroyed by a failing write still cancels the stream. Also
  // fires after a finished stream, when cancelling is a no-op.
  response.once("close", answer.stream.cancel)
  response.writeHead(200, {
    ...servedHeaders(answer),
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
  })
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

const MISSING_KEY = apiError(401, "Missing API key: send 'Authorization: Bearer <key>'", { code: "invalid_api_key" })

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
  // The caller is authenticated (and rate-limited) before a byte of the body is read: a client
  // without a valid key cannot make the gateway buffer up to BODY_LIMIT_BYTES.
  const serve = Effect.fnUntraced(function* (input: EdgeInput) {
    const principal = yield* auth.verify(input.credential)
    yield* rateLimit.checkRequest(principal)
    const text = yield* Effect.async<string, BodyProblem>((resume) => {
      const stop = readBody(input.request, config.bodyLimitBytes, (read) => {
        if (Either.isRight(read)) input.bodyRead = true
        resume(read)
      })
      return Effect.sync(stop)
    })
    const generation = toGeneration(input.route, input.path, parseJsonObject(text), input.accept)
    if (Either.isLeft(generation)) return yield* generation.left
    return yield* gateway.handle({ ...generation.right, principal, sessionId: input.sessionId, requestId: input.requestId })
  })

  /** Writes with `write`; a write that throws (it never should) destroys the response instead of escaping. */
  const guarded = (response: ServerResponse, requestId: string, write: () => void) => {
    try {
      write()
    } catch (error) {
      response.destroy()
      run(Effect.logError("could not write a response", Cause.die(error)).pipe(Effect.annotateLogs("request_id", requestId)))
    }
  }

  const handler: NodeHandler = (request, response) => {
    const url = request.url ?? "/"
    const query = url.indexOf("?")
    const path = query < 0 ? url : url.slice(0, query)
    const route = generationRouteOf(request.method, path)
    if (route === undefined) return false

    const startedMs = performance.now()
    const requestId = requestIdOf(request.headers["x-request-id"])
    response.setHeader("x-request-id", requestId)
    // A Gemini path holds the client's model name: logged like a header value (printable ASCII, bounded).
    const loggedPath = route.kind === "gemini" ? safeHeaderValue(path) : path
    response.once("close", () =>
      writeAccessLine(log, {
        requestId,
        method: "POST",
        path: loggedPath,
        status: response.headersSent ? response.statusCode : CLIENT_CLOSED,
        startedMs,
      }),
    )
    const credential = readCredential({ headers: request.headers, url }, route.errors)
    if (credential === undefined) {
      guarded(response, requestId, () => writeError(response, route.errors, MISSING_KEY, true))
      return true
    }
    const session = request.headers["x-session-id"]
    const input: EdgeInput = {
      request,
      route,
      path,
      credential,
      accept: request.headers["accept"],
      sessionId: typeof session === "string" ? session : undefined,
      requestId,
      bodyRead: false,
    }
    const fiber = run(serve(input))
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
        const answer = exit.value
        return guarded(response, requestId, () => writeAnswer(response, answer))
      }
      if (response.destroyed) return
      const failure = Cause.failureOption(exit.cause)
      if (Option.isSome(failure)) {
        const error = failure.value as unknown as { readonly _tag: string } & Record<string, unknown>
        return guarded(response, requestId, () => writeError(response, route.errors, toApiError(error), !input.bodyRead))
      }
      if (Cause.isInterruptedOnly(exit.cause)) return void response.destroy()
      run(Effect.logError("unexpected failure while handling a request", exit.cause).pipe(Effect.annotateLogs("request_id", requestId)))
      guarded(response, requestId, () => writeError(response, route.errors, toApiError({ _tag: "Defect" }), !input.bodyRead))
    })
    return true
  }
  return handler
})
