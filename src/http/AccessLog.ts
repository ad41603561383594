import { randomUUID } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import { Effect } from "effect"
import type { LogLines } from "./Logging.js"
import { safeHeaderValue } from "./SafeHeaderValue.js"

const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** The client's `x-request-id` when it is sane, else a fresh one. */
export const requestIdOf = (given: string | ReadonlyArray<string> | undefined): string =>
  typeof given === "string" && VALID_REQUEST_ID.test(given) ? given : randomUUID()

/**
 * The access line of one request: method, path (without query: `?key=` would be a secret),
 * status and duration since `startedMs` (a `performance.now()` reading).
 */
export const writeAccessLine = (
  lines: LogLines,
  line: {
    readonly requestId: string
    readonly method: string
    readonly path: string
    readonly status: number
    readonly startedMs: number
  },
): void =>
  lines.info("request", {
    request_id: line.requestId,
    method: line.method,
    path: line.path,
    status: line.status,
    ms: (performance.now() - line.startedMs).toFixed(1),
  })

/** nginx's convention for "the client closed the connection before it was answered". */
export const CLIENT_CLOSED = 499

/** The status a closed response was answered with, or 499 when the client left before one was sent. */
export const sentStatus = (response: ServerResponse): number =>
  response.headersSent ? response.statusCode : CLIENT_CLOSED

/**
 * The one place every request — generation edge, data-plane routes, management API, health — is
 * given its id and its access line (docs/ARCHITECTURE.md, "The HTTP edge"): the client's sane
 * `x-request-id` or a fresh one, set on the request (so the handlers read it) and the response;
 * on close, method, path (query left out; bounded, printable), status (499 when the client left
 * first) and duration.
 */
export const beginRequest = (request: IncomingMessage, response: ServerResponse, lines: LogLines): void => {
  const startedMs = performance.now()
  const requestId = requestIdOf(request.headers["x-request-id"])
  request.headers["x-request-id"] = requestId
  response.setHeader("x-request-id", requestId)
  const method = request.method ?? "GET"
  response.once("close", () => {
    const url = request.url ?? "/"
    const query = url.indexOf("?")
    writeAccessLine(lines, {
      requestId,
      method: safeHeaderValue(method),
      path: safeHeaderValue(query < 0 ? url : url.slice(0, query)),
      status: sentStatus(response),
      startedMs,
    })
  })
}

/** Annotates every log line of a routed request with the id the server gave it. */
export const annotateRequestId = <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const requestId = request.headers["x-request-id"]
    return requestId === undefined ? app : Effect.annotateLogs(app, "request_id", requestId)
  })
