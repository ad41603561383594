import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import { type LogLines, LogLinesTag } from "./Logging.js"

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
  line: { readonly requestId: string; readonly method: string; readonly path: string; readonly status: number; readonly startedMs: number },
): void =>
  lines.info("request", {
    request_id: line.requestId,
    method: line.method,
    path: line.path,
    status: line.status,
    ms: (performance.now() - line.startedMs).toFixed(1),
  })

/**
 * Gives every request an id (the client's `x-request-id` when it is sane), returns it in the
 * response, annotates every log line of the request with it, and writes its access line.
 */
export const accessLog = <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R | LogLinesTag> =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const lines = yield* LogLinesTag
    const requestId = requestIdOf(request.headers["x-request-id"])
    const startedMs = performance.now()
    const response = yield* app.pipe(Effect.annotateLogs("request_id", requestId))
    writeAccessLine(lines, { requestId, method: request.method, path: request.url.split("?", 1)[0]!, status: response.status, startedMs })
    return HttpServerResponse.setHeader(response, "x-request-id", requestId)
  })
