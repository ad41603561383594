import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"

const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** The client's `x-request-id` when it is sane, else a fresh one. */
export const requestIdOf = (given: string | ReadonlyArray<string> | undefined): string =>
  typeof given === "string" && VALID_REQUEST_ID.test(given) ? given : randomUUID()

/**
 * Gives every request an id (the client's `x-request-id` when it is sane), returns it in the
 * response, annotates every log line of the request with it, and writes one access line.
 * The line names method, path (without query: `?key=` would be a secret), status and duration.
 */
export const accessLog = <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const requestId = requestIdOf(request.headers["x-request-id"])
    const started = performance.now()
    const response = yield* app.pipe(Effect.annotateLogs("request_id", requestId))
    const path = request.url.split("?", 1)[0]!
    yield* Effect.logInfo("request").pipe(
      Effect.annotateLogs({
        request_id: requestId,
        method: request.method,
        path,
        status: response.status,
        ms: (performance.now() - started).toFixed(1),
      }),
    )
    return HttpServerResponse.setHeader(response, "x-request-id", requestId)
  })
