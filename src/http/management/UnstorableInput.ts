import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect, Option } from "effect"

/**
 * PostgreSQL (and PGlite) cannot store U+0000 in text: a NUL in a path segment, a query value
 * or a JSON string would reach a statement and fail there as a database error (a 503 that blames
 * storage). No management field can hold one, so such a request is refused first with a 400.
 */

/** A `\u0000` escape in JSON text that is not itself an escaped backslash (`\\u0000`). */
const JSON_NUL_ESCAPE = /(?:^|[^\\])(?:\\\\)*\\u0000/i

/** `%00` is the only way a URL decodes to a NUL (`%2500` decodes to the text "%00"). */
const urlHasNul = (url: string): boolean => url.includes("\u0000") || url.includes("%00")

/** Where the request carries a NUL character, if it does. */
export const nulCharacterIn = (
  url: string,
  body: { readonly text: string; readonly urlEncoded: boolean } | undefined,
): Option.Option<"URL" | "body"> => {
  if (urlHasNul(url)) return Option.some("URL")
  if (body === undefined) return Option.none()
  if (body.urlEncoded ? urlHasNul(body.text) : body.text.includes("\u0000") || JSON_NUL_ESCAPE.test(body.text))
    return Option.some("body")
  return Option.none()
}

const contentType = (request: HttpServerRequest.HttpServerRequest): string =>
  (request.headers["content-type"] ?? "application/json").toLowerCase().trim()

/**
 * The bodies HttpApi reads as text (JSON, URL-encoded forms, `text/*`; no content type means
 * JSON): the platform caches the text, so the handler reads the same. Others (multipart, bytes)
 * are read from the stream by the handler, so they are left to it: no management schema takes one.
 */
const readsAsText = (request: HttpServerRequest.HttpServerRequest): boolean => {
  if (request.headers["transfer-encoding"] === undefined && Number(request.headers["content-length"] ?? "0") <= 0)
    return false
  const type = contentType(request)
  return type.includes("application/json") || type.includes("x-www-form-urlencoded") || type.startsWith("text/")
}

/** Runs `app` unless the request carries a NUL character; that gets a 400 in the management API's shape. */
export const refuseUnstorableInput = <E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>,
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    // The server hands this app complete, bounded bodies.
    const text = readsAsText(request) ? yield* Effect.orElseSucceed(request.text, () => undefined) : undefined
    const urlEncoded = contentType(request).includes("x-www-form-urlencoded")
    const body = text === undefined ? undefined : { text, urlEncoded }
    const where = nulCharacterIn(request.url, body)
    if (Option.isNone(where)) return yield* app
    return HttpServerResponse.unsafeJson(
      {
        _tag: "BadRequest",
        message: `The request ${where.value} contains a NUL character (U+0000), which no field accepts`,
      },
      { status: 400 },
    )
  })
