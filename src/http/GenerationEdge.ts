import { randomUUID } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import { Cause, Effect, Either, Exit, FiberId, Option, Runtime } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { Gateway, type GatewayAnswer, type Served } from "../gateway/Gateway.js"
import type { InvalidRequest } from "../gateway/GatewayError.js"
import { operationNameOf } from "../gateway/GatewayRequest.js"
import { type TokenCountAnswer, TokenCounter } from "../gateway/TokenCounter.js"
import type { Principal } from "../identity/Principal.js"
import type { RateLimitState } from "../identity/RateLimit.js"
import { Metrics, type MetricsService } from "../metrics/Metrics.js"
import type { CountDialect } from "../protocol/TokenCount.js"
import {
  closeRecord,
  newRequestRecord,
  type RequestRecord,
  setError,
  setRequestBody,
  setResponseBody,
  setServed,
} from "../shared/RequestRecord.js"
import { type RequestTrace, Tracing } from "../telemetry/Tracing.js"
import { Budgets } from "../usage/Budgets.js"
import { usdText } from "../usage/Cost.js"
import { RequestLogWriter } from "../usage/RequestLogWriter.js"
import { sentStatus } from "./AccessLog.js"
import { makeCallerCheck, missingKey, type RateLimitSink } from "./CallerAuth.js"
import { readCredential } from "./Credentials.js"
import { type ApiError, type ClientDialect, errorReply } from "./ErrorEnvelope.js"
import { toApiError } from "./ErrorMapping.js"
import { featureHeadersOf } from "./FeatureHeaders.js"
import { endpointOf, type GenerationRoute, generationRouteOf, toGeneration, uploadGeneration } from "./Generation.js"
import { lingerUnread } from "./HeldRequest.js"
import { type RoutableUpload, readUpload, type UploadProblem } from "./MultipartUpload.js"
import { addRateLimitHeaders } from "./RateLimitHeaders.js"
import { capturingSink } from "./RelayCapture.js"
import { safeHeaderValue } from "./SafeHeaderValue.js"
import { makeServerSpans, noteFailure, noteGeneration } from "./ServerSpan.js"

export { safeHeaderValue }

import { type BodyProblem, parseJsonObject, readBody } from "./RequestBody.js"

/** Serves the request and returns true, or returns false when the request is not its to serve. */
export type NodeHandler = (request: IncomingMessage, response: ServerResponse) => boolean

/** What the edge learns of a request for its metrics, filled in as it goes. */
interface Observed {
  readonly route: GenerationRoute
  readonly path: string
  /** `performance.now()` when the edge took it. */
  readonly startedMs: number
  /** Once the body was read: its `gen_ai.operation.name` and model. */
  operation: string | undefined
  model: string | undefined
  served: Served | undefined
  /** A committed stream: when its first content was written. */
  firstTokenMs: number | undefined
  /** A stream or relayed body was started (`Metrics.streamStarted`). */
  streamed: boolean
}

/** A request's metrics, once its response closed. */
const observeClosed = (metrics: MetricsService, observed: Observed, response: ServerResponse) =>
  metrics.observeRequest({
    endpoint: endpointOf(observed.route, observed.path),
    dialect: observed.route.dialect,
    operation: observed.operation,
    model: observed.model,
    provider: observed.served?.provider,
    servedModel: observed.served?.model,
    status: sentStatus(response),
    durationMs: performance.now() - observed.startedMs,
    firstTokenMs: observed.firstTokenMs,
    streamed: observed.streamed,
  })

/** What the edge knows of a request; its body is read by the program, once the caller is known. */
interface EdgeInput extends Observed, RateLimitSink {
  readonly request: IncomingMessage
  readonly response: ServerResponse
  readonly credential: string
  readonly accept: string | undefined
  readonly sessionId: string | undefined
  readonly requestId: string
  /** The provider feature headers to forward (FeatureHeaders), or why one cannot be. */
  readonly featureHeaders: Either.Either<Readonly<Record<string, string>> | undefined, InvalidRequest>
  /** Set once the whole body was read: until then a reply must close the connection. */
  bodyRead: boolean
  /** The request log's record (REQUEST_LOG=on), filled along the pipeline and written when the response closes. */
  readonly record: RequestRecord | undefined
  /** The request's trace, when tracing is on. */
  readonly trace: RequestTrace | undefined
}

const servedHeaders = (answer: Pick<GatewayAnswer, "served">): Record<string, string> => {
  const { served } = answer
  const headers: Record<string, string> = {
    "x-apiproxy-provider": safeHeaderValue(served.provider),
    "x-apiproxy-model": safeHeaderValue(served.model),
    "x-apiproxy-attempts": String(served.attempts),
  }
  // What a conversion for this upstream left out (protocol/ConversionLoss): never silently.
  if (served.dropped !== undefined && served.dropped.length > 0)
    headers["x-apiproxy-dropped"] = safeHeaderValue(served.dropped.join(", "))
  return headers
}

