import type { IncomingMessage, ServerResponse } from "node:http"
import * as Otel from "@opentelemetry/api"
import { parseTraceContext } from "../telemetry/TraceContext.js"
import { endSpan, type RequestTrace, type RequestTracer } from "../telemetry/Tracing.js"
import type { GenerationRoute } from "./Generation.js"
import { safeHeaderValue } from "./SafeHeaderValue.js"

const GEMINI_PREFIX = "/v1beta/models/"

/** The GenAI operation of each Gemini method (`gen_ai.operation.name`). */
const GEMINI_OPERATIONS: Readonly<Record<string, string>> = {
  generateContent: "generate_content",
  streamGenerateContent: "generate_content",
  embedContent: "embeddings",
  batchEmbedContents: "embeddings",
  countTokens: "count_tokens",
}

/** The GenAI operation of each pass-through path; the conventions name only `text_completion`, the rest are ours. */
const PASS_THROUGH_OPERATIONS: Readonly<Record<string, string>> = {
  "/v1/completions": "text_completion",
  "/v1/moderations": "moderation",
  "/v1/images/generations": "image_generation",
  "/v1/audio/speech": "speech",
  "/v1/audio/transcriptions": "transcription",
  "/v1/audio/translations": "translation",
}

/** The route as a template (`http.route`) and the GenAI operation it asks for; the model in a Gemini path stays out. */
const routeOf = (route: GenerationRoute, path: string): { readonly template: string; readonly operation: string } => {
  if (route.kind === "gemini" || (route.dialect === "gemini" && path.startsWith(GEMINI_PREFIX))) {
    const method = path.slice(path.lastIndexOf(":") + 1)
    const operation = GEMINI_OPERATIONS[method]
    return operation === undefined
      ? { template: `${GEMINI_PREFIX}{model}`, operation: "generate_content" }
      : { template: `${GEMINI_PREFIX}{model}:${method}`, operation }
  }
  if (route.count === true) return { template: path, operation: "count_tokens" }
  if (route.kind === "embeddings") return { template: path, operation: "embeddings" }
  if (route.kind === "passthrough" || route.kind === "upload")
    return { template: path, operation: PASS_THROUGH_OPERATIONS[path] ?? "pass_through" }
  return { template: path, operation: "chat" }
}

/** Client errors are the client's: the span says what failed, but only a server error marks it failed. */
const SERVER_ERROR = 500

/**
 * The server span of each generation request (telemetry/Tracing): named `POST {route}` after
 * the HTTP conventions, continuing the client's W3C `traceparent` when it is well-formed, ended
 * when the response closes — for a stream, when the stream has ended (complete, cut, or the
 * client gone). What the span holds is chosen here: route, path (never the query: a `?key=` is a
 * secret), request id, status, who served the answer, and why it failed.
 */
export const makeServerSpans =
  (requests: RequestTracer) =>
  (
    request: IncomingMessage,
    response: ServerResponse,
    route: GenerationRoute,
    path: string,
    requestId: string,
  ): RequestTrace => {
    const { template, operation } = routeOf(route, path)
    const trace = requests.start(
      `POST ${template}`,
      operation,
      parseTraceContext(request.headers.traceparent, request.headers.tracestate),
      {
        "http.request.method": "POST",
        "http.route": template,
        "url.path": safeHeaderValue(path),
        "apiproxy.request_id": requestId,
        "gen_ai.operation.name": operation,
      },
    )
    response.once("close", () => endServerSpan(trace.span, response))
    return trace
  }

const endServerSpan = (span: Otel.Span, response: ServerResponse) => {
  if (!span.isRecording()) return endSpan(span)
  if (response.headersSent) {
    const status = response.statusCode
    span.setAttribute("http.response.status_code", status)
    if (status >= 400) {
      // A failure the edge named (noteFailure) is kept; otherwise the status is its type.
      span.setAttribute("error.type", failureTypes.get(span) ?? String(status))
      if (status >= SERVER_ERROR) span.setStatus({ code: Otel.SpanStatusCode.ERROR })
    }
    const provider = response.getHeader("x-apiproxy-provider")
    if (typeof provider === "string") {
      span.setAttribute("apiproxy.provider", provider)
      span.setAttribute("apiproxy.model", String(response.getHeader("x-apiproxy-model")))
      span.setAttribute("apiproxy.attempts", Number(response.getHeader("x-apiproxy-attempts")))
    }
  }
  if (!response.writableFinished) {
    span.setAttribute("apiproxy.client_disconnected", true)
    if (String(response.getHeader("content-type")).startsWith("text/event-stream"))
      span.setAttribute("apiproxy.stream.outcome", "client_disconnected")
  }
  endSpan(span)
}

/** Why a request failed, by its span, until the span ends. */
const failureTypes = new WeakMap<Otel.Span, string>()

/** The request the client made, once its body was read: the model it asked for and whether it streams. */
export const noteGeneration = (trace: RequestTrace, model: string, stream: boolean): void => {
  trace.span.setAttribute("gen_ai.request.model", model)
  trace.span.setAttribute("gen_ai.request.stream", stream)
}

/** The request failed with the error tagged `tag` (`error.type`, e.g. `UpstreamsCoolingDown`). */
export const noteFailure = (trace: RequestTrace, tag: string): void => {
  failureTypes.set(trace.span, tag)
}
