import { HttpServerRequest } from "@effect/platform"
import { Effect, Option, Schema } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { InvalidRequest } from "../gateway/GatewayError.js"

export class RequestTooLarge extends Schema.TaggedError<RequestTooLarge>()("RequestTooLarge", {
  message: Schema.String,
}) {}

/**
 * The request body as one JSON object, read once and at most BODY_LIMIT_BYTES long. A declared
 * length over the limit is refused before reading a byte.
 */
export const readJsonObject = Effect.gen(function* () {
  const config = yield* AppConfig
  const request = yield* HttpServerRequest.HttpServerRequest
  const limit = config.bodyLimitBytes
  // Built only when needed: constructing an error captures a stack trace.
  const tooLarge = () => new RequestTooLarge({ message: `Request body exceeds the limit of ${limit} bytes` })
  const declared = Number(request.headers["content-length"] ?? "0")
  if (declared > limit) return yield* tooLarge()
  const text = yield* request.text.pipe(
    HttpServerRequest.withMaxBodySize(Option.some(limit)),
    Effect.mapError((error): RequestTooLarge | InvalidRequest =>
      /too large|maxBodySize|BodyTooLarge/i.test(String(error.cause ?? "") + error.message)
        ? tooLarge()
        : new InvalidRequest({ message: "The request body could not be read" }),
    ),
  )
  if (text.length > limit) return yield* tooLarge()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return yield* new InvalidRequest({ message: "The request body is not valid JSON", code: "invalid_json" })
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    return yield* new InvalidRequest({ message: "The request body must be a JSON object", code: "invalid_json" })
  }
  return json as Record<string, unknown>
})