/**
 * A token count: who counted it (`x-apiproxy-token-count: provider`, with the served headers) or
 * that it is an estimate; what either left out in `x-apiproxy-dropped`.
 */
const countHeaders = (answer: TokenCountAnswer): Record<string, string> => {
  if (answer.served !== undefined)
    return { "x-apiproxy-token-count": "provider", ...servedHeaders({ served: answer.served }) }
  const headers: Record<string, string> = { "x-apiproxy-token-count": "estimate" }
  if (answer.uncounted !== undefined) headers["x-apiproxy-dropped"] = safeHeaderValue(answer.uncounted.join(", "))
  return headers
}

/** A relayed answer (audio, a pass-through stream): the upstream's type as a safe header value. */
const writeRelay = (
  response: ServerResponse,
  answer: Extract<GatewayAnswer, { _tag: "Relay" }>,
  record: RequestRecord | undefined,
  rateLimit: RateLimitState | undefined,
) => {
  const { relay } = answer
  response.once("close", relay.cancel)
  const headers: Record<string, string | number> = {
    ...servedHeaders(answer),
    "content-type": safeHeaderValue(relay.contentType ?? "application/octet-stream"),
    ...(relay.contentLength !== undefined ? { "content-length": relay.contentLength } : {}),
    ...(relay.contentType?.startsWith("text/event-stream")
      ? { "cache-control": "no-cache", "x-accel-buffering": "no" }
      : {}),
  }
  if (rateLimit !== undefined) addRateLimitHeaders(headers, rateLimit)
  response.writeHead(200, headers)
  relay.relayTo(capturingSink(response, relay.contentType, record))
}

/** A JSON answer's headers: who served it and, when its model is priced, what it cost (`x-apiproxy-cost`, USD). */
const jsonHeaders = (answer: Extract<GatewayAnswer, { _tag: "Json" }>): Record<string, string> => {
  const headers = servedHeaders(answer)
  if (answer.cost !== null) headers["x-apiproxy-cost"] = usdText(answer.cost)
  return headers
}

/** `rateLimit`: a limited key's standing (`x-ratelimit-*`); a key without limits has none, and pays one comparison. */
const writeAnswer = (
  response: ServerResponse,
  answer: GatewayAnswer | TokenCountAnswer,
  record: RequestRecord | undefined,
  rateLimit: RateLimitState | undefined,
) => {
  if (answer._tag === "Relay") return writeRelay(response, answer, record, rateLimit)
  if (answer._tag !== "Stream") {
    // Added to the fresh object rather than spread into another: same headers, same order.
    const headers: Record<string, string | number> =
      answer._tag === "Count" ? countHeaders(answer) : jsonHeaders(answer)
    headers["content-type"] = "application/json"
    headers["content-length"] = Buffer.byteLength(answer.body)
    if (rateLimit !== undefined) addRateLimitHeaders(headers, rateLimit)
    response.writeHead(200, headers)
    response.end(answer.body)
    return
  }
  // Registered first, so a response destroyed by a failing write still cancels the stream. Also
  // fires after a finished stream, when cancelling is a no-op.
  response.once("close", answer.stream.cancel)
  const headers: Record<string, string | number> = servedHeaders(answer)
  headers["content-type"] = "text/event-stream"
  headers["cache-control"] = "no-cache"
  headers["x-accel-buffering"] = "no"
  if (rateLimit !== undefined) addRateLimitHeaders(headers, rateLimit)
  response.writeHead(200, headers)
  answer.stream.relayTo(response)
}

const writeError = (
  response: ServerResponse,
  route: GenerationRoute,
  error: ApiError,
  closeConnection: boolean,
  rateLimit: RateLimitState | undefined,
) => {
  // An upload refused before it was read: its client is still sending, and must see the answer.
  if (closeConnection && route.kind === "upload") lingerUnread(response.req)
  const reply = errorReply(route.errors, error)
  const headers: Record<string, string | number> = {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(reply.body),
    ...reply.headers,
    // A body that was not read to the end cannot be followed by another request.
    ...(closeConnection ? { connection: "close" } : {}),
  }
  if (rateLimit !== undefined) addRateLimitHeaders(headers, rateLimit)
  response.writeHead(reply.status, headers)
  response.end(reply.body)
}

const missingKeyError = (dialect: ClientDialect): ApiError =>
  toApiError(missingKey(dialect) as unknown as { readonly _tag: string } & Record<string, unknown>)

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
  const checkCaller = yield* makeCallerCheck
  const gateway = yield* Gateway
  const counter = yield* TokenCounter
  const requestLog = yield* RequestLogWriter
  const budgets = yield* Budgets
  const metrics = yield* Metrics
  const run = Runtime.runFork(yield* Effect.runtime<never>())
  const { requests } = yield* Tracing
  const startServerSpan = requests === undefined ? undefined : makeServerSpans(requests)

  // One generator function for every request: a generator closure made per request gets a fresh
  // hidden class whose old-space map keeps that request alive past young collections (bench/RESULTS.md).
  // The caller is authenticated (and rate-limited) before a byte of the body is read: a client
  // without a valid key cannot make the gateway buffer up to BODY_LIMIT_BYTES.
  /**
   * A multipart upload (MultipartUpload): read as far as its model, routed, its body sent to the
   * upstream as it comes (streamed) or from its temporary file (spooled). A problem of a streamed
   * body found after routing began (over the limit, malformed, the client gone) stops the walk and
   * its upstream call, and is the client's answer.
   */
  const serveUpload = Effect.fnUntraced(function* (
    input: EdgeInput,
    principal: Principal,
    featureHeaders: Readonly<Record<string, string>> | undefined,
  ) {
    const upload = yield* Effect.async<RoutableUpload, UploadProblem>((resume) => {
      const reader = readUpload(
        input.request,
        config.audioBodyLimitBytes,
        (result) => resume("upload" in result ? Effect.succeed(result.upload) : Effect.fail(result.problem)),
        () => (input.bodyRead = true),
      )
      // Whatever happens next, the request's end ends the upload (its file deleted).
      input.response.once("close", reader.dispose)
      return Effect.sync(reader.dispose)
    })
    const generation = uploadGeneration(input.path, upload)
    if (Either.isLeft(generation)) return yield* generation.left
    const { model } = generation.right
    input.model = model
    input.operation = operationNameOf(generation.right)
    const { record, trace } = input
    if (record !== undefined) {
      record.requestedModel = model
      record.stream = false
    }
    if (trace !== undefined) noteGeneration(trace, model, false)
    const handled = gateway.handle({
      ...generation.right,
      principal,
      requestId: input.requestId,
      featureHeaders,
      record,
      trace,
    })
    return yield* Effect.raceFirst(handled, upload.problem).pipe(
      Effect.mapError((error) => upload.currentProblem() ?? error),
    )
  })

  const serve = Effect.fnUntraced(function* (input: EdgeInput) {
    const { record } = input
    const principal = yield* checkCaller(input.credential, record, input)
    // A used-up budget refuses every route that can cost money; counting tokens costs none.
    if (principal.budgets !== undefined && input.route.count !== true) yield* budgets.check(principal)
    if (Either.isLeft(input.featureHeaders)) return yield* input.featureHeaders.left
    if (input.route.kind === "upload") return yield* serveUpload(input, principal, input.featureHeaders.right)
    const text = yield* Effect.async<string, BodyProblem>((resume) => {
      const stop = readBody(input.request, config.bodyLimitBytes, (read) => {
        if (Either.isRight(read)) input.bodyRead = true
        resume(read)
      })
      return Effect.sync(stop)
    })
    setRequestBody(record, text)
    const generation = toGeneration(input.route, input.path, parseJsonObject(text), input.accept)
    if (Either.isLeft(generation)) return yield* generation.left
    const { dialect, body, model } = generation.right
    if (record !== undefined) {
      record.requestedModel = model
      record.stream = generation.right.stream
    }
    const featureHeaders = input.featureHeaders.right
    if (input.trace !== undefined) noteGeneration(input.trace, model, generation.right.stream)
    input.model = model
    input.operation = input.route.count === true ? "count_tokens" : operationNameOf(generation.right)
    if (input.route.count === true) {
      return yield* counter.count({
        dialect: dialect as CountDialect,
        body,
        model,
        principal,
        requestId: input.requestId,
        featureHeaders,
      })
    }
    // A session binds a conversation: embeddings have none.
    const { operation, stream } = generation.right
    const sessionId = operation === undefined ? input.sessionId : undefined
    // Spelled out, not spread: the generations come in several shapes, and a spread of them is a
    // runtime copy on every request.
    return yield* gateway.handle({
      dialect,
      body,
      model,
      stream,
      operation,
      principal,
      sessionId,
      requestId: input.requestId,
      featureHeaders,
      record,
      trace: input.trace,
    })
  })

  /** Writes with `write`; a write that throws (it never should) destroys the response instead of escaping. */
  const guarded = (response: ServerResponse, requestId: string, write: () => void) => {
    try {
      write()
    } catch (error) {
      response.destroy()
      run(
        Effect.logError("could not write a response", Cause.die(error)).pipe(
          Effect.annotateLogs("request_id", requestId),
        ),
      )
    }
  }

  const handler: NodeHandler = (request, response) => {
    const url = request.url ?? "/"
    const query = url.indexOf("?")
    const path = query < 0 ? url : url.slice(0, query)
    const route = generationRouteOf(request.method, path)
    if (route === undefined) return false
    const startedMs = performance.now()
    metrics.requestStarted()

    // The server gave the request its id and writes its access line (AccessLog.ts).
    const requestId = request.headers["x-request-id"] as string
    const trace = startServerSpan?.(request, response, route, path, requestId)
    const credential = readCredential({ headers: request.headers, url }, route.errors)
    if (credential === undefined) {
      const observed: Observed = {
        route,
        path,
        startedMs,
        operation: undefined,
        model: undefined,
        served: undefined,
        firstTokenMs: undefined,
        streamed: false,
      }
      response.once("close", () => observeClosed(metrics, observed, response))
      guarded(response, requestId, () => writeError(response, route, missingKeyError(route.errors), true, undefined))
      return true
    }
    const session = request.headers["x-session-id"]
    const record = requestLog.enabled
      ? newRequestRecord(randomUUID(), requestId, route.dialect, endpointOf(route, path), Date.now())
      : undefined
    const input: EdgeInput = {
      request,
      response,
      route,
      path,
      startedMs,
      operation: undefined,
      model: undefined,
      served: undefined,
      firstTokenMs: undefined,
      streamed: false,
      credential,
      accept: request.headers["accept"],
      sessionId: typeof session === "string" ? session : undefined,
      requestId,
      featureHeaders: featureHeadersOf(request.headers, route.dialect),
      bodyRead: false,
      record,
      trace,
      rateLimit: undefined,
    }
    const fiber = run(serve(input))
    let settled = false
    let closed = false
    response.once("close", () => {
      closed = true
      if (!settled) fiber.unsafeInterruptAsFork(FiberId.none)
      observeClosed(metrics, input, response)
    })
    fiber.addObserver((exit) => {
      settled = true
      reply(response, input, exit)
      if (record !== undefined) logWhenClosed(response, record, closed)
    })
    return true
  }

  /** Writes the program's answer or error (the record learns which). */
  const reply = (
    response: ServerResponse,
    input: EdgeInput,
    exit: Exit.Exit<GatewayAnswer | TokenCountAnswer, unknown>,
  ) => {
    const { route, requestId, record } = input
    if (Exit.isSuccess(exit)) {
      const answer = exit.value
      input.served = answer.served
      if (answer.served !== undefined) setServed(record, answer.served.provider, answer.served.model)
      // A stream's or relay's completeness is reported by its finish (gateway/StreamHooks).
      if (record !== undefined && (answer._tag === "Json" || answer._tag === "Count")) {
        record.complete = true
        setResponseBody(record, answer.body)
      }
      if (response.destroyed) {
        if (answer._tag === "Stream") answer.stream.cancel()
        if (answer._tag === "Relay") answer.relay.cancel()
        return
      }
      if (answer._tag === "Stream" || answer._tag === "Relay") {
        input.streamed = true
        metrics.streamStarted()
      }
      guarded(response, requestId, () => writeAnswer(response, answer, record, input.rateLimit))
      // The frames produced up to the commit (the first content) were written just now.
      if (answer._tag === "Stream") input.firstTokenMs = performance.now() - input.startedMs
      return
    }
    const failure = Cause.failureOption(exit.cause)
    if (Option.isSome(failure)) {
      const error = failure.value as unknown as { readonly _tag: string } & Record<string, unknown>
      if (input.trace !== undefined) noteFailure(input.trace, error._tag)
      const apiError = toApiError(error)
      setError(record, error._tag, apiError.message)
      if (record?.logBodies === true) setResponseBody(record, errorReply(route.errors, apiError).body)
      if (response.destroyed) return
      return guarded(response, requestId, () => writeError(response, route, apiError, !input.bodyRead, input.rateLimit))
    }
    if (response.destroyed) return
    if (Cause.isInterruptedOnly(exit.cause)) return void response.destroy()
    setError(record, "Defect", "unexpected failure while handling the request")
    run(
      Effect.logError("unexpected failure while handling a request", exit.cause).pipe(
        Effect.annotateLogs("request_id", requestId),
      ),
    )
    guarded(response, requestId, () =>
      writeError(response, route, toApiError({ _tag: "Defect" }), !input.bodyRead, input.rateLimit),
    )
  }

  /**
   * Hands the record to the writer when the response has closed: listened for after the answer's
   * own close listeners (a stream's cancel reports how it ended first), or at once when the
   * client already left. Requests whose caller was never authenticated leave no row.
   */
  const logWhenClosed = (response: ServerResponse, record: RequestRecord, alreadyClosed: boolean) => {
    if (!record.authenticated) return
    const write = () => {
      closeRecord(record, sentStatus(response), Date.now())
      requestLog.record(record)
    }
    if (alreadyClosed) write()
    else response.once("close", write)
  }
  return handler
})
